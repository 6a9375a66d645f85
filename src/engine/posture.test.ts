/**
 * The posture's four verdicts: `defended` only with positive evidence for every relevant
 * object and nothing relevant unseen; `not-assessed` names what was not seen.
 */
import assert from "node:assert/strict";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { markNotAssessed, notAssessedFor, type CoverageHolder } from "../core/coverage.js";
import { REPO_ROOT } from "../testing/paths.js";
import { runAudit } from "./audit.js";
import type { AuditReport } from "./report.js";

function copyHardened(): string {
  const dir = mkdtempSync(join(tmpdir(), "fg-posture-"));
  cpSync(join(REPO_ROOT, "examples", "hardened-fleet"), dir, { recursive: true });
  return dir;
}

function row(r: AuditReport, id: string): AuditReport["posture"][number] {
  const p = r.posture.find((x) => x.id === id);
  assert.ok(p, `posture row ${id}`);
  return p;
}

test("posture: the hardened example is defended with positive evidence, not because nothing fired", async () => {
  const r = await runAudit({ root: join(REPO_ROOT, "examples", "hardened-fleet"), kustomize: null });
  const commit = row(r, "malicious-commit");
  assert.equal(commit.verdict, "defended");
  assert.match(commit.because, /^2 sources verified/);
  assert.equal(row(r, "helm-values-injected").verdict, "not-applicable");
  assert.deepEqual(commit.notAssessed, []);
});

test("posture: a suppressed finding leaves the row not assessed (no positive evidence), never defended", async () => {
  const dir = copyHardened();
  const f = join(dir, "tenants/base/team-a/sync.yaml");
  const text = readFileSync(f, "utf8")
    .replace("  verify:\n    mode: HEAD\n    secretRef:\n      name: team-a-signing-keys\n", "")
    .replace("  name: team-a\nspec:\n  interval: 5m", "  name: team-a\n  annotations:\n    fluxguard.io/ignore: \"gitrepository-unverified: accepted for the test\"\nspec:\n  interval: 5m");
  writeFileSync(f, text);
  const r = await runAudit({ root: dir, kustomize: null });
  assert.ok(r.findings.some((x) => x.ruleId === "gitrepository-unverified" && x.suppressed), "the finding is there, suppressed");
  const commit = row(r, "malicious-commit");
  assert.equal(commit.verdict, "not-assessed");
  assert.match(commit.because, /GitRepository team-a\/team-a has no spec\.verify/);
});

test("posture: a Kustomization from an unmapped repository makes every unexposed row not assessed, and names it", async () => {
  const dir = copyHardened();
  mkdirSync(join(dir, "clusters/production/extra"), { recursive: true });
  writeFileSync(
    join(dir, "clusters/production/remote-app.yaml"),
    `apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: vendor
  namespace: flux-system
spec:
  interval: 5m
  url: https://git.example.com/vendor/addons
  ref:
    branch: main
  verify:
    mode: HEAD
    secretRef:
      name: vendor-keys
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: vendor
  namespace: flux-system
spec:
  interval: 10m
  path: ./deploy
  prune: true
  serviceAccountName: vendor
  sourceRef:
    kind: GitRepository
    name: vendor
`,
  );
  writeFileSync(join(dir, "clusters/production/extra/.keep"), "");
  const r = await runAudit({ root: dir, kustomize: null });
  for (const p of r.posture) {
    if (p.verdict === "exposed") continue;
    assert.equal(p.verdict, "not-assessed", `${p.id}: ${p.verdict} (${p.because})`);
    assert.ok(p.notAssessed.some((g) => g.reason === "unmapped-source" && g.what.startsWith("Kustomization/flux-system/vendor") && g.file === "clusters/production/remote-app.yaml"), p.id);
  }
  assert.match(row(r, "helm-values-injected").because, /not seen: Kustomization\/flux-system\/vendor/);
});

test("posture: Helm chart templates in the repository are not rendered, so Helm values injection is not assessed", async () => {
  const dir = copyHardened();
  mkdirSync(join(dir, "charts/web/templates"), { recursive: true });
  writeFileSync(join(dir, "charts/web/Chart.yaml"), "apiVersion: v2\nname: web\nversion: 1.0.0\n");
  writeFileSync(join(dir, "charts/web/templates/d.yaml"), "kind: {{ .Values.kind }}\n");
  const r = await runAudit({ root: dir, kustomize: null });
  const helm = row(r, "helm-values-injected");
  assert.equal(helm.verdict, "not-assessed");
  assert.deepEqual(helm.notAssessed, [{ reason: "not-expanded", what: "Helm chart charts/web (its templates are rendered by helm-controller, not by fluxguard)", file: "charts/web" }]);
  assert.equal(row(r, "malicious-commit").verdict, "defended", "other rows keep their evidence");
});

test("coverage: markNotAssessed keeps one entry per thing with the union of areas; notAssessedFor filters by row", () => {
  const m: CoverageHolder = { notAssessed: [] };
  markNotAssessed(m, { areas: ["malicious-commit"], reason: "remote-cluster", what: "cluster spoke" });
  markNotAssessed(m, { areas: ["helm-values-injected"], reason: "remote-cluster", what: "cluster spoke" });
  markNotAssessed(m, { areas: "all", reason: "skipped-file", what: "big.yaml" });
  assert.equal(m.notAssessed.length, 2);
  assert.deepEqual(m.notAssessed[0]!.areas, ["malicious-commit", "helm-values-injected"]);
  assert.deepEqual(notAssessedFor(m, "helm-values-injected").map((g) => g.what), ["cluster spoke", "big.yaml"]);
  assert.deepEqual(notAssessedFor(m, "image-automation-overwrites-tag").map((g) => g.what), ["big.yaml"]);
});
