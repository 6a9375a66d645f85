/**
 * `npm run bench -- resourceset`: a ResourceSet-heavy synthetic fleet, 100 tenants from one
 * Flux Operator ResourceSet (a Namespace, ServiceAccount, RoleBinding, GitRepository,
 * Kustomization and ImageUpdateAutomation per tenant), audited cold by the CLI; beside it the
 * same objects written as plain manifests, and `flux-operator build resourceset` alone, so
 * the cost of expansion is visible on its own.
 *
 * Knobs: FLUXGUARD_BENCH_RUNS (default 3), FLUXGUARD_BENCH_TENANTS (default 100).
 * Without the Flux Operator CLI (`npm run build:flux-operator`) the module says so and stops.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { findFluxOperator } from "../src/loader/flux-operator.js";
import { median, mb, ms, rate, table, timed } from "./_util.js";

const here = dirname(fileURLToPath(import.meta.url));
const CLI = join(resolve(here, "..", ".."), "dist", "src", "bin", "fluxguard.js");
const RUNS = Number(process.env["FLUXGUARD_BENCH_RUNS"] ?? 3);
const TENANTS = Number(process.env["FLUXGUARD_BENCH_TENANTS"] ?? 100);

/** The ResourceSet: one input set per tenant. */
export function tenantsResourceSet(n: number): string {
  const inputs = Array.from({ length: n }, (_, i) => `    - tenant: tenant-${String(i).padStart(3, "0")}\n      team: team-${i % 10}\n`).join("");
  return `apiVersion: fluxcd.controlplane.io/v1
kind: ResourceSet
metadata:
  name: tenants
  namespace: flux-system
spec:
  inputs:
${inputs}  resources:
    - apiVersion: v1
      kind: Namespace
      metadata:
        name: << inputs.tenant >>
        labels:
          example.com/team: << inputs.team >>
    - apiVersion: v1
      kind: ServiceAccount
      metadata:
        name: flux
        namespace: << inputs.tenant >>
    - apiVersion: rbac.authorization.k8s.io/v1
      kind: RoleBinding
      metadata:
        name: flux
        namespace: << inputs.tenant >>
      roleRef:
        apiGroup: rbac.authorization.k8s.io
        kind: ClusterRole
        name: edit
      subjects:
        - kind: ServiceAccount
          name: flux
          namespace: << inputs.tenant >>
    - apiVersion: source.toolkit.fluxcd.io/v1
      kind: GitRepository
      metadata:
        name: apps
        namespace: << inputs.tenant >>
      spec:
        interval: 5m
        url: ssh://git@github.com/example/<< inputs.tenant >>.git
        ref:
          branch: main
        secretRef:
          name: deploy-key
    - apiVersion: kustomize.toolkit.fluxcd.io/v1
      kind: Kustomization
      metadata:
        name: apps
        namespace: << inputs.tenant >>
      spec:
        serviceAccountName: flux
        targetNamespace: << inputs.tenant >>
        interval: 10m
        path: ./deploy
        prune: true
        sourceRef:
          kind: GitRepository
          name: apps
    - apiVersion: image.toolkit.fluxcd.io/v1
      kind: ImageUpdateAutomation
      metadata:
        name: apps
        namespace: << inputs.tenant >>
      spec:
        interval: 30m
        sourceRef:
          kind: GitRepository
          name: apps
        git:
          checkout:
            ref:
              branch: main
          commit:
            author:
              name: bot
              email: bot@example.com
          push:
            branch: image-updates
        update:
          path: ./deploy
          strategy: Setters
`;
}

export async function run(): Promise<void> {
  const tool = findFluxOperator(process.env);
  if (!tool) {
    console.log("the Flux Operator CLI is not built (npm run build:flux-operator needs Go): skipped");
    return;
  }
  const root = mkdtempSync(join(tmpdir(), "fluxguard-bench-rset-"));
  try {
    const rsDir = join(root, "resourceset");
    const plainDir = join(root, "plain");
    mkdirSync(rsDir);
    mkdirSync(plainDir);
    const rsFile = join(rsDir, "tenants.yaml");
    writeFileSync(rsFile, tenantsResourceSet(TENANTS));
    // The plain twin: exactly what the builder expands the ResourceSet to.
    const plain = spawnSync(tool.command, ["build", "resourceset", "-f", rsFile], { encoding: "utf8", maxBuffer: 1 << 28 });
    if (plain.status !== 0) throw new Error(`flux-operator build resourceset failed: ${plain.stderr}`);
    writeFileSync(join(plainDir, "all.yaml"), plain.stdout);
    const env = { ...process.env, FLUXGUARD_CACHE: "off" };
    const rows: string[][] = [["variant", "wall (median)", "objects", "objects/s", "CPU user+sys", "peak RSS", "findings"]];
    const builds: number[] = [];
    let lastBuild = null;
    for (let i = 0; i < RUNS; i++) {
      lastBuild = await timed(tool.command, ["build", "resourceset", "-f", rsFile]);
      builds.push(lastBuild.wallMs);
    }
    const cpu = (t: typeof lastBuild): string => (t && t.userS !== null ? `${((t.userS + (t.sysS ?? 0)) * 1000).toFixed(0)} ms` : "-");
    rows.push([`flux-operator build resourceset (${TENANTS} input sets)`, ms(median(builds)), String(plain.stdout.split("\n---\n").length), "-", cpu(lastBuild), mb(lastBuild?.maxRssKB ?? null), "-"]);
    for (const [label, dir] of [[`ResourceSet, ${TENANTS} tenants`, rsDir], [`same objects as plain manifests`, plainDir]] as const) {
      const walls: number[] = [];
      let last = null;
      for (let i = 0; i < RUNS; i++) {
        last = await timed(process.execPath, [CLI, "audit", dir, "--format", "json", "--fail-on", "critical"], { env });
        walls.push(last.wallMs);
      }
      const report = JSON.parse(last!.stdout) as { summary: { objects: number; findings: number } };
      const wall = median(walls);
      rows.push([label, ms(wall), String(report.summary.objects), rate(report.summary.objects, wall), cpu(last), mb(last!.maxRssKB), String(report.summary.findings)]);
    }
    console.log(`flux-operator ${tool.version}; ${RUNS} cold runs each (render cache off)`);
    console.log(table(rows));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
