/**
 * End-to-end tests against a real control plane: etcd, kube-apiserver, source-controller and
 * kustomize-controller (Flux 2.9) built from their Go modules and run as local processes
 * (test/e2e/cluster.sh), a loopback Git server, real gpg signatures, and the real fluxguard
 * CLI. Run with `npm run test:e2e`; the first run builds the binaries (10–30 minutes).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { parseAllDocuments, stringify } from "yaml";
import { E2ECluster, materialize, pushTo } from "./harness.js";
import { Gpg, TestRepo, cleanup as cleanupKeys, type GpgKey, type Signing } from "../verify/testkit.js";
import { fixturePath, REPO_ROOT } from "../testing/paths.js";
import { runCli } from "../testing/cli.js";
import { compileSchema, errorsOf, sarifValidator } from "../testing/schemas.js";
import { ALL_RULES } from "../rules/index.js";
import { findFluxOperator } from "../loader/flux-operator.js";
import type { AuditReport } from "../engine/report.js";

const CANARY = "fluxguard-e2e-canary-7f3a9c1e5b";

/** Findings as `Kind/namespace/name -> sorted rule ids`, for the objects in `keep`. */
function rulesPerObject(report: AuditReport, keep: Set<string>, excluded: Set<string>): Map<string, string[]> {
  const out = new Map<string, Set<string>>();
  for (const f of report.findings) {
    if (!f.resource || excluded.has(f.ruleId)) continue;
    const key = `${f.resource.kind}/${f.resource.namespace ?? ""}/${f.resource.name}`;
    if (!keep.has(key)) continue;
    const s = out.get(key) ?? new Set<string>();
    s.add(f.ruleId);
    out.set(key, s);
  }
  return new Map([...out].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, [...v].sort()]));
}

/** A GitRepository in flux-system whose commits must be signed by a key in the `signers` Secret. */
function verifiedSource(name: string, url: string, extra = ""): string {
  return `apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: ${name}, namespace: flux-system}
spec:
  interval: 10m
  url: ${url}
  ref: {branch: main}
  verify: {mode: HEAD, secretRef: {name: signers}}
${extra}`;
}

function parseReport(stdout: string): AuditReport {
  return JSON.parse(stdout) as AuditReport;
}

describe("fluxguard against a real Kubernetes control plane and real Flux controllers", () => {
  let cluster: E2ECluster;
  let scratch: string;
  let signer: GpgKey;
  let signing: Signing;

  before(() => {
    scratch = mkdtempSync(join(tmpdir(), "fluxguard-e2e-work-"));
    cluster = E2ECluster.start();
    const gpg = new Gpg();
    signer = gpg.genKey("E2E Signer", "signer@example.invalid", "ed25519");
    signing = { format: "openpgp", gpg, key: signer.fingerprint };
  });

  after(() => {
    cluster?.stop();
    cleanupKeys();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it("malicious commit: Flux rejects the unsigned commit, keeps the last good revision, and audit --cluster reports it", async () => {
    const keyFile = join(scratch, "signer.asc");
    writeFileSync(keyFile, signer.armored);
    cluster.kc(["-n", "flux-system", "create", "secret", "generic", "signers", `--from-file=signer.asc=${keyFile}`]);
    // A Git credential Secret holding a canary: fluxguard reads its key names, never its values.
    cluster.kc(["-n", "flux-system", "create", "secret", "generic", "signed-auth", "--from-literal=username=e2e", `--from-literal=password=${CANARY}`]);

    const repo = new TestRepo(join(scratch, "signed"));
    const push = (): void => pushTo(repo, `${cluster.gitUrl}/signed.git`);
    const app = (value: string): Record<string, string> => ({
      "deploy/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [namespace.yaml, configmap.yaml]\n",
      "deploy/namespace.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: e2e-signed}\n",
      "deploy/configmap.yaml": `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app, namespace: e2e-signed}\ndata: {value: "${value}"}\n`,
    });
    const good = repo.commit("signed good commit", app("good"), signing);
    push();
    cluster.apply(`${verifiedSource("signed", `${cluster.gitUrl}/signed.git`, "  secretRef: {name: signed-auth}\n")}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: signed, namespace: flux-system}
spec:
  interval: 10m
  path: ./deploy
  prune: true
  sourceRef: {kind: GitRepository, name: signed}
`);
    const verified = await cluster.waitCondition("gitrepository", "flux-system", "signed", "SourceVerified", "True");
    assert.match(verified.message, new RegExp(signer.keyId, "i"), "the verified message names the signing key");
    await cluster.waitCondition("kustomization", "flux-system", "signed", "Ready", "True");
    const ks = () => cluster.getJson("kustomization", "flux-system", "signed")?.["status"] as Record<string, string>;
    assert.match(ks()["lastAppliedRevision"] ?? "", new RegExp(good));

    // fluxguard's own view while everything is healthy: no verification failure.
    const healthy = parseReport((await cluster.fluxguard(["audit", "--cluster", "--format", "json"])).stdout);
    assert.equal(healthy.target.kind, "cluster");
    assert.ok(!healthy.findings.some((f) => f.ruleId === "source-verification-failed"), "no verification failure while HEAD is signed");

    // The attack: an unsigned commit on top of the signed one.
    const bad = repo.commit("unsigned commit", app("evil"), null);
    push();
    cluster.requestReconcile("gitrepository", "flux-system", "signed");
    const failed = await cluster.waitCondition("gitrepository", "flux-system", "signed", "SourceVerified", "False");
    assert.equal(failed.reason, "InvalidCommitSignature", "Flux's own reason code");
    assert.match(failed.message, new RegExp(bad), "the message names the unsigned commit");
    const artifact = (cluster.getJson("gitrepository", "flux-system", "signed")?.["status"] as { artifact?: { revision?: string } }).artifact;
    assert.match(artifact?.revision ?? "", new RegExp(good), "the artifact stays at the signed revision");
    cluster.requestReconcile("kustomization", "flux-system", "signed");
    await cluster.waitCondition("kustomization", "flux-system", "signed", "Ready", "True", () => true, 60_000);
    assert.match(ks()["lastAppliedRevision"] ?? "", new RegExp(good), "the Kustomization keeps the last good revision");
    assert.equal(cluster.kc(["-n", "e2e-signed", "get", "configmap", "app", "-o", "jsonpath={.data.value}"]), "good", "the cluster still has the signed content");

    // fluxguard audit --cluster sees it, in every format, and never prints the canary.
    const json = await cluster.fluxguard(["audit", "--cluster", "--format", "json"]);
    assert.equal(json.code, 1, `high findings exit 1; stderr: ${json.stderr}`);
    const report = parseReport(json.stdout);
    const finding = report.findings.find((f) => f.ruleId === "source-verification-failed");
    assert.ok(finding, "source-verification-failed is reported");
    assert.deepEqual(finding.resource && { kind: finding.resource.kind, namespace: finding.resource.namespace, name: finding.resource.name }, {
      kind: "GitRepository",
      namespace: "flux-system",
      name: "signed",
    });
    assert.match(finding.message, /InvalidCommitSignature/);
    assert.ok(report.live, "the live analysis is part of the report");
    const text = await cluster.fluxguard(["audit", "--cluster", "--no-color"]);
    assert.match(text.stdout, /source-verification-failed/);
    assert.match(text.stdout, /GitRepository\/flux-system\/signed|flux-system\/signed/);
    assert.match(text.stdout, /in \d+ objects from cluster context \S+(?:, \d+ clusters?)?; failing at high or above: yes/);
    const sarif = await cluster.fluxguard(["audit", "--cluster", "--format", "sarif"]);
    assert.match(sarif.stdout, /source-verification-failed/);
    // Both machine formats of a live audit are what their schemas promise.
    const reportSchema = compileSchema("audit-report.schema.json");
    assert.ok(reportSchema(JSON.parse(json.stdout)), errorsOf(reportSchema));
    const sarifSchema = sarifValidator();
    assert.ok(sarifSchema(JSON.parse(sarif.stdout)), errorsOf(sarifSchema));
    for (const r of [json, text, sarif]) {
      assert.ok(!(r.stdout + r.stderr).includes(CANARY), "a Secret value never reaches the output");
    }
  });

  it("tenant escalation: RBAC forbids it, the generated admission policy denies it, the platform may do it", async () => {
    // The manifests `fluxguard generate` writes for one tenant.
    const gen = join(scratch, "generated");
    writeFileSync(
      join(scratch, "fleet.yaml"),
      `apiVersion: fluxguard.io/v1alpha1
kind: FleetSpec
platform:
  repository: ssh://git@github.com/example/fleet
clusters:
  - name: e2e
tenants:
  - name: team-a
    repository: ssh://git@github.com/example/team-a-apps
    allowedRegistries: [ghcr.io/example]
`,
    );
    const g = await runCli(["generate", join(scratch, "fleet.yaml"), "--out", gen]);
    assert.equal(g.code, 0, g.stderr);
    const tenantDir = join(gen, "tenants", "e2e", "team-a");
    cluster.kc(["apply", "-f", join(tenantDir, "namespace.yaml"), "-f", join(tenantDir, "rbac.yaml"), "-f", join(gen, "platform", "policies", "admission-policies.yaml")]);
    const keyFile = join(scratch, "team-a-signer.asc");
    writeFileSync(keyFile, signer.armored);
    cluster.kc(["-n", "team-a", "create", "secret", "generic", "team-a-signing-keys", `--from-file=signer.asc=${keyFile}`]);

    // The generated sync, with the URL of the loopback Git server (HTTP, so no deploy key).
    const sync = parseAllDocuments(readFileSync(join(tenantDir, "sync.yaml"), "utf8")).map((d) => d.toJS() as { kind: string; spec: Record<string, unknown> });
    const gitRepo = sync.find((d) => d.kind === "GitRepository")!;
    gitRepo.spec["url"] = `${cluster.gitUrl}/team-a.git`;
    delete gitRepo.spec["secretRef"];
    const kustomization = sync.find((d) => d.kind === "Kustomization")!;
    assert.equal(kustomization.spec["serviceAccountName"], "team-a-reconciler");

    const tenantRepo = new TestRepo(join(scratch, "team-a"));
    tenantRepo.commit("tenant grants itself cluster-admin", {
      "escalate.yaml": `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: team-a-escalate}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects:
  - {kind: ServiceAccount, name: team-a-reconciler, namespace: team-a}
`,
    }, signing);
    pushTo(tenantRepo, `${cluster.gitUrl}/team-a.git`);
    cluster.apply(sync.map((d) => stringify(d)).join("---\n"));
    await cluster.waitCondition("gitrepository", "team-a", "team-a", "SourceVerified", "True");

    // 1. The API server's RBAC forbids it for the impersonated tenant account.
    const rbac = await cluster.waitCondition("kustomization", "team-a", "team-a", "Ready", "False", (c) => /forbidden/i.test(c.message));
    assert.match(rbac.message, /system:serviceaccount:team-a:team-a-reconciler/);
    assert.match(rbac.message, /clusterrolebindings/);
    assert.equal(cluster.kubectl(["get", "clusterrolebinding", "team-a-escalate"]).code, 1, "no ClusterRoleBinding was created");

    // 2. Defence in depth: someone over-grants the tenant's RBAC by mistake; the generated
    // ValidatingAdmissionPolicy still denies it, with its message.
    cluster.apply(`apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: e2e-mistaken-grant}
rules:
  - {apiGroups: [rbac.authorization.k8s.io], resources: [clusterrolebindings], verbs: [get, list, watch, create, update, patch, delete]}
  - {apiGroups: [rbac.authorization.k8s.io], resources: [clusterroles], verbs: [bind], resourceNames: [cluster-admin]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: e2e-mistaken-grant}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: e2e-mistaken-grant}
subjects:
  - {kind: ServiceAccount, name: team-a-reconciler, namespace: team-a}
`);
    const can = cluster.kc(["auth", "can-i", "create", "clusterrolebindings", "--as=system:serviceaccount:team-a:team-a-reconciler"]).trim();
    assert.equal(can, "yes", "RBAC now allows it");
    cluster.requestReconcile("kustomization", "team-a", "team-a");
    const vap = await cluster.waitCondition("kustomization", "team-a", "team-a", "Ready", "False", (c) => /ValidatingAdmissionPolicy|may not create or change cluster-scoped/.test(c.message));
    assert.match(vap.message, /tenant reconcilers may not create or change cluster-scoped objects/);
    assert.match(vap.message, /fluxguard-tenant-cluster-scope/);
    assert.equal(cluster.kubectl(["get", "clusterrolebinding", "team-a-escalate"]).code, 1, "still no ClusterRoleBinding");

    // The workload policies deny what RBAC allows: a privileged Deployment, an image from elsewhere.
    const deploy = (image: string, privileged: boolean): string => `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: team-a}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
      containers:
        - name: web
          image: ${image}
          securityContext: ${privileged ? "{privileged: true}" : "{allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}"}
`;
    const asTenant = ["--as=system:serviceaccount:team-a:team-a-reconciler", "apply", "--dry-run=server", "-f", "-"];
    const privileged = cluster.kubectl(asTenant, deploy("ghcr.io/example/web:1.0.0", true));
    assert.notEqual(privileged.code, 0);
    assert.match(privileged.stderr, /tenant containers may not be privileged/);
    const foreign = cluster.kubectl(asTenant, deploy("docker.io/evil/miner:1.0.0", false));
    assert.notEqual(foreign.code, 0);
    assert.match(foreign.stderr, /tenant images must come from the tenant's allowed registries/);
    const fine = cluster.kubectl(asTenant, deploy("ghcr.io/example/web:1.0.0", false));
    assert.equal(fine.code, 0, `a compliant Deployment is admitted: ${fine.stderr}`);

    // 3. The platform's Kustomization applies the same object.
    cluster.apply(`${verifiedSource("platform-team-a", `${cluster.gitUrl}/team-a.git`)}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: platform-team-a, namespace: flux-system}
spec:
  interval: 10m
  path: ./
  prune: false
  sourceRef: {kind: GitRepository, name: platform-team-a}
`);
    await cluster.waitCondition("kustomization", "flux-system", "platform-team-a", "Ready", "True");
    assert.equal(cluster.kubectl(["get", "clusterrolebinding", "team-a-escalate"]).code, 0, "the platform created the ClusterRoleBinding");
  });

  it("Helm values injection: a privileged value reaches the cluster through helm-controller; the tenant policy stops it", async () => {
    // A chart in Git (source-controller builds it), whose values flow into the pod spec.
    const charts = new TestRepo(join(scratch, "charts"));
    charts.commit(
      "web chart",
      {
        "charts/web/Chart.yaml": "apiVersion: v2\nname: web\nversion: 1.0.0\n",
        "charts/web/values.yaml": "image: ghcr.io/example/web:1.0.0\nsecurityContext: {}\n",
        "charts/web/templates/deploy.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
spec:
  selector: {matchLabels: {app: {{ .Release.Name }}}}
  template:
    metadata: {labels: {app: {{ .Release.Name }}}}
    spec:
      securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
      containers:
        - name: web
          image: {{ .Values.image }}
          securityContext: {{ toJson .Values.securityContext }}
`,
      },
      signing,
    );
    pushTo(charts, `${cluster.gitUrl}/charts.git`);
    const release = (namespace: string, extra: string): string => `apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: web, namespace: ${namespace}}
spec:
  interval: 10m
  install: {disableWait: true}
  chart:
    spec:
      chart: ./charts/web
      sourceRef: {kind: GitRepository, name: charts, namespace: flux-system}
  values:
    securityContext: {privileged: true}
${extra}`;
    cluster.apply(`${verifiedSource("charts", `${cluster.gitUrl}/charts.git`)}
---
apiVersion: v1
kind: Namespace
metadata: {name: apps}
---
${release("apps", "")}`);
    // 1. No service account: helm-controller installs it as itself, and the value lands.
    await cluster.waitCondition("helmrelease", "apps", "web", "Ready", "True");
    const deploy = cluster.getJson("deployment", "apps", "web") as { metadata: { labels: Record<string, string> }; spec: { template: { spec: { containers: Array<{ securityContext?: { privileged?: boolean } }> } } } };
    assert.equal(deploy.spec.template.spec.containers[0]?.securityContext?.privileged, true, "the injected value is in the cluster");
    assert.equal(deploy.metadata.labels["helm.toolkit.fluxcd.io/name"], "web");
    const r = await cluster.fluxguard(["audit", "--cluster", "--format", "json"]);
    const findings = parseReport(r.stdout).findings;
    const on = (kind: string, rule: string) => findings.find((f) => f.ruleId === rule && f.resource?.kind === kind && f.resource.namespace === "apps" && f.resource.name === "web");
    assert.ok(on("HelmRelease", "helmrelease-privileged-values"), "the values are flagged");
    assert.ok(on("HelmRelease", "helmrelease-missing-service-account"), "and the missing service account");
    const live = on("Deployment", "workload-privileged");
    assert.ok(live, "the live workload is flagged");
    assert.match(live.message, /applied by HelmRelease apps\/web/);

    // 2. The same release as the generated tenant's reconciler: the tenant's workload policy denies it.
    cluster.apply(release("team-a", "  serviceAccountName: team-a-reconciler\n"));
    const denied = await cluster.waitCondition("helmrelease", "team-a", "web", "Ready", "False", (c) => /may not be privileged|denied/.test(c.message), 180_000);
    assert.match(denied.message, /tenant containers may not be privileged/);
    assert.equal(cluster.kubectl(["-n", "team-a", "get", "deployment", "web"]).code, 1, "nothing was installed");
  });

  it("parity: audit --cluster on a cluster Flux loaded from a fixture repository matches audit of the files", async () => {
    const dir = join(scratch, "parity");
    const vars = { E2E_GIT_URL: cluster.gitUrl, E2E_CANARY: CANARY };
    materialize(fixturePath(import.meta.url, "fixtures", "parity"), dir, vars);
    const repo = new TestRepo(dir);
    repo.commit("parity fixture", {}, null);
    pushTo(repo, `${cluster.gitUrl}/parity.git`);
    cluster.kc(["apply", "-f", join(dir, "clusters", "e2e", "flux-system", "gotk-sync.yaml")]);
    await cluster.waitCondition("kustomization", "flux-system", "flux-system", "Ready", "True");
    await cluster.waitCondition("kustomization", "parity-tenant", "parity-tenant", "Ready", "True");
    assert.equal(cluster.kubectl(["get", "clusterrolebinding", "parity-escalate"]).code, 0, "Flux applied the tenant's content");

    const files = await runCli(["audit", dir, "--format", "json"]);
    assert.equal(files.code, 1, files.stderr);
    const live = await cluster.fluxguard(["audit", "--cluster", "--format", "json"]);
    assert.equal(live.code, 1, live.stderr);
    for (const r of [files, live]) assert.ok(!(r.stdout + r.stderr).includes(CANARY), "no Secret value in either report");
    const fileReport = parseReport(files.stdout);
    const liveReport = parseReport(live.stdout);

    // Rules that by their nature see only one side: declared by the rule (meta.modes), plus
    // the file-syntax rules that have nothing to look at in an API server's objects.
    const oneSided = new Set<string>(ALL_RULES.filter((r) => r.meta.modes && r.meta.modes.length < 2).map((r) => r.meta.id));
    for (const id of ["parse-error", "suppression-invalid", "remote-kustomize-base", "flux-schema-violation", "flux-api-removed"]) oneSided.add(id);
    assert.ok(oneSided.has("plaintext-secret-in-git") && oneSided.has("source-verification-failed"));

    const inFixture = new Set(
      fileReport.findings.flatMap((f) => (f.resource ? [`${f.resource.kind}/${f.resource.namespace ?? ""}/${f.resource.name}`] : [])),
    );
    const fromFiles = rulesPerObject(fileReport, inFixture, oneSided);
    const fromCluster = rulesPerObject(liveReport, inFixture, oneSided);
    assert.ok(fromFiles.size >= 8, `the fixture exercises many objects: ${[...fromFiles.keys()].join(", ")}`);
    assert.deepEqual(Object.fromEntries(fromCluster), Object.fromEntries(fromFiles));
    // And the one-sided ones really are one-sided here.
    assert.ok(fileReport.findings.some((f) => f.ruleId === "plaintext-secret-in-git"), "the files report the plain-text Secret");
    assert.ok(!liveReport.findings.some((f) => f.ruleId === "plaintext-secret-in-git"), "the cluster cannot tell where a Secret came from");
  });

  it("audit --cluster: the live RBAC table comes from SubjectAccessReviews", async () => {
    // After the parity fixture: parity-tenant/default is bound to cluster-admin by the tenant's
    // own ClusterRoleBinding, and parity-tenant/reconciler is namespace-admin.
    const r = await cluster.fluxguard(["audit", "--cluster", "--format", "json"]);
    const live = parseReport(r.stdout).live;
    assert.ok(live);
    const row = live.identities.find((i) => i.identity === "flux-system/kustomize-controller");
    assert.ok(row, `kustomize-controller is a reconciler identity: ${JSON.stringify(live.identities.map((i) => i.identity))}`);
    assert.ok(Object.values(row.allowed).some(Boolean), "the API server grants kustomize-controller cluster-wide rights (cluster-reconciler binding)");
    const scoped = live.identities.find((i) => i.identity === "parity-tenant/reconciler");
    assert.ok(scoped, "parity-tenant/reconciler is a reconciler identity");
    assert.ok(!Object.values(scoped.allowed).some(Boolean), `a namespace-admin has no cluster-wide rights: ${JSON.stringify(scoped.allowed)}`);
    assert.ok(live.secretReaders.includes("ServiceAccount:parity-tenant:default"), `cluster-admin via the tenant's binding reads Flux Secrets: ${live.secretReaders.join(", ")}`);
    assert.ok(!live.secretReaders.includes("ServiceAccount:parity-tenant:reconciler"), "a namespace-admin elsewhere does not");
    const creator = live.clusterAdminCreators.find((c) => c.subject === "ServiceAccount:parity-tenant:reconciler");
    assert.ok(creator, `no lockdown: a tenant that may create Kustomizations gets cluster-admin through the controller: ${JSON.stringify(live.clusterAdminCreators)}`);
    assert.deepEqual(creator.namespaces, ["parity-tenant"], "only where its RoleBinding is");
    const admin = live.clusterAdminCreators.find((c) => c.subject === "ServiceAccount:parity-tenant:default");
    assert.deepEqual(admin?.namespaces, ["*"], "cluster-admin through a ClusterRoleBinding: every namespace, in one answer");
    const text = await cluster.fluxguard(["audit", "--cluster", "--no-color"]);
    assert.match(text.stdout, /SubjectAccessReview/i, "the text report shows the live table");
    assert.match(text.stdout, /ServiceAccount:parity-tenant:default|parity-tenant\/default/);
  });

  it("lockdown flags: no service account means the namespace's default account; cross-namespace sources are denied", async () => {
    cluster.restartControllers(true);
    const ks = (name: string, namespace: string, extra: string, source: string): string => `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: ${name}, namespace: ${namespace}}
spec:
  interval: 10m
  path: ./
  prune: false
  sourceRef: ${source}
${extra}`;
    // --default-service-account=default: a Kustomization without serviceAccountName is no longer cluster-admin.
    cluster.apply(ks("lockdown-default", "flux-system", "", "{kind: GitRepository, name: platform-team-a}"));
    const denied = await cluster.waitCondition("kustomization", "flux-system", "lockdown-default", "Ready", "False", (c) => /forbidden/i.test(c.message));
    assert.match(denied.message, /system:serviceaccount:flux-system:default/);
    // The platform opts in to its own account explicitly.
    cluster.apply(ks("lockdown-platform", "flux-system", "  serviceAccountName: kustomize-controller\n", "{kind: GitRepository, name: platform-team-a}"));
    await cluster.waitCondition("kustomization", "flux-system", "lockdown-platform", "Ready", "True");
    // --no-cross-namespace-refs: a tenant may not use the platform's source.
    cluster.apply(ks("borrow", "team-a", "  serviceAccountName: team-a-reconciler\n", "{kind: GitRepository, name: platform-team-a, namespace: flux-system}"));
    const cross = await cluster.waitCondition("kustomization", "team-a", "borrow", "Ready", "False", (c) => c.reason !== "Progressing" && c.reason !== "");
    assert.equal(cross.reason, "AccessDenied", cross.message);
    cluster.restartControllers(false);
  });

  it("generate: every object of the generated fleets is accepted by the real API server and the CRD schemas", async () => {
    type Obj = { kind: string; apiVersion: string; metadata: { name: string } };
    const generated = async (spec: string): Promise<Obj[]> => {
      const out = join(scratch, `generated-${spec}`);
      const g = await runCli(["generate", join(REPO_ROOT, "examples", "specs", `${spec}.yaml`), "--out", out]);
      assert.equal(g.code, 0, g.stderr);
      const objects: Obj[] = [];
      const walk = (d: string): void => {
        for (const name of readdirSync(d).sort()) {
          const p = join(d, name);
          if (statSync(p).isDirectory()) walk(p);
          else if (/\.ya?ml$/.test(name) && name !== "kustomization.yaml") {
            for (const doc of parseAllDocuments(readFileSync(p, "utf8"))) {
              const o = doc.toJS() as Obj | null;
              if (o?.kind) objects.push(o);
            }
          }
        }
      };
      walk(out);
      return objects;
    };
    const toYaml = (list: Obj[]): string => list.map((o) => stringify(o)).join("---\n");
    const kinds = new Set<string>();
    for (const spec of ["multi-tenant", "flux-operator"]) {
      const objects = await generated(spec);
      // Prometheus Operator's CRDs are not part of Flux: its kinds (the PrometheusRule, checked by promtool
      // in the unit tests, and the monitor's PodMonitor) are left out.
      const checked = objects.filter((o) => !o.apiVersion.startsWith("monitoring.coreos.com/"));
      assert.ok(objects.some((o) => o.kind === "PrometheusRule"), spec);
      for (const o of objects.filter((x) => !checked.includes(x))) assert.ok(["PrometheusRule", "PodMonitor"].includes(o.kind), `${spec}: ${o.kind}`);
      for (const o of checked) kinds.add(o.kind);
      // The generated README's prerequisite: kube-prometheus-stack, which owns the namespace the
      // PrometheusRule goes to (the spec's monitoring namespace). Every other namespace is generated.
      const monitoring = (objects.find((o) => o.kind === "PrometheusRule")?.metadata as { namespace?: string } | undefined)?.namespace;
      if (monitoring && cluster.kubectl(["get", "namespace", monitoring]).code !== 0) cluster.kc(["create", "namespace", monitoring]);
      cluster.kc(["apply", "-f", "-"], toYaml(checked.filter((o) => o.kind === "Namespace")));
      // Strict field validation: an unknown or misspelled field is an error, not a warning. Server-side
      // apply, as Flux applies (some of these objects exist from earlier tests).
      const rest = checked.filter((o) => o.kind !== "Namespace");
      const dry = cluster.kubectl(["apply", "--server-side", "--force-conflicts", "--field-manager=fluxguard-e2e", "--dry-run=server", "--validate=strict", "-f", "-"], toYaml(rest));
      assert.equal(dry.code, 0, `${spec}: ${dry.stderr}`);
      assert.equal(dry.stderr.trim(), "", `${spec}: no warnings either`);
      assert.equal(dry.stdout.trim().split("\n").length, rest.length, dry.stdout);
    }
    for (const k of ["GitRepository", "OCIRepository", "HelmRepository", "Kustomization", "HelmRelease", "ImageRepository", "ImagePolicy", "Alert", "Provider", "FluxInstance", "ValidatingAdmissionPolicy", "NetworkPolicy"]) {
      assert.ok(kinds.has(k), `the fleets exercise ${k}`);
    }
  });

  it("ResourceSet: what flux-operator build resourceset expands to, applied through the real API server, audits live as it does from the files", async (t) => {
    const tool = findFluxOperator(process.env);
    if (!tool) {
      t.skip("the Flux Operator CLI is not built (npm run build:flux-operator)");
      return;
    }
    const dir = fixturePath(import.meta.url, "..", "loader", "fixtures", "resourceset-fleet", "resourceset");
    // The operator need not run: the CLI lists what the ResourceSet expands to, and the API
    // server (with the Flux Operator's CRDs) takes the ResourceSet and every expanded object.
    const expanded = execFileSync(tool.command, ["build", "resourceset", "-f", join(dir, "tenants.yaml")], { encoding: "utf8" });
    const docs = parseAllDocuments(expanded).map((d) => d.toJS() as { kind: string; metadata: { name: string; namespace?: string } });
    assert.ok(docs.length >= 12, `${docs.length} objects expanded`);
    cluster.kc(["apply", "--server-side", "--field-manager=flux-operator", "-f", join(dir, "tenants.yaml")]);
    cluster.kc(["apply", "--server-side", "--field-manager=flux-operator", "-f", "-"], expanded);
    cluster.kc(["apply", "--server-side", "-f", join(dir, "platform", "tenant-guard.yaml")]);
    for (const d of docs) {
      const args = ["get", d.kind, d.metadata.name, ...(d.metadata.namespace ? ["-n", d.metadata.namespace] : [])];
      assert.equal(cluster.kubectl(args).code, 0, `the API server holds ${d.kind} ${d.metadata.namespace ?? ""}/${d.metadata.name}`);
    }

    const files = await runCli(["audit", dir, "--format", "json"]);
    const live = await cluster.fluxguard(["audit", "--cluster", "--format", "json"]);
    assert.ok(files.code === 1 && live.code === 1, `${files.stderr}\n${live.stderr}`);
    const fileReport = parseReport(files.stdout);
    const liveReport = parseReport(live.stdout);
    assert.equal(fileReport.rendering.fluxOperator?.startsWith("flux-operator "), true, "the files side expanded the ResourceSet");
    const oneSided = new Set<string>(ALL_RULES.filter((r) => r.meta.modes && r.meta.modes.length < 2).map((r) => r.meta.id));
    // Fleet-wide alerting findings hang on an example object, which the earlier tests' objects change.
    for (const id of ["no-failure-alerting", "no-verification-alerting"]) oneSided.add(id);
    const inFleet = new Set(
      fileReport.findings.flatMap((f) => (f.resource && f.resource.kind !== "ResourceSet" ? [`${f.resource.kind}/${f.resource.namespace ?? ""}/${f.resource.name}`] : [])),
    );
    const fromFiles = rulesPerObject(fileReport, inFleet, oneSided);
    const fromCluster = rulesPerObject(liveReport, inFleet, oneSided);
    assert.deepEqual(Object.fromEntries(fromCluster), Object.fromEntries(fromFiles));
    // The findings that matter are there on both sides.
    for (const [key, rule] of [
      ["ClusterRoleBinding//flux-team-a", "reconciler-sa-overprivileged"],
      ["ImageUpdateAutomation/team-a/apps", "image-automation-pushes-to-applied-branch"],
      ["ImageUpdateAutomation/team-b/apps", "image-automation-pushes-to-applied-branch"],
      ["ValidatingAdmissionPolicyBinding//tenant-guard", "admission-policy-tenant-gap"],
    ] as const) {
      assert.ok(fromFiles.get(key)?.includes(rule), `${key}: ${rule} (files: ${JSON.stringify(Object.fromEntries(fromFiles))})`);
    }
    const critical = liveReport.findings.find((f) => f.ruleId === "reconciler-sa-overprivileged" && f.resource?.name === "flux-team-a");
    assert.equal(critical?.severity, "critical");
  });

  it("audit --cluster errors are clear and distinct", async () => {
    const bad = join(scratch, "kubeconfigs");
    rmSync(bad, { recursive: true, force: true });
    mkdirSync(bad, { recursive: true });

    const unreachable = join(bad, "unreachable");
    writeFileSync(
      unreachable,
      "apiVersion: v1\nkind: Config\nclusters:\n- name: x\n  cluster: {server: 'https://127.0.0.1:9'}\nusers:\n- name: x\n  user: {token: t}\ncontexts:\n- name: x\n  context: {cluster: x, user: x}\ncurrent-context: x\n",
    );
    let r = await runCli(["audit", "--cluster", "--kubeconfig", unreachable]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /cannot reach the API server at https:\/\/127\.0\.0\.1:9/);

    const noContext = join(bad, "no-context");
    writeFileSync(noContext, "apiVersion: v1\nkind: Config\nclusters: []\nusers: []\ncontexts: []\n");
    r = await runCli(["audit", "--cluster", "--kubeconfig", noContext]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no Kubernetes context is set/);

    r = await cluster.fluxguard(["audit", "--cluster", "--context", "nope"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no context 'nope'/);

    // A real token for an account with no rights: the API server says 403, and we name the permission.
    const nobody = cluster.kubeconfigFor("default", "e2e-nobody");
    r = await runCli(["audit", "--cluster", "--kubeconfig", nobody]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /forbidden: cannot list \S+ \(API group [^)]+\)/);

    // An auditor that may read Flux, RBAC and the controllers but not the workloads: the audit
    // runs, and says what it could not see.
    cluster.apply(`apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: e2e-auditor}
rules:
  - apiGroups: [source.toolkit.fluxcd.io, kustomize.toolkit.fluxcd.io, helm.toolkit.fluxcd.io, notification.toolkit.fluxcd.io, image.toolkit.fluxcd.io, fluxcd.controlplane.io, source.extensions.fluxcd.io, monitoring.coreos.com]
    resources: ["*"]
    verbs: [get, list]
  - apiGroups: [rbac.authorization.k8s.io, networking.k8s.io]
    resources: ["*"]
    verbs: [get, list]
  - apiGroups: [""]
    resources: [serviceaccounts, namespaces, secrets]
    verbs: [get, list]
  - apiGroups: [apps]
    resources: [deployments]
    verbs: [get, list]
  - apiGroups: [authorization.k8s.io]
    resources: [subjectaccessreviews]
    verbs: [create]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: e2e-auditor}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: e2e-auditor}
subjects:
  - {kind: ServiceAccount, name: e2e-auditor, namespace: default}
`);
    const auditor = cluster.kubeconfigFor("default", "e2e-auditor");
    r = await runCli(["audit", "--cluster", "--kubeconfig", auditor, "--format", "json"]);
    assert.ok(r.code === 0 || r.code === 1, `the audit runs: ${r.stderr}`);
    const notices = parseReport(r.stdout).notices.map((n) => `${n.file}: ${n.reason}`);
    assert.ok(
      notices.some((n) => /^Pod \(v1\): forbidden: cannot list pods \(API group core\)/.test(n)),
      `a notice names what was not visible: ${notices.join(" | ")}`,
    );

    // A token the API server does not know.
    const forged = join(bad, "forged");
    writeFileSync(forged, readFileSync(nobody, "utf8").replace(/token: .*/, "token: not-a-real-token"));
    r = await runCli(["audit", "--cluster", "--kubeconfig", forged]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /rejected the credentials \(401 Unauthorized\)/);
  });

  it("audit --cluster on a cluster without Flux says so", async () => {
    // Last: removes the Kustomization CRD (and with it every Kustomization).
    cluster.kc(["delete", "crd", "kustomizations.kustomize.toolkit.fluxcd.io", "--wait=true", "--timeout=60s"]);
    const r = await cluster.fluxguard(["audit", "--cluster"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /Flux is not installed in this cluster: the kustomizations\S* CRD is not there/);
  });
});
