/**
 * Root causes: one fact stated once, every object kept. Runs the real audit over the bundled
 * example fleet and over small repositories written here.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, describe, it } from "node:test";
import { REPO_ROOT } from "../testing/paths.js";
import { runAudit } from "./audit.js";

const dir = mkdtempSync(join(tmpdir(), "fg-causes-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function repo(name: string, files: Record<string, string>): string {
  const root = join(dir, name);
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, p)), { recursive: true });
    writeFileSync(join(root, p), text);
  }
  return root;
}

/** N tenant Kustomizations and N HelmReleases, none naming a service account, no Flux install in the repository. */
function manyReconcilers(n: number): Record<string, string> {
  const docs: string[] = [];
  for (let i = 0; i < n; i++) {
    docs.push(
      `apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: app${i}, namespace: team${i}}\nspec: {interval: 10m, path: ./apps/${i}, prune: true, sourceRef: {kind: GitRepository, name: apps}}`,
      `apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: rel${i}, namespace: team${i}}\nspec: {interval: 10m, chartRef: {kind: OCIRepository, name: chart}}`,
    );
  }
  return { "clusters/prod/apps.yaml": `${docs.join("\n---\n")}\n` };
}

describe("root causes", () => {
  it("no lockdown: every reconciler without a service account is one cause, with every object", async () => {
    const report = await runAudit({ root: repo("many", manyReconcilers(12)), kustomize: null });
    const lockdown = report.rootCauses.filter((c) => c.id.startsWith("lockdown:"));
    assert.equal(lockdown.length, 1, JSON.stringify(report.rootCauses.map((c) => c.id)));
    const c = lockdown[0]!;
    assert.deepEqual(
      c.rules.map((r) => [r.ruleId, r.findings]),
      [
        ["helmrelease-missing-service-account", 12],
        ["kustomization-missing-service-account", 12],
      ],
    );
    assert.equal(c.objects.length, 24);
    assert.match(c.fix, /lockdown/);
    // Every finding of the cause points back to it, and nothing is dropped.
    const members = report.findings.filter((f) => f.rootCause === c.id);
    assert.equal(members.length, 24);
    assert.deepEqual(new Set(members.map((f) => f.fingerprint)), new Set(c.findings));
    // The assumption behind it is stated once, in the summary, not on each finding.
    assert.ok(report.summary.assumptions.length >= 1, "the assumption is stated");
    assert.ok(members.every((f) => !/assumed/.test(f.message)), "no aside repeated per finding");
  });

  it("every unsuppressed finding belongs to exactly one cause; suppressed ones to none", async () => {
    const report = await runAudit({ root: join(REPO_ROOT, "examples", "fleet") });
    const ids = new Set(report.rootCauses.map((c) => c.id));
    const counted = new Map<string, number>();
    for (const c of report.rootCauses) for (const fp of c.findings) counted.set(fp, (counted.get(fp) ?? 0) + 1);
    for (const f of report.findings) {
      if (f.suppressed) assert.equal(f.rootCause, null);
      else {
        assert.ok(f.rootCause && ids.has(f.rootCause), `${f.ruleId}: ${String(f.rootCause)}`);
        assert.equal(counted.get(f.fingerprint) !== undefined, true);
      }
    }
    const total = report.rootCauses.reduce((n, c) => n + c.findings.length, 0);
    assert.equal(total, report.findings.filter((f) => !f.suppressed).length);
  });

  it("ranks by severity, then by the number of objects exposed", async () => {
    const report = await runAudit({ root: join(REPO_ROOT, "examples", "fleet") });
    const rank = { critical: 5, high: 4, medium: 3, low: 2, info: 1 } as const;
    for (let i = 1; i < report.rootCauses.length; i++) {
      const a = report.rootCauses[i - 1]!;
      const b = report.rootCauses[i]!;
      assert.ok(rank[a.severity] > rank[b.severity] || (rank[a.severity] === rank[b.severity] && a.objects.length + a.files.length >= b.objects.length + b.files.length), `${a.id} before ${b.id}`);
    }
    // The staging cluster's missing lockdown is one cause, with the controller's own finding in it.
    const staging = report.rootCauses.find((c) => c.id === "lockdown:clusters/staging");
    assert.ok(staging, report.rootCauses.map((c) => c.id).join(", "));
    assert.ok(staging.rules.some((r) => r.ruleId === "multitenancy-lockdown-missing"));
    assert.ok(staging.rules.some((r) => r.ruleId === "kustomization-missing-service-account"));
  });

  it("one removed apiVersion is one cause, whatever the number of objects using it", async () => {
    const docs = ["a", "b", "c", "d"].map((n) => `apiVersion: source.toolkit.fluxcd.io/v1beta2\nkind: GitRepository\nmetadata: {name: ${n}, namespace: flux-system}\nspec: {interval: 1m, url: "https://example.com/${n}.git", ref: {branch: main}}`);
    const report = await runAudit({ root: repo("removed", { "sources.yaml": `${docs.join("\n---\n")}\n` }), kustomize: null });
    const api = report.rootCauses.filter((c) => c.id.startsWith("api:"));
    assert.deepEqual(
      api.map((c) => [c.id, c.objects.length]),
      [["api:source.toolkit.fluxcd.io/v1beta2", 4]],
    );
    assert.match(api[0]!.fix, /source\.toolkit\.fluxcd\.io\/v1/);
  });
});
