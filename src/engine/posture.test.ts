/**
 * The posture's four verdicts: `defended` only with positive evidence for every relevant
 * object and nothing relevant unseen; `not-assessed` names what was not seen.
 */
import assert from "node:assert/strict";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { clustersOf, gapsOfCluster, markNotAssessed, notAssessedFor, type CoverageHolder } from "../core/coverage.js";
import { REPO_ROOT } from "../testing/paths.js";
import { ALL_RULES as RULES } from "../rules/index.js";
import { runAudit } from "./audit.js";
import { threatMatrix } from "./threat-matrix.js";
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


const VERIFY = `  verify:
    mode: HEAD
    secretRef:
      name: signing-keys
`;

/**
 * Writes clusters/<name>/flux-system/gotk-sync.yaml for each cluster: the fleet's
 * GitRepository (verified with the signing-keys Secret when `verify`) and the Kustomization of
 * ./clusters/<name>, as `flux bootstrap` lays them out.
 */
function writeClusterSyncs(dir: string, clusters: readonly string[], verify: boolean): void {
  for (const c of clusters) {
    mkdirSync(join(dir, "clusters", c, "flux-system"), { recursive: true });
    writeFileSync(join(dir, "clusters", c, "flux-system", "gotk-sync.yaml"), `apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: flux-system
  namespace: flux-system
spec:
  interval: 1m
  url: ssh://git@github.com/example/fleet.git
  ref:
    branch: main
${verify ? VERIFY : ""}---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: flux-system
  namespace: flux-system
spec:
  interval: 10m
  path: ./clusters/${c}
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
`);
  }
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

test("posture: a notation verification whose trust policy is not in the repository is not assessed, never a verified source", async () => {
  const dir = copyHardened();
  writeFileSync(
    join(dir, "tenants/base/team-a/oci.yaml"),
    `apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata:
  name: team-a-manifests
spec:
  interval: 10m
  url: oci://registry.example.com/team-a/manifests
  ref:
    tag: "1.0.0"
  verify:
    provider: notation
    secretRef:
      name: notation-trust
`,
  );
  const k = join(dir, "tenants/base/team-a/kustomization.yaml");
  writeFileSync(k, readFileSync(k, "utf8").replace("  - sync.yaml\n", "  - sync.yaml\n  - oci.yaml\n"));
  const r = await runAudit({ root: dir, kustomize: null });
  const commit = row(r, "malicious-commit");
  assert.equal(commit.verdict, "not-assessed");
  assert.match(commit.because, /OCIRepository team-a\/team-a-manifests: notation verification not assessed: Secret team-a\/notation-trust \(its trustpolicy\.json\) is not in the repository/);
  // With the trust policy in the repository at level strict, the source is positive evidence again.
  writeFileSync(
    join(dir, "tenants/base/team-a/notation-trust.yaml"),
    `apiVersion: v1
kind: Secret
metadata:
  name: notation-trust
stringData:
  ca.crt: "-----BEGIN CERTIFICATE-----"
  trustpolicy.json: '{"version":"1.0","trustPolicies":[{"name":"team-a","registryScopes":["*"],"signatureVerification":{"level":"strict"},"trustStores":["ca:team-a"],"trustedIdentities":["*"]}]}'
`,
  );
  writeFileSync(k, readFileSync(k, "utf8").replace("  - oci.yaml\n", "  - oci.yaml\n  - notation-trust.yaml\n"));
  const strict = row(await runAudit({ root: dir, kustomize: null }), "malicious-commit");
  assert.equal(strict.verdict, "defended", strict.because);
  assert.match(strict.because, /^3 sources verified/);
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

test("coverage: a gap's clusters are the union of its records, a record without clusters makes it fleet-wide; gapsOfCluster adds the hubs' gaps", () => {
  const m: CoverageHolder = { notAssessed: [] };
  markNotAssessed(m, { areas: "all", reason: "not-rendered", what: "Kustomization a", ...clustersOf("clusters/staging") });
  markNotAssessed(m, { areas: "all", reason: "not-rendered", what: "Kustomization a", ...clustersOf("clusters/prod") });
  markNotAssessed(m, { areas: "all", reason: "not-rendered", what: "Kustomization b", ...clustersOf("clusters/prod") });
  markNotAssessed(m, { areas: "all", reason: "not-rendered", what: "Kustomization b", ...clustersOf("(unattached)") });
  markNotAssessed(m, { areas: "all", reason: "remote-cluster", what: "spoke identity", ...clustersOf("hub -> spoke") });
  markNotAssessed(m, { areas: "all", reason: "not-rendered", what: "hub content", ...clustersOf("hub") });
  assert.deepEqual(m.notAssessed.find((g) => g.what === "Kustomization a")!.clusters, ["clusters/staging", "clusters/prod"]);
  assert.equal(m.notAssessed.find((g) => g.what === "Kustomization b")!.clusters, undefined, "an unattached record makes it count everywhere");
  const hubOf = (id: string): string | undefined => (id === "hub -> spoke" ? "hub" : undefined);
  const of = (id: string): string[] => gapsOfCluster(m.notAssessed, id, hubOf).map((g) => g.what);
  assert.deepEqual(of("clusters/staging"), ["Kustomization a", "Kustomization b"]);
  assert.deepEqual(of("hub"), ["Kustomization b", "hub content"], "the spoke's identity gap is not the hub's");
  assert.deepEqual(of("hub -> spoke"), ["Kustomization b", "spoke identity", "hub content"], "what the hub did not show may be what it applies to the spoke");
});

test("posture per cluster: a row applicable in one cluster is not applicable in another, and the threat matrix follows each cluster", async () => {
  const dir = mkdtempSync(join(tmpdir(), "fg-posture-clusters-"));
  writeClusterSyncs(dir, ["alpha", "beta"], false);
  // Only alpha runs image automation; it pushes to a review branch, its policy is bounded.
  writeFileSync(
    join(dir, "clusters/alpha/images.yaml"),
    `apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageUpdateAutomation
metadata:
  name: apps
  namespace: flux-system
spec:
  interval: 30m
  sourceRef:
    kind: GitRepository
    name: flux-system
  git:
    checkout:
      ref:
        branch: main
    commit:
      author:
        name: bot
        email: bot@example.com
    push:
      branch: image-updates
  update:
    path: ./apps
    strategy: Setters
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata:
  name: app
  namespace: flux-system
spec:
  imageRepositoryRef:
    name: app
  policy:
    semver:
      range: 1.x
`,
  );
  const r = await runAudit({ root: dir, kustomize: null });
  const images = row(r, "image-automation-overwrites-tag");
  assert.notEqual(images.verdict, "not-applicable", "fleet-wide, the fleet runs image automation");
  const per = new Map((images.clusters ?? []).map((c) => [c.cluster, c]));
  assert.deepEqual([...per.keys()].sort(), ["clusters/alpha", "clusters/beta"]);
  assert.equal(per.get("clusters/beta")!.verdict, "not-applicable");
  assert.match(per.get("clusters/beta")!.because, /no image automation in cluster clusters\/beta/);
  assert.notEqual(per.get("clusters/alpha")!.verdict, "not-applicable");
  // The matrix takes each column's cell from that cluster's own posture.
  const m = threatMatrix(r, RULES);
  const t = m.threats.indexOf("adversary-5-image-automation");
  const col = (c: string): string => m.cells[t]![m.clusters.indexOf(c)]!.verdict;
  assert.equal(col("clusters/beta"), "not-applicable");
  assert.notEqual(col("clusters/alpha"), "not-applicable");
});

test("posture per cluster: a gap counts only against the cluster whose Flux would apply the unseen content; a gap of no particular cluster counts against each", async () => {
  const dir = mkdtempSync(join(tmpdir(), "fg-posture-gaps-"));
  writeClusterSyncs(dir, ["staging", "production"], true);
  // Only staging applies a tenant repository fluxguard cannot read (not mapped in .fluxguard.yaml).
  writeFileSync(
    join(dir, "clusters/staging/tenant.yaml"),
    `apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: tenant
  namespace: flux-system
spec:
  interval: 5m
  url: ssh://git@github.com/example/tenant.git
  ref:
    branch: main
  verify:
    mode: HEAD
    secretRef:
      name: signing-keys
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: tenant
  namespace: flux-system
spec:
  interval: 10m
  path: ./deploy
  prune: true
  serviceAccountName: tenant
  sourceRef:
    kind: GitRepository
    name: tenant
`,
  );
  const perCluster = (r: AuditReport, id: string): Map<string, { verdict: string; because: string }> => new Map((row(r, id).clusters ?? []).map((c) => [c.cluster, c]));
  let r = await runAudit({ root: dir, kustomize: null });
  const gap = /Kustomization\/flux-system\/tenant/;
  assert.ok(
    r.posture.every((p) => p.notAssessed.some((g) => gap.test(g.what))),
    "fleet-wide, every row lists the staging gap",
  );
  for (const id of ["malicious-commit", "developer-pushes-cluster-role-binding", "git-credentials-exfiltrated"]) {
    const per = perCluster(r, id);
    assert.equal(per.get("clusters/staging")!.verdict, row(r, id).verdict === "exposed" ? per.get("clusters/staging")!.verdict : "not-assessed", id);
    assert.match(per.get("clusters/staging")!.because, row(r, id).verdict === "exposed" ? /./ : gap, id);
    assert.doesNotMatch(per.get("clusters/production")!.because, gap, `${id}: production does not apply the tenant repository`);
  }
  // The malicious-commit row of production is decided by its own sources alone: both verified.
  assert.equal(perCluster(r, "malicious-commit").get("clusters/production")!.verdict, "defended");
  // A file the walk skipped belongs to no particular cluster: it counts against both.
  writeFileSync(join(dir, "clusters/production/blob.yaml"), Buffer.from([0x00, 0x01, 0x02, 0xff, 0x00]));
  r = await runAudit({ root: dir, kustomize: null });
  assert.equal(perCluster(r, "malicious-commit").get("clusters/production")!.verdict, "not-assessed");
  assert.match(perCluster(r, "malicious-commit").get("clusters/production")!.because, /blob\.yaml/);
});
