/**
 * The issue-3 rules on the real repositories under ../shared/corpus: what they must find, and
 * the look-alikes they must leave alone. (src/engine/corpus.test.ts covers crashes and the
 * tenancy rules.)
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { auditDir } from "../../testing/rule-tester.js";
import { CORPUS_DIR } from "../../testing/paths.js";

const skip = existsSync(CORPUS_DIR) ? false : `no corpus at ${CORPUS_DIR}`;
const audit = (name: string) => auditDir(join(CORPUS_DIR, name));
const of = async (name: string, id: string) => (await audit(name)).findings.filter((f) => f.ruleId === id);

test("corpus: flux2-multi-tenancy — the v1beta2 OCIRepository, keyless cosign without an identity", { skip }, async () => {
  const removed = await of("flux2-multi-tenancy", "flux-api-removed");
  assert.deepEqual(removed.map((f) => f.location?.file), ["infrastructure/kyverno/source.yaml"]);
  assert.match(removed[0]!.message, /source\.toolkit\.fluxcd\.io\/v1beta2.*removed in Flux v2\.8.*source\.toolkit\.fluxcd\.io\/v1/);
  const weak = await of("flux2-multi-tenancy", "ocirepository-unverified");
  assert.ok(weak.some((f) => /without matchOIDCIdentity/.test(f.message)));
  // The tenant's GitRepository is the one without verify.
  assert.deepEqual((await of("flux2-multi-tenancy", "gitrepository-unverified")).map((f) => f.resource?.name), ["dev-team"]);
});

test("corpus: home-ops — FluxInstance sync source, alerts that exist, the retry feature gate", { skip }, async () => {
  const unverified = await of("home-ops", "gitrepository-unverified");
  assert.equal(unverified.length, 1);
  assert.match(unverified[0]!.location!.file, /flux-instance\/app\/helmrelease\.yaml$/);
  // Its Alert covers Kustomizations and sources, and its PrometheusRule uses gotk_resource_info.
  assert.deepEqual(await of("home-ops", "no-failure-alerting"), []);
  // helm-controller runs with --feature-gates=DefaultToRetryOnFailure=true (FluxInstance patch).
  assert.deepEqual(await of("home-ops", "helmrelease-no-remediation"), []);
  // networkPolicy: false, and no policy of its own.
  assert.equal((await of("home-ops", "flux-egress-unrestricted")).length, 1);
  // Secrets resolved by 1Password (op://) at bootstrap are not plain text.
  assert.deepEqual(await of("home-ops", "plaintext-secret-in-git"), []);
  // A component rendered into a dozen namespaces is reported once.
  assert.equal((await of("home-ops", "flux-schema-violation")).length, 1);
});

test("corpus: flux2-monitoring-example — Grafana's admin password in values", { skip }, async () => {
  const creds = await of("flux2-monitoring-example", "hardcoded-credential-in-values");
  assert.deepEqual(creds.map((f) => f.message), ["HelmRelease monitoring/kube-prometheus-stack has a literal credential at spec.values.grafana.adminPassword (value not shown)"]);
});

test("corpus: flux2-kustomize-helm-example — open chart ranges, no alerting", { skip }, async () => {
  const unpinned = await of("flux2-kustomize-helm-example", "helmrelease-unpinned-chart");
  assert.ok(unpinned.some((f) => /'>=1\.0\.0' has no upper bound/.test(f.message)));
  assert.equal((await of("flux2-kustomize-helm-example", "no-failure-alerting")).length, 2);
  assert.deepEqual(await of("flux2-kustomize-helm-example", "plaintext-secret-in-git"), []);
});
