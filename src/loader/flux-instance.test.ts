/**
 * FluxInstance rendered by the Flux Operator's own builder (`flux-operator build instance`,
 * with the Flux distribution served offline by fluxguard-flux-distribution from a loopback
 * registry): the lockdown verdict comes from the rendered controller Deployments, and when
 * the build cannot run the report says the arguments were inferred from spec.cluster.
 *
 * Each case is audited both ways: with the real build (skipped, with the reason, when the CLI
 * or the distribution is not built) and with FLUXGUARD_FLUX_DISTRIBUTION=none (runs everywhere).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { AuditReport, Finding } from "../engine/report.js";
import { auditDir } from "../testing/rule-tester.js";
import { fixturePath } from "../testing/paths.js";
import { findFluxOperator } from "./flux-operator.js";

const tool = findFluxOperator(process.env);
const needsBuild = { skip: tool?.distribution ? false : "the Flux Operator CLI and its offline distribution are not built (npm run build:flux-operator)" } as const;
const fixture = (...p: string[]): string => fixturePath(import.meta.url, "fixtures", ...p);
const inferred = { env: { PATH: process.env["PATH"], FLUXGUARD_FLUX_DISTRIBUTION: "none" } };

const of = (r: AuditReport, rule: string): Finding[] => r.findings.filter((f) => !f.suppressed && f.ruleId === rule);
const row = (r: AuditReport, id: string): AuditReport["posture"][number] => r.posture.find((p) => p.id === id)!;

test("FluxInstance in a valuesFrom ConfigMap (layout 03): rendered by flux-operator build instance, lockdown from the controllers' arguments", needsBuild, async () => {
  const r = await auditDir(fixture("field", "layout-03-fluxinstance-values-from-generator"));
  assert.deepEqual(r.rendering.fluxInstances, [{ instance: "flux-system/flux", file: "clusters/prod/flux-instance/helmrelease.yaml", renderedBy: `flux-operator ${tool!.version}`, problem: null }]);
  assert.deepEqual(of(r, "multitenancy-lockdown-missing"), []);
  assert.deepEqual(of(r, "kustomization-missing-service-account"), [], "the lockdown's --default-service-account=flux is in the rendered kustomize-controller");
  for (const p of r.posture) assert.ok(!p.notAssessed.some((g) => /controller arguments inferred/.test(g.what)), p.id);
  // The operator's own ClusterRoleBinding (not a synthesized stand-in) binds the controllers.
  const admin = of(r, "flux-controller-cluster-admin");
  assert.equal(admin.length, 2);
  assert.ok(admin.every((f) => f.location?.file === "clusters/prod/flux-instance/values.yaml"), "findings point into the values file");
});

test("FluxInstance in a valuesFrom ConfigMap (layout 03) without the distribution: arguments inferred from spec.cluster, and the rows say so", async () => {
  const r = await auditDir(fixture("field", "layout-03-fluxinstance-values-from-generator"), inferred);
  const [inst] = r.rendering.fluxInstances ?? [];
  assert.equal(inst?.renderedBy, null);
  assert.match(inst!.problem!, /offline Flux distribution/);
  for (const id of ["flux-sa-privilege-escalation", "developer-pushes-cluster-role-binding"]) {
    const p = row(r, id);
    assert.ok(p.notAssessed.some((g) => g.reason === "not-rendered" && /^FluxInstance flux-system\/flux: controller arguments inferred from spec\.cluster/.test(g.what)), id);
    assert.notEqual(p.verdict, "defended", id);
  }
  // Inferred from multitenant: true: still no false kustomization-missing-service-account.
  assert.deepEqual(of(r, "kustomization-missing-service-account"), []);
});

test("FluxInstance whose own patches add the lockdown flags (no multitenant): locked down when rendered, flagged as inferred otherwise", async (t) => {
  const dir = fixture("flux-instance", "patched-lockdown");
  await t.test("rendered", needsBuild, async () => {
    const r = await auditDir(dir);
    assert.deepEqual(of(r, "multitenancy-lockdown-missing"), [], "the rendered controllers carry the flags");
    assert.equal(row(r, "flux-sa-privilege-escalation").verdict, "defended");
  });
  await t.test("inferred", async () => {
    const r = await auditDir(dir, inferred);
    const f = of(r, "multitenancy-lockdown-missing");
    assert.equal(f.length, 1);
    assert.match(f[0]!.message, /\(inferred from spec\.cluster: flux-operator build instance did not run\)/);
    assert.equal(row(r, "flux-sa-privilege-escalation").verdict, "exposed");
  });
});

test("FluxInstance with multitenant: true whose patch replaces kustomize-controller's arguments: the rendered controller is not locked down", async (t) => {
  const dir = fixture("flux-instance", "multitenant-args-replaced");
  await t.test("rendered", needsBuild, async () => {
    const r = await auditDir(dir);
    const f = of(r, "multitenancy-lockdown-missing");
    assert.equal(f.length, 1);
    assert.equal(f[0]!.severity, "high");
    assert.match(f[0]!.message, /^FluxInstance sets cluster\.multitenant: true, but the controllers flux-operator build instance renders run kustomize-controller without --no-cross-namespace-refs=true, --no-remote-bases=true, --default-service-account/);
    assert.equal(f[0]!.location?.file, "clusters/prod/flux-instance.yaml");
    assert.equal(f[0]!.location?.line, 13, "at spec.cluster.multitenant");
    assert.equal(of(r, "kustomization-missing-service-account").length, 1, "team-a runs as the controller");
  });
  await t.test("inferred", async () => {
    const r = await auditDir(dir, inferred);
    assert.deepEqual(of(r, "multitenancy-lockdown-missing"), [], "inference from spec.cluster cannot see the patch");
    assert.equal(row(r, "flux-sa-privilege-escalation").verdict, "not-assessed", "and the row does not claim it is defended");
  });
});

test("FluxInstance sync source verified through spec.kustomize.patches (layout 10): applied by the operator's build, or by kustomize without it", async (t) => {
  const dir = fixture("field", "layout-10-oci-sync-latest");
  for (const [name, opts, skip] of [
    ["rendered", {}, needsBuild],
    ["kustomize", inferred, {}],
  ] as const) {
    await t.test(name, skip, async () => {
      const r = await auditDir(dir, opts);
      assert.deepEqual(of(r, "ocirepository-unverified"), []);
      assert.equal(row(r, "malicious-commit").verdict, "defended");
      const alert = of(r, "no-verification-alerting");
      assert.equal(alert[0]?.location?.line, 22, "the verify block the patch adds locates to spec.kustomize.patches");
    });
  }
  await t.test("no kustomize, no build: the patches are not assessed", async () => {
    const r = await auditDir(dir, { ...inferred, kustomize: null });
    assert.notEqual(row(r, "malicious-commit").verdict, "defended");
    assert.ok(row(r, "malicious-commit").notAssessed.some((g) => /spec\.kustomize\.patches on the sync objects/.test(g.what)));
  });
});
