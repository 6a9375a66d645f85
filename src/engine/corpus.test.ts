/**
 * Scans every real repository under ../shared/corpus: no crash, and the findings that matter
 * are the defensible ones. Skipped (with a reason) when the corpus is not beside the checkout.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { auditDir } from "../testing/rule-tester.js";
import { CORPUS_DIR } from "../testing/paths.js";

const repos = existsSync(CORPUS_DIR) ? readdirSync(CORPUS_DIR).sort() : [];
const skip = repos.length === 0 ? `no corpus at ${CORPUS_DIR}` : false;

test("corpus: every repository audits without a crash or a parse error", { skip }, async () => {
  for (const name of repos) {
    const report = await auditDir(join(CORPUS_DIR, name));
    assert.ok(report.summary.objects > 0, `${name}: no objects`);
    assert.deepEqual(report.findings.filter((f) => f.ruleId === "parse-error").map((f) => f.message), [], name);
    for (const f of report.findings) assert.ok(f.location !== null || f.resource !== null, `${name}: finding without a place: ${f.message}`);
  }
});

test("corpus: flux2-multi-tenancy — lockdown recognised from patches, tenant names its service account", { skip }, async () => {
  const report = await auditDir(join(CORPUS_DIR, "flux2-multi-tenancy"));
  const ids = (id: string) => report.findings.filter((f) => f.ruleId === id);
  assert.deepEqual(ids("multitenancy-lockdown-missing").map((f) => f.message), []);
  assert.ok(!ids("kustomization-missing-service-account").some((f) => f.resource?.name === "dev-team"));
  // The flux create tenant pattern: cluster-admin through a RoleBinding in the tenant's namespace is at most low.
  const tenant = ids("reconciler-sa-overprivileged").filter((f) => /dev-team/.test(f.message));
  assert.ok(tenant.length > 0);
  assert.ok(tenant.every((f) => f.severity === "low"));
  // The controllers keep cluster-admin, confined by --default-service-account.
  assert.ok(ids("flux-controller-cluster-admin").every((f) => f.severity === "low"));
  // The tenant's repository is another repository: not rendered, and said so.
  assert.ok(report.rendering.reconcilers.some((n) => n.reconciler.startsWith("Kustomization/apps/dev-team") && n.method === null));
});

test("corpus: flux2-kustomize-helm-example — ExternalArtifact paths map through the ArtifactGenerator", { skip }, async () => {
  const report = await auditDir(join(CORPUS_DIR, "flux2-kustomize-helm-example"));
  assert.deepEqual(report.rendering.reconcilers.filter((n) => n.method === null).map((n) => n.reconciler), []);
  assert.ok(report.findings.some((f) => f.ruleId === "helmrelease-missing-service-account"));
});

test("corpus: home-ops — the flux-instance HelmRelease is understood as a FluxInstance", { skip }, async () => {
  const report = await auditDir(join(CORPUS_DIR, "home-ops"));
  const lock = report.findings.filter((f) => f.ruleId === "multitenancy-lockdown-missing");
  assert.equal(lock.length, 1);
  assert.match(lock[0]!.location!.file, /flux-instance\/app\/helmrelease\.yaml$/);
  assert.ok(report.rendering.reconcilers.filter((n) => n.method !== null).length > 50);
});
