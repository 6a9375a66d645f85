/**
 * Admission end to end: the real kube-apiserver enforces the generated per-rule
 * ValidatingAdmissionPolicies (its own CEL and authorizer) and calls `fluxguard webhook`
 * over TLS (a real process, certificates from the real openssl), with real Flux controllers
 * reconciling. Each cross-object case is denied with its rule id and message; Warn shows in
 * kubectl's output; the webhook stopped refuses Flux objects while Leases, Events,
 * kube-system and its own namespace keep working, and it comes back unaided; certificates
 * rotated on disk during a stream of admissions drop no request.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { Agent } from "node:https";
import { join } from "node:path";
import { parseAllDocuments, stringify } from "yaml";
import { E2ECluster, pushTo } from "./harness.js";
import { testApiOf, testApiPost } from "../testing/kube-api.js";
import { WebhookProcess, freePort } from "./webhook.js";
import { Gpg, TestRepo, cleanup as cleanupKeys, type GpgKey, type Signing } from "../verify/testkit.js";
import { parseSpec } from "../generate/spec.js";
import { rulePolicyDocs } from "../generate/policies.js";
import { stringifyDocs } from "../generate/emit.js";
import { generateFleet } from "../generate/fleet.js";

const NS = "fluxguard-system";
const PLATFORM_URL = "ssh://git@github.com/example/fleet";

/** `kubectl apply` whose outcome is the point: exit code, stdout, stderr. */
function apply(cluster: E2ECluster, yaml: string, dryRun = false): { code: number; stdout: string; stderr: string } {
  return cluster.kubectl(["apply", ...(dryRun ? ["--dry-run=server"] : []), "-f", "-"], yaml);
}

const gitRepo = (name: string, namespace: string, url: string, verified: boolean, annotations = ""): string => `apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: ${name}, namespace: ${namespace}${annotations ? `, annotations: {${annotations}}` : ""}}
spec:
  interval: 10m
  url: ${url}
  ref: {branch: main}
${verified ? "  verify: {mode: HEAD, secretRef: {name: signers}}\n" : ""}`;

describe("admission: generated ValidatingAdmissionPolicies and fluxguard webhook against a real API server", () => {
  let cluster: E2ECluster;
  let webhook: WebhookProcess;
  let signer: GpgKey;
  let signing: Signing;

  before(async () => {
    cluster = E2ECluster.start();
    const gpg = new Gpg();
    signer = gpg.genKey("E2E Signer", "signer@example.invalid", "ed25519");
    signing = { format: "openpgp", gpg, key: signer.fingerprint };
    cluster.kc(["create", "namespace", NS]);
    cluster.kc(["create", "namespace", "team-a"]);
    webhook = new WebhookProcess(cluster, await freePort());
  });

  after(async () => {
    await webhook?.stop();
    cluster?.stop();
    cleanupKeys();
  });

  it("native: each rule's ValidatingAdmissionPolicy admits the compliant object and denies the others (Deny), and warns in Warn", async () => {
    const spec = parseSpec(
      "platform:\n  repository: ssh://git@example.com/fleet\n  admission:\n    default: Deny\n    rules:\n      gitrepository-unverified: Warn\ntenants:\n  - name: a\n    repository: ssh://git@example.com/a\n    allowedRegistries: [ghcr.io/example]\n",
      "spec.yaml",
    );
    const policies = stringifyDocs(rulePolicyDocs(spec), "e2e");
    cluster.apply(policies);
    // Reconciler identities for the authorizer: one cluster-admin, one that may create ClusterRoleBindings, one small.
    cluster.apply(`apiVersion: v1
kind: ServiceAccount
metadata: {name: admin, namespace: team-a}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: binder, namespace: team-a}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: small, namespace: team-a}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: e2e-team-a-admin}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: ServiceAccount, name: admin, namespace: team-a}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: e2e-crb-creator}
rules: [{apiGroups: [rbac.authorization.k8s.io], resources: [clusterrolebindings], verbs: [create]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: e2e-team-a-binder}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: e2e-crb-creator}
subjects: [{kind: ServiceAccount, name: binder, namespace: team-a}]
`);
    const ks = (name: string, extra: string, ns = "team-a") => `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: ${name}, namespace: ${ns}}
spec:
  interval: 10m
  path: ./
  prune: true
  sourceRef: {kind: GitRepository, name: apps}
${extra}`;
    const hr = (name: string, extra: string) => `apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: ${name}, namespace: team-a}
spec:
  interval: 10m
  serviceAccountName: small
  chartRef: {kind: OCIRepository, name: web}
${extra}`;
    const oci = (name: string, extra: string) => `apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata: {name: ${name}, namespace: team-a}
spec:
  interval: 10m
  url: oci://ghcr.io/example/web
  ref: {semver: ">=1.0.0 <2.0.0"}
${extra}`;
    const imagePolicy = (name: string, policy: string) => `apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata: {name: ${name}, namespace: team-a}
spec:
  imageRepositoryRef: {name: web}
${policy}`;
    // [yaml, rule id denied with it (null = admitted), what the message must say]
    const cases: Array<[string, string | null, RegExp?]> = [
      [ks("small", "  serviceAccountName: small\n"), null],
      [ks("admin", "  serviceAccountName: admin\n"), "reconciler-sa-overprivileged", /Kustomization team-a\/admin runs as service account team-a\/admin, which holds \* on \* \(cluster-admin\)/],
      [ks("binder", "  serviceAccountName: binder\n"), "reconciler-sa-overprivileged", /runs as service account team-a\/binder, which may create ClusterRoleBindings/],
      [ks("platform-optin", "  serviceAccountName: kustomize-controller\n", "flux-system"), null],
      [ks("forced", "  serviceAccountName: small\n  force: true\n"), "kustomization-force-apply"],
      [ks("remote", "  serviceAccountName: small\n  kubeConfig: {secretRef: {name: prod}}\n"), "reconciler-remote-kubeconfig"],
      [ks("cross", "  serviceAccountName: small\n").replace("name: apps}", "name: flux-system, namespace: flux-system}"), "cross-namespace-source-ref"],
      [hr("web", "  values: {replicas: 2, securityContext: {runAsNonRoot: true}}\n"), null],
      [hr("privileged", "  values: {agent: {securityContext: {privileged: true}}}\n"), "helmrelease-privileged-values"],
      [hr("hostnet", "  values: {hostNetwork: true}\n"), "helmrelease-privileged-values"],
      [oci("signed", "  verify: {provider: cosign, secretRef: {name: cosign-pub}}\n"), null],
      [oci("unsigned", ""), "ocirepository-unverified"],
      [oci("any-identity", "  verify: {provider: cosign, matchOIDCIdentity: [{issuer: '.*', subject: '.*'}]}\n"), "ocirepository-unverified"],
      [oci("plain-http", "  verify: {provider: cosign, secretRef: {name: k}}\n  insecure: true\n"), "source-insecure-transport"],
      [imagePolicy("bounded", "  policy: {semver: {range: '>=1.0.0 <2.0.0'}}\n"), null],
      [imagePolicy("unbounded", "  policy: {semver: {range: '>=1.0.0'}}\n"), "imagepolicy-unbounded"],
      [imagePolicy("unfiltered", "  policy: {numerical: {order: asc}}\n"), "imagepolicy-unbounded"],
    ];
    // The policy plugin loads new policies asynchronously: wait until the first denial shows.
    for (let i = 0; i < 60 && apply(cluster, cases[1]![0], true).code === 0; i++) await new Promise((r) => setTimeout(r, 500));
    for (const [yaml, rule, message] of cases) {
      const name = /name: ([a-z-]+),/.exec(yaml)![1];
      const r = apply(cluster, yaml, true);
      if (rule === null) {
        assert.equal(r.code, 0, `${name} should be admitted: ${r.stderr}`);
        continue;
      }
      assert.notEqual(r.code, 0, `${name} should be denied by ${rule}`);
      assert.match(r.stderr, new RegExp(`ValidatingAdmissionPolicy 'fluxguard-rule-${rule}'.*denied request: \\[${rule}\\]`), name);
      if (message) assert.match(r.stderr, message, name);
    }
    // Warn: admitted, and kubectl prints the policy's warning.
    const warned = apply(cluster, gitRepo("unsigned", "team-a", "ssh://git@example.com/a", false), true);
    assert.equal(warned.code, 0, warned.stderr);
    assert.match(warned.stderr, /Warning: Validation failed for ValidatingAdmissionPolicy 'fluxguard-rule-gitrepository-unverified'.*\[gitrepository-unverified\]/);
    // Leave the cluster as it was for the webhook's tests.
    cluster.kc(["delete", "-f", "-"], policies);
  });

  it("webhook: the API server calls it over TLS and it denies each cross-object case with its rule id and message", async () => {
    // The cluster as it stands when the webhook is installed: a platform sync source and
    // Kustomization, a tenant reconciler and its source.
    const base = [
      gitRepo("platform", "flux-system", PLATFORM_URL, true),
      `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: platform, namespace: flux-system}
spec: {interval: 10m, path: ./clusters/e2e, prune: true, serviceAccountName: kustomize-controller, sourceRef: {kind: GitRepository, name: platform}}
`,
      "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: team-a, namespace: team-a}\n",
      gitRepo("team-a", "team-a", "ssh://git@github.com/example/team-a", true),
      `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: team-a, namespace: team-a}
spec: {interval: 10m, path: ./, prune: true, serviceAccountName: team-a, targetNamespace: team-a, sourceRef: {kind: GitRepository, name: team-a}}
`,
    ];
    for (const y of base) cluster.apply(y);
    await webhook.start();
    cluster.apply(webhook.configuration(NS));
    // Warn: an unverified source nothing applies is a medium finding; kubectl prints the webhook's warning.
    const experiments = await retryApply(cluster, gitRepo("experiments", "team-a", "ssh://git@github.com/example/experiments", false));
    assert.equal(experiments.code, 0, experiments.stderr);
    assert.match(experiments.stderr, /Warning: \[gitrepository-unverified\] medium: GitRepository team-a\/experiments has no spec\.verify/);

    const denied = (yaml: string, rule: string, message: RegExp): void => {
      const r = apply(cluster, yaml);
      assert.notEqual(r.code, 0, `should be denied by ${rule}:\n${yaml}\n${webhook.logTail(5)}`);
      assert.match(r.stderr, /admission webhook "flux\.fluxguard\.io" denied the request|admission webhook "rbac\.fluxguard\.io" denied the request/);
      assert.match(r.stderr, new RegExp(`\\[${rule}\\]`));
      assert.match(r.stderr, message);
    };
    // 1. A Kustomization that starts applying the unverified source.
    denied(
      `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: experiments, namespace: team-a}
spec: {interval: 10m, path: ./, prune: true, serviceAccountName: team-a, targetNamespace: team-a, sourceRef: {kind: GitRepository, name: experiments}}
`,
      "gitrepository-unverified",
      /GitRepository team-a\/experiments has no spec\.verify: Kustomization team-a\/experiments applies any commit/,
    );
    // 2. A ClusterRoleBinding that makes the tenant reconciler's account cluster-admin.
    denied(
      `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: team-a-escalate}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: ServiceAccount, name: team-a, namespace: team-a}]
`,
      "reconciler-sa-overprivileged",
      /ServiceAccount team-a\/team-a, which Kustomization team-a\/team-a runs as, holds cluster-admin cluster-wide through ClusterRoleBinding team-a-escalate/,
    );
    // ... and a RoleBinding doing the same in the Flux namespace.
    denied(
      `apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: team-a-in-flux, namespace: flux-system}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: ServiceAccount, name: team-a, namespace: team-a}]
`,
      "reconciler-sa-overprivileged",
      /holds cluster-admin in namespace flux-system, which is not its own/,
    );
    // 3. Image automation pushing to the branch the platform applies.
    const iua = (branch: string) => `apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageUpdateAutomation
metadata: {name: fleet, namespace: flux-system}
spec:
  interval: 30m
  sourceRef: {kind: GitRepository, name: platform}
  git:
    checkout: {ref: {branch: main}}
    commit: {author: {name: flux, email: flux@example.com}}
    push: {branch: ${branch}}
  update: {path: ./clusters/e2e, strategy: Setters}
`;
    denied(iua("main"), "image-automation-pushes-to-applied-branch", /pushes to branch main, which Kustomization flux-system\/platform applies from/);
    assert.equal(apply(cluster, iua("image-updates"), true).code, 0, "pushing to a review branch is admitted");
    // 4. A HelmRelease with privileged values that runs as the platform (helm-controller).
    denied(
      `apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: node-agent, namespace: flux-system}
spec:
  interval: 10m
  serviceAccountName: helm-controller
  chart: {spec: {chart: node-agent, version: 1.2.3, sourceRef: {kind: HelmRepository, name: charts}}}
  values: {daemonset: {securityContext: {privileged: true}}}
`,
      "helmrelease-privileged-values",
      /HelmRelease flux-system\/node-agent values set daemonset\.securityContext\.privileged: true/,
    );
    // The webhook counted them.
    const metrics = (await webhook.get("/metrics")).body;
    for (const rule of ["gitrepository-unverified", "reconciler-sa-overprivileged", "image-automation-pushes-to-applied-branch", "helmrelease-privileged-values"]) {
      assert.match(metrics, new RegExp(`fluxguard_webhook_denials_total\\{rule="${rule}"\\} [1-9]`), rule);
    }
    assert.match(metrics, /fluxguard_webhook_warnings_total\{rule="gitrepository-unverified"\} [1-9]/);
  });

  it("webhook: the fleet `generate` writes is admitted whole, and Flux reconciles it through the webhook", async () => {
    const spec = parseSpec(
      "platform:\n  repository: ssh://git@example.com/fleet\nclusters:\n  - name: e2e\ntenants:\n  - name: team-b\n    repository: ssh://git@example.com/team-b\n    allowedRegistries: [ghcr.io/example]\n",
      "spec.yaml",
    );
    const files = generateFleet(spec, { kyverno: false });
    type Obj = { kind: string; apiVersion: string; metadata: { name: string; namespace?: string } };
    const objects: Obj[] = [];
    for (const f of files) {
      if (!/\.ya?ml$/.test(f.path) || f.path.endsWith("kustomization.yaml")) continue;
      for (const d of parseAllDocuments(f.content)) {
        const o = d.toJS() as Obj | null;
        if (o?.kind && o.kind !== "PrometheusRule") objects.push(o);
      }
    }
    if (cluster.kubectl(["get", "namespace", "monitoring"]).code !== 0) cluster.kc(["create", "namespace", "monitoring"]); // kube-prometheus-stack's, a prerequisite
    const namespaces = objects.filter((o) => o.kind === "Namespace");
    cluster.kc(["apply", "-f", "-"], namespaces.map((o) => stringify(o)).join("---\n"));
    const rest = objects.filter((o) => o.kind !== "Namespace");
    const dry = cluster.kubectl(["apply", "--server-side", "--force-conflicts", "--field-manager=fluxguard-e2e", "--dry-run=server", "-f", "-"], rest.map((o) => stringify(o)).join("---\n"));
    assert.equal(dry.code, 0, `${dry.stderr}\n${webhook.logTail(5)}`);
    assert.doesNotMatch(dry.stderr, /denied/);
    assert.equal(dry.stdout.trim().split("\n").length, rest.length);
    // Flux applies the generated admission policies from a signed commit, through the webhook.
    writeFileSync(join(cluster.work, "signer.asc"), signer.armored);
    cluster.kc(["-n", "flux-system", "create", "secret", "generic", "signers", `--from-file=signer.asc=${join(cluster.work, "signer.asc")}`]);
    const repo = new TestRepo(join(cluster.work, "generated-fleet"));
    const policyFiles = Object.fromEntries(files.filter((f) => f.path.startsWith("platform/policies/")).map((f) => [f.path, f.content]));
    repo.commit("generated fleet: admission policies", policyFiles, signing);
    pushTo(repo, `${cluster.gitUrl}/generated.git`);
    // The loopback Git server speaks plain HTTP: source-insecure-transport would deny it, so the
    // source says why it is acceptable here, and the webhook honours the suppression.
    const sync = `${gitRepo("generated", "flux-system", `${cluster.gitUrl}/generated.git`, true, '"fluxguard.io/ignore": "source-insecure-transport: the e2e suite\'s loopback Git server"')}---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: generated-policies, namespace: flux-system}
spec: {interval: 10m, path: ./platform/policies, prune: true, serviceAccountName: kustomize-controller, sourceRef: {kind: GitRepository, name: generated}}
`;
    const r = apply(cluster, sync);
    assert.equal(r.code, 0, r.stderr);
    await cluster.waitCondition("kustomization", "flux-system", "generated-policies", "Ready", "True");
    assert.equal(cluster.kubectl(["get", "validatingadmissionpolicy", "fluxguard-rule-reconciler-sa-overprivileged"]).code, 0, "Flux applied the generated policies");
    // Flux's own status and finalizer updates went through the webhook's matchConditions, not around them.
    const log = webhook.logTail(400);
    assert.doesNotMatch(log, /"decision":"error"/);
    // Stop reconciling them (prune off, then delete the Kustomization): the policies stay, in Deny.
    cluster.kc(["-n", "flux-system", "patch", "kustomization", "generated-policies", "--type=merge", "-p", '{"spec":{"prune":false}}']);
    cluster.kc(["-n", "flux-system", "delete", "kustomization", "generated-policies", "--wait=false"]);
  });

  it("webhook: certificates rotated on disk during a stream of admissions drop no request", async () => {
    const api = testApiOf(cluster.kubeconfig);
    const agent = new Agent({ keepAlive: true, maxSockets: 6 });
    const failures: string[] = [];
    let sent = 0;
    let stop = false;
    const path = "/apis/source.toolkit.fluxcd.io/v1/namespaces/team-a/gitrepositories?dryRun=All";
    const worker = async (w: number): Promise<void> => {
      while (!stop) {
        const n = sent++;
        const body = { apiVersion: "source.toolkit.fluxcd.io/v1", kind: "GitRepository", metadata: { name: `rot-${w}-${n}`, namespace: "team-a" }, spec: { interval: "10m", url: "ssh://git@example.com/x", ref: { branch: "main" }, verify: { mode: "HEAD", secretRef: { name: "signers" } } } };
        try {
          const r = await testApiPost(api, path, body, agent);
          if (r.status !== 201) failures.push(`${r.status} ${r.body.slice(0, 300)}`);
        } catch (e) {
          failures.push(String(e));
        }
      }
    };
    const reloadsBefore = /certificate_reloads_total\{result="ok"\} (\d+)/.exec((await webhook.get("/metrics")).body)?.[1] ?? "0";
    const workers = Array.from({ length: 6 }, (_, w) => worker(w));
    await new Promise((r) => setTimeout(r, 3000));
    webhook.rotate();
    let reloaded = false;
    for (let i = 0; i < 40 && !reloaded; i++) {
      await new Promise((r) => setTimeout(r, 250));
      const now = /certificate_reloads_total\{result="ok"\} (\d+)/.exec((await webhook.get("/metrics")).body)?.[1] ?? "0";
      reloaded = Number(now) > Number(reloadsBefore);
    }
    await new Promise((r) => setTimeout(r, 3000));
    stop = true;
    await Promise.all(workers);
    agent.destroy();
    assert.ok(reloaded, `the webhook reloaded its certificate:\n${webhook.logTail(10)}`);
    assert.deepEqual(failures.slice(0, 3), [], `${failures.length} of ${sent} admissions failed`);
    assert.ok(sent >= 30, `a stream, not a trickle: ${sent}`);
    // A new connection to the webhook gets the new certificate.
    const served = (await webhook.get("/healthz")).status;
    assert.equal(served, 200);
  });

  it("webhook down: Flux objects are refused; Leases, Events, kube-system and the webhook's namespace keep working; it comes back unaided", async () => {
    await webhook.stop();
    const refused = apply(cluster, gitRepo("while-down", "team-a", "ssh://git@example.com/a", true));
    assert.notEqual(refused.code, 0, "fail-closed for Flux kinds");
    assert.match(refused.stderr, /failed calling webhook "flux\.fluxguard\.io"/);
    const keepsWorking: Array<[string, string]> = [
      ["Lease", "apiVersion: coordination.k8s.io/v1\nkind: Lease\nmetadata: {name: e2e-leader, namespace: default}\nspec: {holderIdentity: e2e, leaseDurationSeconds: 15}\n"],
      ["Event", "apiVersion: v1\nkind: Event\nmetadata: {name: e2e-event, namespace: default}\ninvolvedObject: {kind: ConfigMap, name: x, namespace: default}\nreason: E2E\nmessage: webhook down\ntype: Normal\n"],
      ["a Flux object in kube-system", gitRepo("kube-system-source", "kube-system", "ssh://git@example.com/a", true)],
      ["a Flux object in the webhook's namespace", gitRepo("own", NS, "ssh://git@example.com/a", true)],
      ["a RoleBinding in the webhook's namespace", `apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: e2e, namespace: ${NS}}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}\nsubjects: [{kind: User, name: jane}]\n`],
      ["a ClusterRoleBinding (RBAC fails open: it is how a broken cluster is repaired)", "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: e2e-repair}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}\nsubjects: [{kind: User, name: jane}]\n"],
      ["a ConfigMap", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: e2e, namespace: team-a}\ndata: {a: b}\n"],
    ];
    for (const [what, yaml] of keepsWorking) {
      const r = apply(cluster, yaml);
      assert.equal(r.code, 0, `${what} while the webhook is down: ${r.stderr}`);
    }
    // The controllers keep reconciling what exists (status updates are not sent to the webhook).
    await webhook.start();
    const back = apply(cluster, gitRepo("after-restart", "team-a", "ssh://git@example.com/a", true));
    assert.equal(back.code, 0, back.stderr);
  });
});

/** kubectl apply, retried for a few seconds while the API server's webhook client reconnects. */
async function retryApply(cluster: E2ECluster, yaml: string): Promise<{ code: number; stdout: string; stderr: string }> {
  let r = apply(cluster, yaml);
  for (let i = 0; i < 20 && r.code !== 0 && /failed calling webhook/.test(r.stderr); i++) {
    await new Promise((res) => setTimeout(res, 500));
    r = apply(cluster, yaml);
  }
  return r;
}
