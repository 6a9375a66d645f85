/**
 * The webhook's decisions, from the audit's own rules, on the cross-object cases CEL cannot
 * see: each is denied with its rule id and message, and a compliant look-alike is admitted.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { defaultConfig } from "../core/config.js";
import { defineRule } from "../core/rule.js";
import type { K8sObject } from "../core/types.js";
import { ALL_RULES } from "../rules/index.js";
import { AdmissionEvaluator, type Decision } from "./evaluate.js";
import { StaticObjects } from "./objects.js";
import { parseReview, responseFor } from "./review.js";
import { baselineCluster, imageUpdateAutomation, PLATFORM_URL, reviewBody, teamAdminBinding, tenantKustomization } from "../testing/admission.js";

function evaluator(mode: "enforce" | "audit" = "enforce", rules = ALL_RULES) {
  return new AdmissionEvaluator({ config: defaultConfig(), rules, denyAt: "high", mode });
}

function judge(object: unknown, opts: { mode?: "enforce" | "audit"; objects?: K8sObject[]; oldObject?: unknown; rules?: typeof ALL_RULES } = {}): Decision {
  const source = new StaticObjects(opts.objects ?? baselineCluster());
  const req = parseReview(reviewBody(object, { operation: opts.oldObject ? "UPDATE" : "CREATE", oldObject: opts.oldObject }), { maxDepth: 64 });
  return evaluator(opts.mode, opts.rules).review(req.candidate, source.snapshot());
}

const rules = (fs: Decision["denials"]) => fs.map((f) => f.ruleId).sort();

test("webhook: a Kustomization that starts applying an unverified GitRepository is denied (gitrepository-unverified)", () => {
  const d = judge(tenantKustomization("experiments", "team-a-experiments"));
  assert.equal(d.allowed, false);
  assert.deepEqual(rules(d.denials), ["gitrepository-unverified"]);
  assert.match(d.denials[0]!.message, /GitRepository team-a\/team-a-experiments has no spec\.verify: Kustomization team-a\/experiments applies any commit/);
  assert.match(responseFor("u", d, { denyAt: "high" }).response.status!.message, /^fluxguard denied this change \(at or above high\): \[gitrepository-unverified\] high: GitRepository team-a\/team-a-experiments/);
  // The same Kustomization on the signed source is admitted.
  const ok = judge(tenantKustomization("experiments", "team-a"));
  assert.deepEqual(rules(ok.denials), []);
  assert.equal(ok.allowed, true);
  // The unverified source alone (nothing applies it) is a medium finding: a warning, not a denial.
  const src = baselineCluster().find((o) => o.metadata.name === "team-a-experiments")!;
  const alone = judge({ ...src, metadata: { name: "team-a-scratch", namespace: "team-a" } });
  assert.equal(alone.allowed, true);
  assert.deepEqual(alone.warnings.map((f) => `${f.ruleId}:${f.severity}`), ["gitrepository-unverified:medium"]);
});

test("webhook: a (Cluster)RoleBinding that makes a reconciler's service account cluster-admin is denied (reconciler-sa-overprivileged)", () => {
  const crb = teamAdminBinding();
  const d = judge(crb);
  assert.equal(d.allowed, false);
  // cluster-admin also reads the Flux namespace's Secrets: the audit says so too.
  assert.deepEqual(rules(d.denials), ["flux-secrets-readable", "reconciler-sa-overprivileged"]);
  const overprivileged = d.denials.find((f) => f.ruleId === "reconciler-sa-overprivileged")!;
  assert.match(overprivileged.message, /ServiceAccount team-a\/team-a, which Kustomization team-a\/team-a runs as, holds cluster-admin cluster-wide through ClusterRoleBinding team-a-admin/);
  assert.equal(overprivileged.severity, "critical");
  // A RoleBinding of cluster-admin into another tenant's namespace: high, denied.
  const rb = { ...crb, kind: "RoleBinding", metadata: { name: "team-a-in-flux", namespace: "flux-system" } };
  assert.ok(rules(judge(rb).denials).includes("reconciler-sa-overprivileged"));
  // Binding a small Role to the same account, or cluster-admin to an account no reconciler uses: admitted.
  const small = { ...crb, kind: "RoleBinding", metadata: { name: "more", namespace: "team-a" }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "team-a-reconciler" } };
  assert.equal(judge(small).allowed, true);
  // (cluster-admin for a person is flux-secrets-readable's business: it reads the Flux namespace's Secrets.)
  const person = judge({ ...crb, subjects: [{ kind: "User", name: "oncall@example.com" }] });
  assert.deepEqual(rules(person.denials), ["flux-secrets-readable"]);
});

test("webhook: an ImageUpdateAutomation pushing to the branch an applied source tracks is denied (image-automation-pushes-to-applied-branch)", () => {
  const d = judge(imageUpdateAutomation("main"));
  assert.equal(d.allowed, false);
  assert.deepEqual(rules(d.denials), ["image-automation-pushes-to-applied-branch"]);
  assert.match(d.denials[0]!.message, /pushes to branch main, which Kustomization flux-system\/flux-system applies from/);
  // Another repository object with the same URL and branch counts too (the URL is what Git sees).
  const ok = judge(imageUpdateAutomation("image-updates"));
  assert.equal(ok.allowed, true, JSON.stringify(ok.denials.map((f) => f.message)));
  assert.ok(PLATFORM_URL.startsWith("ssh://"));
});

test("webhook: a HelmRelease with privileged values running as the platform is denied (helmrelease-privileged-values)", () => {
  const hr = {
    apiVersion: "helm.toolkit.fluxcd.io/v2",
    kind: "HelmRelease",
    metadata: { name: "node-agent", namespace: "flux-system" },
    spec: {
      interval: "10m",
      serviceAccountName: "helm-controller",
      chart: { spec: { chart: "node-agent", version: "1.2.3", sourceRef: { kind: "HelmRepository", name: "charts" } } },
      values: { daemonset: { securityContext: { privileged: true } } },
    },
  };
  const d = judge(hr);
  assert.equal(d.allowed, false);
  assert.ok(rules(d.denials).includes("helmrelease-privileged-values"), JSON.stringify(rules(d.denials)));
  const finding = d.denials.find((f) => f.ruleId === "helmrelease-privileged-values")!;
  assert.match(finding.message, /HelmRelease flux-system\/node-agent values set daemonset\.securityContext\.privileged: true/);
  const clean = judge({ ...hr, spec: { ...hr.spec, values: { daemonset: { securityContext: { privileged: false, runAsNonRoot: true } } } } });
  assert.ok(!rules(clean.denials).includes("helmrelease-privileged-values"));
});

test("webhook: audit mode records but never denies; the answer carries warnings", () => {
  const crb = teamAdminBinding();
  const d = judge(crb, { mode: "audit" });
  assert.equal(d.allowed, true);
  assert.deepEqual(d.denials, []);
  assert.deepEqual(rules(d.warnings), ["flux-secrets-readable", "reconciler-sa-overprivileged"]);
  const r = responseFor("uid-1", d, { denyAt: "high" });
  assert.equal(r.response.allowed, true);
  assert.ok(r.response.warnings!.some((w) => /^\[reconciler-sa-overprivileged\] critical: ServiceAccount team-a\/team-a/.test(w)), JSON.stringify(r.response.warnings));
});

test("webhook: an update that keeps an existing finding is not blamed for it; a suppression annotation is honoured", () => {
  const objects = baselineCluster();
  const src = objects.find((o) => o.metadata.name === "team-a-experiments")!;
  const relabelled = { ...src, metadata: { ...src.metadata, labels: { team: "a" } } };
  assert.deepEqual(judge(relabelled, { oldObject: src, objects }).warnings, []);
  const ks = tenantKustomization("experiments", "team-a-experiments", {});
  const suppressed = objects.map((o) =>
    o === src ? { ...src, metadata: { ...src.metadata, annotations: { "fluxguard.io/ignore": "gitrepository-unverified: throwaway experiments, reviewed 2026-11" } } } : o,
  );
  assert.equal(judge(ks, { objects: suppressed as K8sObject[] }).allowed, true);
});

test("webhook: a rule that throws denies with one line naming it, and the others still run", () => {
  const broken = defineRule({
    meta: { ...ALL_RULES[0]!.meta, id: "broken-rule", reads: { allKindsBut: [], why: "throws whatever the change" } },
    check() {
      throw new TypeError("Cannot read properties of undefined (reading 'spec')\n    at somewhere");
    },
  });
  const d = judge({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "x", namespace: "team-a" } }, { rules: [...ALL_RULES, broken] });
  assert.equal(d.allowed, false);
  assert.deepEqual(d.errors, [{ ruleId: "broken-rule", reason: "TypeError: Cannot read properties of undefined (reading 'spec') at somewhere" }]);
  const r = responseFor("u", d, { denyAt: "high" });
  assert.match(r.response.status!.message, /\[broken-rule\] internal error, denied \(fail-closed\): TypeError/);
  assert.ok(!r.response.status!.message.includes("\n"));
  // Audit mode: admitted, the error is a warning.
  const a = judge({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "x", namespace: "team-a" } }, { rules: [...ALL_RULES, broken], mode: "audit" });
  assert.equal(a.allowed, true);
  assert.match(responseFor("u", a, { denyAt: "high" }).response.warnings![0]!, /^\[broken-rule\] internal error \(audit mode, not denied\)/);
});

test("webhook: the baseline is computed once per cache version", () => {
  const source = new StaticObjects(baselineCluster());
  let runs = 0;
  const counting = defineRule({ meta: { ...ALL_RULES[0]!.meta, id: "counting", reads: { allKindsBut: [], why: "counts its runs: any change may affect it" } }, check: () => void runs++ });
  const ev = new AdmissionEvaluator({ config: defaultConfig(), rules: [counting], denyAt: "high", mode: "enforce" });
  const sa = { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "x", namespace: "team-a" } } as K8sObject;
  for (let i = 0; i < 3; i++) ev.review({ operation: "CREATE", object: sa, oldObject: null }, source.snapshot());
  assert.equal(runs, 1 + 3);
  source.put(sa);
  ev.review({ operation: "CREATE", object: sa, oldObject: null }, source.snapshot());
  assert.equal(runs, 1 + 3 + 2);
});

test("webhook: a rule about the whole cluster is judged by whether it fires, not by which object it names", () => {
  // Without its entrypoint, no-failure-alerting names another Kustomization; the entrypoint's
  // arrival moves the anchor to it. That introduces nothing.
  const objects = baselineCluster().filter((o) => !(o.kind === "Kustomization" && o.metadata.name === "flux-system"));
  const entry = baselineCluster().find((o) => o.kind === "Kustomization" && o.metadata.name === "flux-system")!;
  const d = judge(entry, { objects });
  assert.ok(!rules([...d.denials, ...d.warnings]).includes("no-failure-alerting"), JSON.stringify(rules(d.denials)));
  assert.equal(d.allowed, true, JSON.stringify(d.denials.map((f) => f.message)));
  assert.ok(ALL_RULES.find((r) => r.meta.id === "no-failure-alerting")!.meta.aggregate);
});
