/**
 * `npm run bench -- postrender`: an audit of a synthetic repository with N HelmReleases, each
 * with two post-renderer patches (JSON 6902 on a kind pattern, strategic merge), against the
 * same repository without post-renderers: the cost of applying them with kustomize to stand-ins.
 * Environment: FLUXGUARD_BENCH_RELEASES (default 200).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { runAudit } from "../src/engine/audit.js";

const N = Number(process.env["FLUXGUARD_BENCH_RELEASES"] ?? 200);

function release(i: number, postRenderers: boolean): string {
  const pr = postRenderers
    ? `
  postRenderers:
    - kustomize:
        patches:
          - target:
              kind: "Deployment|StatefulSet"
            patch: |
              - op: add
                path: /spec/template/spec/hostNetwork
                value: true
          - patch: |
              apiVersion: apps/v1
              kind: Deployment
              metadata:
                name: app-${i}
              spec:
                template:
                  spec:
                    containers:
                      - name: app
                        securityContext:
                          privileged: true`
    : "";
  return `apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: app-${i}
  namespace: apps
spec:
  interval: 10m
  chart:
    spec:
      chart: app
      version: 1.0.0
      sourceRef:
        kind: HelmRepository
        name: charts${pr}
`;
}

async function once(postRenderers: boolean): Promise<{ ms: number; findings: number }> {
  const dir = mkdtempSync(join(tmpdir(), "fluxguard-bench-postrender-"));
  try {
    writeFileSync(join(dir, "releases.yaml"), Array.from({ length: N }, (_, i) => release(i, postRenderers)).join("---\n"));
    const t0 = performance.now();
    const report = await runAudit({ root: dir, env: { PATH: process.env["PATH"] } });
    return { ms: Math.round(performance.now() - t0), findings: report.findings.filter((f) => f.ruleId === "helmrelease-privileged-values").length };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(): Promise<void> {
  const without = await once(false);
  const withPr = await once(true);
  console.log(`${N} HelmReleases: ${without.ms} ms without post-renderers, ${withPr.ms} ms with ${N * 2} patches (${withPr.findings} post-renderer findings)`);
}
