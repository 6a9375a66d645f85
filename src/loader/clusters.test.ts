/**
 * Clusters as Flux sees them: remote apply through spec.kubeConfig (hub and spoke), per-cluster
 * substitution values, and results that do not depend on the order of clusters in the tree.
 * Fixtures: src/loader/fixtures/clusters/ (field layouts 01 and 04, case 17, and variants).
 */
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { defaultConfig } from "../core/config.js";
import { str } from "../core/flux.js";
import type { FleetModel } from "../core/model.js";
import { runAudit } from "../engine/audit.js";
import type { AuditReport } from "../engine/report.js";
import { fixturePath } from "../testing/paths.js";
import { loadRepository } from "./repository.js";

const fixture = (name: string): string => fixturePath(import.meta.url, "fixtures", "clusters", name);
const RULE_FIXTURE = fixturePath(import.meta.url, "..", "rules", "rbac", "fixtures", "remote-cluster-credentials-readable", "invalid", "hub-rolebinding-reads-kubeconfig");

function audit(root: string): Promise<AuditReport> {
  return runAudit({ root, env: { PATH: process.env["PATH"] } });
}

async function model(root: string): Promise<FleetModel> {
  return (await loadRepository({ root, config: defaultConfig(), env: { PATH: process.env["PATH"] }, cacheDir: null })).model;
}

function objectIn(m: FleetModel, cluster: string, kind: string, ns: string, name: string): FleetModel["objects"][number] {
  const o = m.objects.find((x) => x.clusterId === cluster && x.object.kind === kind && x.object.metadata.namespace === ns && x.object.metadata.name === name);
  assert.ok(o, `${kind} ${ns}/${name} in cluster ${cluster}; clusters: ${m.clusters.map((c) => c.id).join(", ")}`);
  return o;
}

/** The report with one directory renamed everywhere it appears, for comparing permutations. */
function normalized(r: AuditReport, from: string, to: string): string[] {
  const fix = (s: string): string => s.split(from).join(to);
  return [
    // Context lists are sorted; sort again after renaming so that only real differences count.
    ...r.findings.map((f) => fix(JSON.stringify({ ...f, fingerprint: "", context: { ...f.context, clusters: f.context.clusters.map(fix).sort() } }))),
    // Per-cluster rows come in cluster order: compare them by (renamed) cluster.
    ...r.posture.map((p) => fix(JSON.stringify({ ...p, findings: p.findings.length, clusters: (p.clusters ?? []).map((c) => ({ ...c, cluster: fix(c.cluster), because: fix(c.because) })).sort((a, b) => a.cluster.localeCompare(b.cluster)) }))),
  ].sort();
}

async function permuted(name: string, from: string, to: string): Promise<{ before: string[]; after: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), "fg-perm-"));
  cpSync(fixture(name), dir, { recursive: true });
  const before = normalized(await audit(dir), from, to);
  renameSync(join(dir, from), join(dir, to));
  // The entrypoint names its own path: keep it pointing at the renamed directory.
  for (const f of readdirSync(join(dir, to), { recursive: true, encoding: "utf8" })) {
    if (!f.endsWith(".yaml")) continue;
    const p = join(dir, to, f);
    writeFileSync(p, readFileSync(p, "utf8").split(`./${from}`).join(`./${to}`));
  }
  const after = normalized(await audit(dir), to, to);
  return { before, after };
}

// --- remote apply (spec.kubeConfig) ------------------------------------------------------

test("remote apply (field layout 04): the spoke is its own cluster; its RBAC is not the hub's; never 'applied as flux-system/kustomize-controller'", async () => {
  const dir = fixture("remote-apply-hub-spoke");
  const m = await model(dir);
  const spokeId = "clusters/hub -> spoke/spoke-kubeconfig";
  const spoke = m.clusters.find((c) => c.id === spokeId);
  assert.ok(spoke, `a cluster for the spoke; got ${m.clusters.map((c) => c.id).join(", ")}`);
  assert.deepEqual(spoke.remote, { hub: "clusters/hub", via: ["Kustomization/spoke/spoke-rbac"] });
  objectIn(m, spokeId, "ClusterRoleBinding", undefined as unknown as string, "deployer");
  const hub = m.clusters.find((c) => c.id === "clusters/hub")!;
  assert.ok(!hub.rbac.bindings.some((b) => b.object.object.metadata.name === "deployer"), "the spoke's binding is not in the hub's RBAC graph");
  assert.ok(spoke.rbac.bindings.some((b) => b.object.object.metadata.name === "deployer"), "it is in the spoke's");
  const rec = m.reconcilers.find((r) => r.object.object.metadata.name === "spoke-rbac")!;
  assert.equal(rec.clusterId, "clusters/hub", "the Kustomization itself lives on the hub");
  assert.equal(rec.identity.source, "kubeconfig");
  assert.deepEqual(rec.remote, { clusterId: spokeId, kind: "Secret", namespace: "spoke", name: "spoke-kubeconfig", key: null });

  const r = await audit(dir);
  const about = (id: string): AuditReport["findings"] => r.findings.filter((f) => f.ruleId === id);
  assert.deepEqual(about("kustomization-missing-service-account").map((f) => f.resource?.name), ["flux-system"], "only the hub's own sync Kustomization");
  assert.ok(!r.findings.some((f) => f.resource?.name === "spoke-rbac" && /applied as flux-system\/kustomize-controller/.test(f.message)));
  assert.deepEqual(about("flux-secrets-readable"), [], "the spoke runs no Flux: its flux-system holds nothing");
  const holder = about("remote-cluster-credentials-readable");
  assert.equal(holder.length, 1);
  assert.equal(holder[0]!.severity, "info");
  assert.match(holder[0]!.message, /Secret spoke\/spoke-kubeconfig holds the credentials of remote cluster clusters\/hub -> spoke\/spoke-kubeconfig/);
  const row = r.posture.find((p) => p.id === "flux-sa-privilege-escalation")!;
  assert.ok(row.notAssessed.some((g) => g.reason === "remote-cluster" && g.what.includes("identity in Secret spoke/spoke-kubeconfig")), JSON.stringify(row));
});

test("remote apply (field case 17): what the kubeconfig Kustomization applies goes to the remote cluster", async () => {
  const dir = fixture("remote-apply-no-sa");
  const m = await model(dir);
  const remote = "clusters/prod -> fleet/edge-01-kubeconfig";
  objectIn(m, remote, "ConfigMap", "kube-system", "addons-settings");
  assert.ok(!m.objects.some((o) => o.clusterId === "clusters/prod" && o.object.metadata.name === "addons-settings"));
  const r = await audit(dir);
  assert.ok(!r.findings.some((f) => f.ruleId === "kustomization-missing-service-account" && f.resource?.name === "edge-01-addons"), "no 'applied as flux-system/kustomize-controller'");
  assert.ok(!r.findings.some((f) => /applied as flux-system\/kustomize-controller/.test(f.message)));
  assert.ok(r.findings.some((f) => f.ruleId === "remote-cluster-credentials-readable" && f.resource?.name === "edge-01-addons"));
});

test("remote apply (variant): the impersonated account is judged with the REMOTE cluster's RBAC; a hub subject reading the kubeconfig is high", async () => {
  const r = await audit(RULE_FIXTURE);
  const over = r.findings.filter((f) => f.ruleId === "reconciler-sa-overprivileged");
  assert.equal(over.length, 1);
  assert.equal(over[0]!.severity, "critical");
  assert.match(over[0]!.message, /ServiceAccount edge\/deployer, which Kustomization edge\/edge-apps runs as on remote cluster clusters\/hub -> edge\/edge-admin, holds cluster-admin/);
  assert.deepEqual(over[0]!.context.clusters, ["clusters/hub -> edge/edge-admin"]);
  assert.ok(!r.findings.some((f) => f.ruleId === "helmrelease-missing-service-account"), "the HelmRelease acts as the kubeconfig's identity, not as helm-controller");
  assert.ok(!r.findings.some((f) => f.ruleId === "flux-secrets-readable"));
  assert.ok(r.findings.some((f) => f.ruleId === "remote-cluster-credentials-readable" && f.severity === "high" && f.message.startsWith("User alice@example.com")));
  const helm = r.posture.find((p) => p.id === "helm-values-injected")!;
  assert.notEqual(helm.verdict, "defended", "a HelmRelease running as a remote kubeconfig's identity is no positive evidence");
});

// --- per-cluster values ------------------------------------------------------------------

test("per-cluster values (field layout 01): each cluster substitutes its own ConfigMap; staging is never judged with production's branch", async () => {
  const dir = fixture("per-cluster-values");
  const m = await model(dir);
  assert.equal(str(objectIn(m, "clusters/prod", "GitRepository", "app", "app").object, "spec", "ref", "branch"), "production");
  assert.equal(str(objectIn(m, "clusters/staging", "GitRepository", "app", "app").object, "spec", "ref", "branch"), "main");
  assert.equal(str(objectIn(m, "clusters/staging", "Kustomization", "app", "app").object, "spec", "path"), "./deploy/staging");
  const r = await audit(dir);
  assert.deepEqual(r.findings.filter((f) => f.ruleId === "shared-flux-multi-environment"), []);
  const unverified = r.findings.filter((f) => f.ruleId === "gitrepository-unverified" && f.resource?.name === "app");
  assert.deepEqual(
    unverified.map((f) => [f.context.clusters.join(), /branch (\w+)/.exec(f.message)?.[1]]).sort(),
    [
      ["clusters/prod", "production"],
      ["clusters/staging", "main"],
    ],
  );
});

test("per-cluster values (variant): Secret stringData and spec.postBuild.substitute, per cluster", async () => {
  const m = await model(fixture("per-cluster-values-secret"));
  const dev = objectIn(m, "clusters/dev", "GitRepository", "web", "web").object;
  const prod = objectIn(m, "clusters/prod", "GitRepository", "web", "web").object;
  assert.equal(str(dev, "spec", "ref", "branch"), "develop");
  assert.equal(str(prod, "spec", "ref", "branch"), "release");
  assert.equal(dev.metadata.labels?.["region"], "us-east-1");
  assert.equal(prod.metadata.labels?.["region"], "eu-west-1", "spec.postBuild.substitute wins over substituteFrom");
  assert.equal(str(objectIn(m, "clusters/dev", "Kustomization", "web", "web").object, "spec", "path"), "./deploy/dev");
});

for (const [name, from, to] of [
  ["per-cluster-values", "clusters/prod", "clusters/zprod"],
  ["per-cluster-values-secret", "clusters/dev", "clusters/zdev"],
] as const) {
  test(`per-cluster values: renaming ${from} to sort last changes no result (${name})`, async () => {
    const { before, after } = await permuted(name, from, to);
    assert.deepEqual(after, before);
  });
}

// --- parent patches and locations ----------------------------------------------------------

test("parent patches (field layout 02): with no cluster entrypoint, the child is rendered with the patches its parent gave it", async () => {
  const r = await audit(fixture("parent-patch-no-entrypoint"));
  assert.deepEqual(r.findings.filter((f) => f.ruleId === "helmrelease-no-remediation"), [], "the nested HelmRelease patch gives remediation");
  const hr = r.findings.filter((f) => f.resource?.kind === "HelmRelease");
  assert.ok(hr.length > 0);
  for (const f of hr) assert.equal(f.location?.file, "apps/web/release.yaml", `${f.ruleId} is located at the HelmRelease's own file`);
});

test("locations (field layout 06): findings about a patched object point at its own file, not at the parent's patch", async () => {
  const r = await audit(fixture("location-parent-patch"));
  const web = r.findings.filter((f) => f.resource?.name === "web");
  assert.deepEqual(web.map((f) => [f.ruleId, f.location?.file, f.location?.line]).sort(), [
    ["helm-chart-unverified", "apps/web/release.yaml", 6],
    ["helmrelease-missing-service-account", "apps/web/release.yaml", 21],
  ]);
  for (const f of web) assert.doesNotMatch(f.message, /set by the patch/, "the patch did not change these fields");
});

test("locations (variant): a field a parent's patch set is located at the object, and the message names the patch's line", async () => {
  const r = await audit(fixture("location-parent-patch-sets-field"));
  const f = r.findings.find((x) => x.ruleId === "helmrelease-privileged-values");
  assert.ok(f);
  assert.deepEqual(f.location, { file: "apps/web/release.yaml", line: 21, column: 1 });
  assert.match(f.message, /\(set by the patch at clusters\/prod\/flux-system\.yaml:52\)$/);
});

test("locations (variant): a value from a generated values ConfigMap points into the values file", async () => {
  const r = await audit(fixture("location-generated-values"));
  const f = r.findings.find((x) => x.ruleId === "helmrelease-privileged-values");
  assert.ok(f);
  assert.deepEqual(f.location, { file: "apps/web/web-values.yaml", line: 5, column: 3 });
  assert.equal(f.pointer, "/data/values.yaml/securityContext/privileged");
});

// --- the Flux version a cluster declares ---------------------------------------------------

test("declared Flux version (field layout 07): fluxcd/flux2 at v0.31.4; removed APIs are upgrade debt, once per apiVersion; gotk_reconcile_condition works", async () => {
  const dir = fixture("declared-flux-v0-31");
  const m = await model(dir);
  const c = m.clusters.find((x) => x.id === "cluster")!;
  assert.equal(c.fluxVersion?.declared, "v0.31.4");
  assert.equal(c.fluxVersion?.evidence.kind, "flux2-source");
  assert.equal(c.fluxVersion?.evidence.file, "cluster/flux-system/flux.yaml");
  const r = await audit(dir);
  const removed = r.findings.filter((f) => f.ruleId === "flux-api-removed");
  assert.equal(removed.length, 2, removed.map((f) => f.message).join("\n"));
  for (const f of removed) {
    assert.equal(f.severity, "low");
    assert.match(f.message, /^upgrade debt: 2 object\(s\) use (source|kustomize)\.toolkit\.fluxcd\.io\/v1beta2, which Flux v0\.31\.4 \(declared by GitRepository flux-system\/flux-installation/);
    assert.doesNotMatch(f.message, /apply fails/);
  }
  assert.deepEqual(r.findings.filter((f) => f.ruleId === "no-failure-alerting"), [], "gotk_reconcile_condition is emitted on v0.31.4");
});

test("declared Flux version (variant): FluxInstance distribution 2.4.x", async () => {
  const r = await audit(fixture("declared-flux-instance-2-4"));
  const removed = r.findings.filter((f) => f.ruleId === "flux-api-removed");
  assert.equal(removed.length, 1);
  assert.match(removed[0]!.message, /upgrade debt: 2 object\(s\) use helm\.toolkit\.fluxcd\.io\/v2beta2, which Flux v2\.4 \(declared by FluxInstance flux-system\/flux spec\.distribution\.version 2\.4\.x\) still serves but Flux v2\.8 removed.*HelmRelease apps\/podinfo, HelmRelease apps\/redis$/);
  assert.ok(!r.findings.some((f) => f.ruleId === "no-failure-alerting" && /gotk_reconcile_condition/.test(f.message)));
});

test("declared Flux version (variant): gotk-components.yaml header v2.8.1; what v2.8 removed fails, what v2.9 removed is debt; the old metric is dead", async () => {
  const r = await audit(fixture("declared-flux-gotk-header-2-8"));
  const removed = r.findings.filter((f) => f.ruleId === "flux-api-removed").map((f) => [f.severity, f.message.split(",")[0]]);
  assert.deepEqual(removed.sort(), [
    ["high", "OCIRepository flux-system/web-config uses source.toolkit.fluxcd.io/v1beta2"],
    ["low", "upgrade debt: 1 object(s) use image.toolkit.fluxcd.io/v1beta2"],
  ]);
  const dead = r.findings.find((f) => f.ruleId === "no-failure-alerting" && /relies on gotk_reconcile_condition/.test(f.message));
  assert.ok(dead);
  assert.match(dead.message, /this cluster declares Flux v2\.8\.1: clusters\/prod\/flux-system\/gotk-components\.yaml header 'Flux Version: v2\.8\.1'/);
});

test("declared Flux version: none declared keeps today's judgement (Flux v2.9) and says so", async () => {
  const dir = mkdtempSync(join(tmpdir(), "fg-noversion-"));
  cpSync(fixture("declared-flux-gotk-header-2-8"), dir, { recursive: true });
  const gotk = join(dir, "clusters/prod/flux-system/gotk-components.yaml");
  writeFileSync(gotk, readFileSync(gotk, "utf8").replace("# Flux Version: v2.8.1\n", "").replace("    app.kubernetes.io/version: v2.8.1\n", ""));
  const m = await model(dir);
  assert.ok(m.clusters.every((c) => c.fluxVersion === null));
  const r = await audit(dir);
  const removed = r.findings.filter((f) => f.ruleId === "flux-api-removed");
  assert.equal(removed.length, 2);
  for (const f of removed) {
    assert.equal(f.severity, "high");
    assert.match(f.message, /which Flux v2\.9 no longer serves .*the apply fails.*\(no Flux version is declared in the repository; judged against Flux v2\.9\)$/);
  }
  assert.ok(r.findings.some((f) => f.ruleId === "no-failure-alerting" && f.message.includes("(no Flux version is declared in the repository; judged against Flux v2.9)")));
});
