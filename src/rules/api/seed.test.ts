/**
 * The seed document's own configuration (test/fixtures/seed, transcribed with its indentation
 * restored) must earn the findings its mistakes deserve.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { auditDir } from "../../testing/rule-tester.js";
import { REPO_ROOT } from "../../testing/paths.js";

const SEED = join(REPO_ROOT, "test", "fixtures", "seed");

const MISTAKES: Array<{ mistake: string; ruleId: string; file: string; message: string | RegExp }> = [
  { mistake: "HelmRelease helm.toolkit.fluxcd.io/v2beta2 was removed in Flux v2.8", ruleId: "flux-api-removed", file: "apps/payments/helmrelease.yaml", message: "uses helm.toolkit.fluxcd.io/v2beta2, which Flux v2.9 no longer serves (removed in Flux v2.8)" },
  { mistake: "spec.rollback.enable does not exist", ruleId: "flux-api-removed", file: "apps/payments/helmrelease.yaml", message: ".spec.rollback.enable: not in v2" },
  { mistake: "ImagePolicy image.toolkit.fluxcd.io/v1beta2 was removed in Flux v2.9", ruleId: "flux-api-removed", file: "flux-system/image-automation.yaml", message: "ImagePolicy flux-system/payments-api-policy uses image.toolkit.fluxcd.io/v1beta2" },
  { mistake: "ImageRepository image.toolkit.fluxcd.io/v1beta2 was removed in Flux v2.9", ruleId: "flux-api-removed", file: "flux-system/image-automation.yaml", message: "ImageRepository flux-system/payments-api-repo uses image.toolkit.fluxcd.io/v1beta2" },
  { mistake: "chart together with chartRef (the CRD's CEL rule)", ruleId: "flux-schema-violation", file: "apps/payments/helmrelease.yaml", message: ".spec: either chart or chartRef must be set" },
  { mistake: "Kustomization spec.allowed does not exist, through an untargeted JSON 6902 patch", ruleId: "flux-schema-violation", file: "flux-system/payments-app.yaml", message: /JSON 6902 patch without a target.*declares no \/spec\/allowed \(Flux has no per-Kustomization allowlist of kinds/ },
  { mistake: "extract $timestamp names a group the pattern does not define", ruleId: "imagepolicy-invalid-extract", file: "flux-system/image-automation.yaml", message: "extract '$timestamp' refers to 'timestamp'" },
  { mistake: "alerts on gotk_reconcile_condition, which Flux 2.5+ does not emit", ruleId: "no-failure-alerting", file: "monitoring/flux-security.yaml", message: "alert FluxKustomizationFailed relies on gotk_reconcile_condition, so it never fires" },
  { mistake: "verification-failure alert on a metric that never exists", ruleId: "no-failure-alerting", file: "monitoring/flux-security.yaml", message: "alert FluxCommitVerificationFailed relies on gotk_reconcile_condition" },
  { mistake: "no Alert forwards the GitRepository's verification failures", ruleId: "no-verification-alerting", file: "flux-system/payments-manifests.yaml", message: "GitRepository flux-system/payments-manifests" },
  { mistake: "'Only to GitHub' allows any public address on 22 and 443", ruleId: "flux-egress-unrestricted", file: "flux-system/network-policy.yaml", message: "0.0.0.0/0 minus private ranges) on port(s) 22, 443" },
  { mistake: "rollback.enable does not enable rollback: no remediation", ruleId: "helmrelease-no-remediation", file: "apps/payments/helmrelease.yaml", message: "spec.rollback.enable does not exist" },
];

test("seed: the seed's configuration audits without a crash or a parse error", async () => {
  const report = await auditDir(SEED);
  assert.equal(report.findings.filter((f) => f.ruleId === "parse-error").length, 0);
  assert.ok(report.summary.objects >= 12);
});

for (const m of MISTAKES) {
  test(`seed: ${m.mistake}`, async () => {
    const report = await auditDir(SEED);
    const hit = report.findings.find(
      (f) => f.ruleId === m.ruleId && f.location?.file === m.file && (typeof m.message === "string" ? f.message.includes(m.message) : m.message.test(f.message)),
    );
    assert.ok(hit, `no ${m.ruleId} finding in ${m.file} matching ${String(m.message)}; got:\n${report.findings.map((f) => `${f.ruleId} ${f.location?.file}:${f.location?.line} ${f.message}`).join("\n")}`);
  });
}

test("seed: what the seed gets right is not flagged", async () => {
  const report = await auditDir(SEED);
  const ids = (id: string) => report.findings.filter((f) => f.ruleId === id);
  // The GitRepository is verified (mode HEAD with a branch-less ref is fine) and the chart range is bounded.
  assert.deepEqual(ids("gitrepository-unverified"), []);
  assert.deepEqual(ids("verify-mode-mismatch"), []);
  assert.deepEqual(ids("helmrelease-unpinned-chart"), []);
  assert.deepEqual(ids("imagepolicy-unbounded"), []);
  // Its values are hardened.
  assert.deepEqual(ids("helmrelease-privileged-values"), []);
});
