/**
 * ResourceSets expanded by the real Flux Operator CLI (`flux-operator build resourceset`, the
 * pinned v0.59.0 that `npm run build:flux-operator` builds from its Go module):
 *
 * - the test fleet (two input sets: a cluster-admin tenant and a namespace-scoped one, image
 *   automation, a ValidatingAdmissionPolicy whose binding misses one tenant) audits with
 *   concrete names, the cluster-admin tenant critical, the automation checked, the policy gap
 *   reported, and no posture row "defended";
 * - the same fleet as plain manifests gives the same findings (parity);
 * - inputs from a Static provider, a live-only provider named as unresolved, and the same
 *   provider's input sets given in .fluxguard.yaml;
 * - without the CLI, the ResourceSet is "not assessed", named in the findings, the rendering
 *   line and every posture row (this part runs everywhere).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { join } from "node:path";
import { auditDir } from "../testing/rule-tester.js";
import { fixturePath } from "../testing/paths.js";
import type { AuditReport, Finding } from "../engine/report.js";
import { findFluxOperator, inputSetLabel, parseExpanded, templateDocumentOf, templateDocuments } from "./flux-operator.js";

const fleet = fixturePath(import.meta.url, "fixtures", "resourceset-fleet");
const tool = findFluxOperator(process.env);
const needsCli = { skip: tool ? false : "the Flux Operator CLI is not built (npm run build:flux-operator)" } as const;

const active = (r: AuditReport): Finding[] => r.findings.filter((f) => !f.suppressed);
const of = (r: AuditReport, rule: string): Finding[] => active(r).filter((f) => f.ruleId === rule);

test("flux-operator: the test fleet audits with concrete names, the cluster-admin tenant critical, the automation checked, the policy gap", needsCli, async () => {
  const r = await auditDir(join(fleet, "resourceset"));
  assert.equal(r.rendering.fluxOperator, `flux-operator ${tool!.version}`);
  for (const f of active(r)) assert.ok(!/<<|>>/.test(f.message), `no template placeholders in messages: ${f.message}`);

  const admin = of(r, "reconciler-sa-overprivileged");
  assert.equal(admin.length, 1, JSON.stringify(admin.map((f) => f.message)));
  assert.equal(admin[0]!.severity, "critical");
  assert.match(admin[0]!.message, /ServiceAccount team-a\/flux, which Kustomization team-a\/apps runs as, holds cluster-admin cluster-wide through ClusterRoleBinding flux-team-a/);
  assert.match(admin[0]!.message, /\[ResourceSet flux-system\/tenants, input set team-a\]$/);
  assert.equal(admin[0]!.location?.file, "tenants.yaml", "an expanded object points into its ResourceSet");
  assert.equal(admin[0]!.context.renderedBy[0], "ResourceSet/flux-system/tenants");

  const pushes = of(r, "image-automation-pushes-to-applied-branch");
  assert.deepEqual(pushes.map((f) => f.resource?.namespace).sort(), ["team-a", "team-b"], "both tenants' automations are checked");
  assert.ok(pushes.every((f) => /pushes to branch main, which Kustomization team-[ab]\/apps applies from/.test(f.message)), pushes.map((f) => f.message).join("\n"));

  const gap = of(r, "admission-policy-tenant-gap");
  assert.equal(gap.length, 1, JSON.stringify(gap.map((f) => f.message)));
  assert.match(gap[0]!.message, /ValidatingAdmissionPolicy tenant-guard \(binding tenant-guard\) does not cover tenant team-b\/flux \(Kustomization team-b\/apps\): Namespace team-b lacks the labels/);
  assert.equal(gap[0]!.location?.file, "platform/tenant-guard.yaml");

  for (const id of ["developer-pushes-cluster-role-binding", "flux-sa-privilege-escalation", "image-automation-overwrites-tag", "reconciliation-failure-undetected"]) {
    assert.equal(r.posture.find((p) => p.id === id)?.verdict, "exposed", id);
  }
  assert.ok(r.posture.every((p) => p.verdict !== "defended" && p.verdict !== "not-applicable"), JSON.stringify(r.posture.map((p) => [p.id, p.verdict])));
});

test("flux-operator: the same fleet written as plain manifests gives the same findings (parity)", needsCli, async () => {
  const rs = await auditDir(join(fleet, "resourceset"));
  const plain = await auditDir(join(fleet, "plain"));
  const key = (f: Finding): string => `${f.severity} ${f.ruleId} ${f.resource ? `${f.resource.kind}/${f.resource.namespace ?? ""}/${f.resource.name}` : "-"} ${f.message.replace(/ \[ResourceSet [^\]]+\]$/, "")}`;
  // The ResourceSet itself is only in one of them; so are rules about files as such.
  const comparable = (r: AuditReport): string[] => active(r).filter((f) => f.resource?.kind !== "ResourceSet").map(key).sort();
  assert.deepEqual(comparable(rs), comparable(plain));
  assert.ok(comparable(rs).length >= 6, comparable(rs).join("\n"));
  assert.deepEqual(
    rs.posture.map((p) => [p.id, p.verdict]),
    plain.posture.map((p) => [p.id, p.verdict]),
  );
});

test("flux-operator: inputs from a Static provider; a live-only provider is named unresolved; .fluxguard.yaml inputs resolve it", needsCli, async () => {
  const base = fixturePath(import.meta.url, "fixtures", "resourceset-inputs");
  const partial = await auditDir(join(base, "providers"));
  const admin = of(partial, "reconciler-sa-overprivileged").concat(of(partial, "flux-secrets-readable"));
  void admin;
  const crbs = partial.findings.filter((f) => f.resource?.kind === "ClusterRoleBinding").map((f) => f.resource!.name);
  assert.ok(crbs.every((n) => n === "preview-team-c"), `only the Static provider's tenant: ${crbs.join(", ")}`);
  const note = of(partial, "resourceset-not-expanded");
  assert.equal(note.length, 1);
  assert.match(note[0]!.message, /ResourceSet flux-system\/previews was expanded only in part \(2 objects from input sets team-c\): inputs from ResourceSetInputProvider flux-system\/pull-requests \(type GitHubPullRequest, resolved only live\) are not resolved offline/);
  assert.ok(partial.posture.every((p) => p.verdict === "exposed" || p.verdict === "not-assessed"), "partly expanded: nothing is defended or not applicable");
  for (const p of partial.posture) {
    assert.ok(p.notAssessed.some((g) => g.reason === "provider-inputs" && /ResourceSet flux-system\/previews: inputs from ResourceSetInputProvider flux-system\/pull-requests/.test(g.what)), p.id);
  }

  const full = await auditDir(join(base, "with-config"));
  assert.deepEqual(of(full, "resourceset-not-expanded").map((f) => f.message), []);
  const names = new Set(full.findings.filter((f) => f.resource?.kind === "ClusterRoleBinding").map((f) => f.resource!.name));
  assert.ok(names.has("preview-team-c") && names.has("preview-preview-42"), [...names].join(", "));
});

test("flux-operator: a template the builder rejects is reported with the builder's error, not a crash", needsCli, async () => {
  const { mkdtempSync, writeFileSync, rmSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const dir = mkdtempSync(join(tmpdir(), "fluxguard-rset-bad-"));
  try {
    writeFileSync(
      join(dir, "rs.yaml"),
      "apiVersion: fluxcd.controlplane.io/v1\nkind: ResourceSet\nmetadata: {name: bad, namespace: flux-system}\nspec:\n  inputs: [{tenant: a}]\n  resources:\n    - apiVersion: v1\n      kind: ServiceAccount\n      metadata: {name: << inputs.missing >>, namespace: a}\n",
    );
    const r = await auditDir(dir);
    const note = of(r, "resourceset-not-expanded");
    assert.equal(note.length, 1);
    assert.match(note[0]!.message, /was not expanded: flux-operator build resourceset failed: .*missing/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("flux-operator: without the CLI the ResourceSet is not assessed, and the report says so everywhere", async () => {
  const r = await auditDir(join(fleet, "resourceset"), { env: { PATH: process.env["PATH"], FLUXGUARD_FLUX_OPERATOR: "none" } });
  assert.equal(r.rendering.fluxOperator, null);
  const note = of(r, "resourceset-not-expanded");
  assert.equal(note.length, 1);
  assert.match(note[0]!.message, /ResourceSet flux-system\/tenants was not expanded: the Flux Operator CLI is not available/);
  assert.equal(note[0]!.location?.file, "tenants.yaml");
  for (const p of r.posture) {
    assert.ok(p.verdict === "exposed" || p.verdict === "not-assessed", `${p.id}: ${p.verdict} ${p.because}`);
    assert.ok(p.notAssessed.some((g) => g.reason === "not-expanded" && g.what === "ResourceSet flux-system/tenants (the Flux Operator CLI is not available)" && g.file === "tenants.yaml"), p.id);
    if (p.verdict === "not-assessed") assert.match(p.because, /not seen: .*ResourceSet flux-system\/tenants \(the Flux Operator CLI is not available\)/);
  }
  assert.ok(!r.rendering.reconcilers.some((n) => n.method === "flux-operator"));
  const line = r.rendering.reconcilers.find((n) => n.reconciler === "ResourceSet/flux-system/tenants");
  assert.equal(line?.method, null);
});

test("flux-operator: the origin mark is taken back out of the builder's output", () => {
  const inputs = Buffer.from(JSON.stringify({ tenant: "team-a", provider: { kind: "ResourceSet", name: "t" } })).toString("base64");
  const out = parseExpanded(`---\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: flux\n  namespace: team-a\n  annotations:\n    fluxguard.io/resourceset-origin: /spec/resources/1|${inputs}\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: x\n  annotations:\n    keep: "1"\n`);
  assert.equal(out.length, 2);
  assert.equal(out[0]!.template, "/spec/resources/1");
  assert.deepEqual(out[0]!.object.metadata, { name: "flux", namespace: "team-a" });
  assert.equal(inputSetLabel(out[0]!.inputs), "team-a");
  assert.equal(out[1]!.template, null);
  assert.deepEqual(out[1]!.object.metadata.annotations, { keep: "1" });
  assert.equal(inputSetLabel({ provider: { name: "p" }, prs: { id: "7", branch: "fix" } }), "fix");
  assert.equal(inputSetLabel(null), null);
});

test("templateDocumentOf: an object whose kind is a template action (kind: << inputs.kind >>) locates to its own document; a written kind still wins", () => {
  const tmpl = [
    "---",
    "apiVersion: v1",
    "kind: ServiceAccount",
    "metadata:",
    "  name: flux",
    "  namespace: << inputs.tenant >>",
    "---",
    "apiVersion: rbac.authorization.k8s.io/v1",
    "kind: << inputs.bindingKind >>",
    "metadata:",
    "  name: flux-<< inputs.tenant >>",
    "---",
    "apiVersion: << inputs.workloadApi >>",
    'kind: "<< inputs.workloadKind >>"',
    "metadata:",
    "  name: << inputs.tenant >>-worker",
  ].join("\n");
  const docs = templateDocuments(tmpl);
  assert.deepEqual(docs.map((d) => d.line), [1, 7, 12]);
  const at = (apiVersion: string, kind: string, name: string): number | null => templateDocumentOf(docs, { apiVersion, kind, metadata: { name } })?.line ?? null;
  assert.equal(at("v1", "ServiceAccount", "flux"), 1);
  assert.equal(at("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "flux-team-a"), 7, "templated kind, matched by apiVersion and name");
  assert.equal(at("apps/v1", "Deployment", "team-a-worker"), 12, "quoted templated kind and templated apiVersion, matched by name");
  assert.equal(at("v1", "ServiceAccount", "other"), 1, "a written kind wins over a templated one whose name does not match");
  assert.equal(at("batch/v1", "Job", "unrelated"), 12, "the one document that can produce a batch/v1 object");
  assert.equal(at("rbac.authorization.k8s.io/v1", "RoleBinding", "unrelated"), null, "two templated documents fit and no name matches: none is guessed");
});
