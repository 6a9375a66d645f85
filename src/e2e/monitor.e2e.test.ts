/**
 * `fluxguard monitor` end to end: a real control plane and Flux controllers (test/e2e/cluster.sh),
 * two monitor replicas as their own processes with the chart's ServiceAccount and RBAC (rendered
 * by the real helm and applied to the real API server), real Prometheus scraping both with the
 * rules `fluxguard generate` writes, real Alertmanager with the generated routing delivering to
 * a webhook in this test. Intervals are short (1 s scrape and evaluation, a 20 s readiness
 * threshold written by `generate` from the spec); the production timing is proven by promtool
 * (src/generate/monitor-rules.test.ts).
 *
 * The seed's failure modes, in order: a signing key about to expire (alert before any rejection),
 * a malicious (unsigned) commit, a revoked deploy key, RBAC too restrictive for a tenant, then an
 * API server restart and a replica killed, neither losing nor double-counting a failure.
 * Measured times (push to alert, recovery) are written to stderr.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { gunzipSync } from "node:zlib";
import { parse, parseAllDocuments, stringify } from "yaml";
import { E2ECluster, holds, pushTo, until } from "./harness.js";
import { MonitorReplica, promQuery, startAlertmanager, startPrometheus, WebhookReceiver, type Proc } from "./observability.js";
import { Gpg, TestRepo, cleanup as cleanupKeys, type GpgKey, type Signing } from "../verify/testkit.js";
import { REPO_ROOT } from "../testing/paths.js";
import { runCli } from "../testing/cli.js";
import { EVENT_SELECTOR } from "../monitor/monitor.js";

const NS = "fluxguard-system";
const NOT_READY_AFTER = 20; // seconds, from the spec below; the rule's threshold and `for` follow from it

function measured(what: string, ms: number): void {
  const line = `[monitor e2e] ${what}: ${(ms / 1000).toFixed(1)} s\n`;
  process.stderr.write(line);
  const file = process.env["FLUXGUARD_MONITOR_TIMINGS"];
  if (file) appendFileSync(file, line);
}

describe("fluxguard monitor against real Flux, Prometheus and Alertmanager", () => {
  let cluster: E2ECluster;
  let scratch: string;
  let gpg: Gpg;
  let signer: GpgKey;
  let expiring: GpgKey;
  let signing: Signing;
  let repo: TestRepo;
  const receiver = new WebhookReceiver();
  const procs: Proc[] = [];
  const replicas: MonitorReplica[] = [];
  let prom: { proc: Proc; url: string };

  const app = (value: string): Record<string, string> => ({
    "deploy/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [configmap.yaml]\n",
    "deploy/configmap.yaml": `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app, namespace: flux-system}\ndata: {value: "${value}"}\n`,
  });
  const pushSigned = (): void => pushTo(repo, `${cluster.gitUrl}/signed.git`);
  const verificationCount = async (name: string): Promise<number> => {
    const r = await promQuery(prom.url, `max(fluxguard_verification_failures_total{name="${name}",reason="InvalidCommitSignature"})`);
    return r[0]?.value ?? 0;
  };

  before(async () => {
    scratch = mkdtempSync(join(tmpdir(), "fluxguard-monitor-e2e-"));
    cluster = E2ECluster.start();
    gpg = new Gpg();
    signer = gpg.genKey("E2E Signer", "signer@example.invalid", "ed25519");
    expiring = gpg.genKey("E2E Expiring", "expiring@example.invalid", "ed25519", { expire: "2d" });
    signing = { format: "openpgp", gpg, key: signer.fingerprint };
    await receiver.start();

    // The chart, rendered by the real helm and applied server-side (strict validation): the
    // monitor then runs with exactly the chart's ServiceAccount and least-privilege RBAC.
    const helm = E2ECluster.binary("helm");
    assert.ok(helm, "helm is built by `cluster.sh build` (FLUXGUARD_E2E_COMPONENTS includes helm)");
    cluster.kc(["create", "namespace", NS]);
    const lint = spawnSync(helm, ["lint", "--strict", join(REPO_ROOT, "charts", "fluxguard")], { encoding: "utf8" });
    assert.equal(lint.status, 0, `helm lint --strict: ${lint.stdout}${lint.stderr}`);
    // Every switch of the chart renders and the API server accepts it (the Prometheus Operator
    // kinds aside: their CRDs are not in this cluster).
    type Rendered = { apiVersion: string; kind: string; spec?: Record<string, unknown>; rules?: Array<{ resources?: string[]; verbs?: string[]; resourceNames?: string[] }> };
    const checks: Record<string, (docs: Rendered[]) => void> = {
      "podMonitor.enabled=true": (docs) => {
        const deploy = docs.find((d) => d.kind === "Deployment")!;
        assert.deepEqual((deploy.spec?.["strategy"] as { rollingUpdate?: unknown }).rollingUpdate, { maxUnavailable: 1, maxSurge: 0 }, "hard anti-affinity: no surge Pod that no node could take");
        const np = docs.find((d) => d.kind === "NetworkPolicy")!;
        const ports = ((np.spec?.["egress"] as Array<{ ports?: Array<{ port: number }> }>)[0]!.ports ?? []).map((p) => p.port);
        assert.deepEqual(ports, [443, 6443], "the API server's endpoint port (6443 on kubeadm) as well as the Service's");
        const secretRules = docs.filter((d) => d.kind === "ClusterRole").flatMap((d) => d.rules ?? []).filter((r) => r.resources?.includes("secrets"));
        assert.deepEqual(secretRules, [], "no Secret is readable by default");
        const args = ((deploy.spec?.["template"] as { spec: { containers: Array<{ args: string[] }> } }).spec.containers[0]!.args);
        assert.ok(args.includes("--keys-interval=0"), "key checks off when no Secret is granted");
      },
      "monitor.replicas=1": (docs) => {
        assert.ok(!docs.some((d) => d.kind === "PodDisruptionBudget"), "one replica: no PDB to block drains");
        const secretRules = docs.filter((d) => d.kind === "ClusterRole").flatMap((d) => d.rules ?? []).filter((r) => r.resources?.includes("secrets"));
        assert.deepEqual(secretRules.map((r) => r.verbs), [["get"]], "allSecretsByName: get, never list or watch");
      },
    };
    for (const set of [["podMonitor.enabled=true", "prometheusRule.enabled=true", "monitor.antiAffinity=hard"], ["monitor.posture=false", "monitor.readVerificationSecrets=false", "networkPolicy.enabled=false", "monitor.pdb.enabled=false"], ["monitor.replicas=1", "monitor.allSecretsByName=true"]]) {
      const args: string[] = ["template", "fluxguard", join(REPO_ROOT, "charts", "fluxguard"), "--namespace", NS];
      for (const x of set) args.push("--set", x);
      const out: SpawnSyncReturns<string> = spawnSync(helm, args, { encoding: "utf8" });
      assert.equal(out.status, 0, out.stderr);
      const docs = parseAllDocuments(out.stdout).map((d) => d.toJS() as Partial<Rendered> | null).filter((d): d is Rendered => !!d?.kind);
      checks[set[0]!]?.(docs);
      if (set[0] === "podMonitor.enabled=true") assert.deepEqual(docs.filter((d) => d.apiVersion.startsWith("monitoring.coreos.com/")).map((d) => d.kind).sort(), ["PodMonitor", "PrometheusRule"]);
      const rest = docs.filter((d) => !d.apiVersion.startsWith("monitoring.coreos.com/"));
      const v = cluster.kubectl(["apply", "--server-side", "--dry-run=server", "--validate=strict", "-f", "-"], rest.map((d) => stringify(d)).join("---\n"));
      assert.equal(v.code, 0, `${set.join(",")}: ${v.stderr}`);
    }
    const values = join(scratch, "values.yaml");
    writeFileSync(values, stringify({ monitor: { verificationSecrets: [{ namespace: "flux-system", name: "signers" }] } }));
    const rendered = spawnSync(helm, ["template", "fluxguard", join(REPO_ROOT, "charts", "fluxguard"), "--namespace", NS, "-f", values], { encoding: "utf8" });
    assert.equal(rendered.status, 0, rendered.stderr);
    const dry = cluster.kubectl(["apply", "--server-side", "--dry-run=server", "--validate=strict", "-f", "-"], rendered.stdout);
    assert.equal(dry.code, 0, dry.stderr);
    assert.equal(dry.stderr.trim(), "", "no warnings");
    cluster.kc(["apply", "--server-side", "-f", "-"], rendered.stdout);
    const kinds = parseAllDocuments(rendered.stdout).map((d) => (d.toJS() as { kind?: string } | null)?.kind).filter(Boolean);
    for (const k of ["ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "Deployment", "Service", "PodDisruptionBudget", "NetworkPolicy"]) assert.ok(kinds.includes(k), `the chart renders a ${k}`);
    const kubeconfig = cluster.kubeconfigFor(NS, "fluxguard-monitor");

    // Two replicas, as the chart runs them (a 5 s Lease instead of 15 s to keep the test short).
    for (const id of ["a", "b"]) {
      const r = new MonitorReplica(id, scratch, [
        `--kubeconfig=${kubeconfig}`,
        `--namespace=${NS}`,
        "--lease-name=fluxguard-monitor",
        "--state-name=fluxguard-monitor-state",
        "--keys-interval=5",
        "--posture-interval=10",
        "--lease-seconds=5",
        "--persist-interval-ms=500",
      ]);
      await r.start();
      replicas.push(r);
    }
    for (const r of replicas) measured(`replica ${r.identity} ready after start (empty cluster)`, await r.ready());

    // The rules and routing `fluxguard generate` writes for a spec with the monitor on.
    const spec = join(scratch, "spec.yaml");
    writeFileSync(spec, stringify({ platform: { repository: "ssh://git@github.com/example/fleet", monitoring: { monitor: true, notReadyAfter: `${NOT_READY_AFTER}s` } } }));
    const out = join(scratch, "fleet");
    const g = await runCli(["generate", spec, "--out", out]);
    assert.equal(g.code, 0, g.stderr);
    const rule = parse(readFileSync(join(out, "platform", "monitoring", "prometheus-rules.yaml"), "utf8")) as { spec: { groups: unknown } };
    const routing = parse(readFileSync(join(out, "platform", "monitoring", "alertmanager-routing.example.yml"), "utf8")) as {
      route: { group_wait: string; group_interval: string };
      receivers: Array<{ name: string; webhook_configs: Array<{ url: string }> }>;
    };
    for (const r of routing.receivers) r.webhook_configs[0]!.url = receiver.url(r.name);
    routing.route.group_wait = "1s";
    routing.route.group_interval = "5s";
    const am = await startAlertmanager(join(scratch, "alertmanager"), routing);
    procs.push(am.proc);
    prom = await startPrometheus(join(scratch, "prometheus"), { targets: replicas.map((r) => r.target), ruleGroups: rule.spec.groups, alertmanager: am.address, interval: "1s" });
    procs.push(prom.proc);
    await until("Prometheus scrapes both replicas", async () => (await promQuery(prom.url, 'up{job="fluxguard-monitor"} == 1')).length === 2, 60_000);

    repo = new TestRepo(join(scratch, "signed"));
  });

  after(async () => {
    for (const r of replicas) await r.proc?.stop();
    for (const p of procs.reverse()) await p.stop();
    await receiver.stop();
    cluster?.stop();
    cleanupKeys();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it("HA: exactly one replica holds the Lease", async () => {
    const leaders = await until("exactly one leader", async () => {
      const l = await Promise.all(replicas.map((r) => r.value("fluxguard_monitor_leader")));
      return l.reduce((a, b) => a + b, 0) === 1 ? l : null;
    });
    assert.deepEqual([...leaders].sort(), [0, 1]);
    const lease = JSON.parse(cluster.kc(["-n", NS, "get", "lease", "fluxguard-monitor", "-o", "json"])) as { spec: { holderIdentity: string } };
    assert.ok(["a", "b"].includes(lease.spec.holderIdentity));
  });

  it("signing key about to expire: the expiry alert arrives before any commit is rejected", async () => {
    const dir = join(scratch, "keys");
    rmSync(dir, { recursive: true, force: true });
    spawnSync("mkdir", ["-p", dir]);
    writeFileSync(join(dir, "signer.asc"), signer.armored);
    writeFileSync(join(dir, "expiring.asc"), expiring.armored);
    cluster.kc(["-n", "flux-system", "create", "secret", "generic", "signers", `--from-file=signer.asc=${join(dir, "signer.asc")}`, `--from-file=expiring.asc=${join(dir, "expiring.asc")}`]);
    repo.commit("signed good commit", app("good"), signing);
    pushSigned();
    const t0 = Date.now();
    cluster.apply(`apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: signed, namespace: flux-system}
spec:
  interval: 10m
  url: ${cluster.gitUrl}/signed.git
  ref: {branch: main}
  verify: {mode: HEAD, secretRef: {name: signers}}
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
    const hit = await until("FluxguardSigningKeyExpiring at the webhook", () => receiver.find("FluxguardSigningKeyExpiring", { namespace: "flux-system", secret: "signers" }, t0), 90_000);
    measured("source created to key-expiry alert", hit.delivery.receivedAt - t0);
    assert.equal(hit.alert.labels["fingerprint"]?.toUpperCase(), expiring.fingerprint.toUpperCase(), "the alert names the expiring key, not the long-lived one");
    assert.equal(hit.delivery.receiver, "posture");
    assert.match(hit.alert.annotations["summary"] ?? "", /expires in 1d/);
    await cluster.waitCondition("gitrepository", "flux-system", "signed", "SourceVerified", "True");
    assert.equal(await verificationCount("signed"), 0, "no commit has been rejected");
    // The monitor exports fingerprints and dates, never key material.
    const text = [...(await replicas[0]!.metrics()).keys()].join("\n");
    assert.ok(!text.includes("BEGIN PGP"), "no armored key in /metrics");
    assert.ok(!text.includes(signer.armored.split("\n").find((l) => l.length > 40)!.slice(0, 40)), "no key material in /metrics");
  });

  it("malicious commit: the counter rises by exactly one and the verification alert reaches the receiver with source and reason", async () => {
    assert.equal(await verificationCount("signed"), 0);
    const bad = repo.commit("unsigned commit", app("evil"), null);
    const t0 = Date.now();
    pushSigned();
    cluster.requestReconcile("gitrepository", "flux-system", "signed");
    const hit = await until("FluxguardVerificationFailed at the webhook", () => receiver.find("FluxguardVerificationFailed", { kind: "GitRepository", namespace: "flux-system", name: "signed" }, t0), 120_000, 50);
    measured("push of the unsigned commit to alert at the receiver", hit.delivery.receivedAt - t0);
    assert.equal(hit.alert.labels["reason"], "InvalidCommitSignature");
    assert.equal(hit.delivery.receiver, "security");
    // The Event of the rejection passes the monitor's Event selector on the real API server.
    const events = cluster.kubectl(["get", "events", "-n", "flux-system", "--field-selector", EVENT_SELECTOR, "-o", "json"]);
    assert.equal(events.code, 0, events.stderr);
    const items = (JSON.parse(events.stdout) as { items: Array<{ reason?: string; involvedObject?: { name?: string } }> }).items;
    assert.ok(items.some((e) => e.reason === "InvalidCommitSignature" && e.involvedObject?.name === "signed"), `source-controller's Warning Events under ${EVENT_SELECTOR}: ${items.map((e) => e.reason).join(", ")}`);
    const failed = cluster.condition("gitrepository", "flux-system", "signed", "SourceVerified");
    assert.match(failed?.message ?? "", new RegExp(bad));
    assert.equal(await verificationCount("signed"), 1);
    // Flux retries the same commit (and emits more Events): still one failure, on both
    // replicas, from the retry until a few seconds after it.
    await cluster.waitReconciled("gitrepository", "flux-system", "signed", cluster.requestReconcile("gitrepository", "flux-system", "signed"));
    await holds("one verification failure on every replica after Flux's retry", async () => {
      const seen = await Promise.all(replicas.map((r) => r.value("fluxguard_verification_failures_total", 'name="signed"', 'reason="InvalidCommitSignature"')));
      return seen.every((v) => v === 1) || `replicas count ${seen.join(", ")}`;
    }, 4000);
    assert.equal(await verificationCount("signed"), 1);
  });

  it("deploy key revoked: the fetch-failure counter rises with its reason, and the fetch alert arrives", async () => {
    const privateRepo = new TestRepo(join(scratch, "private"));
    privateRepo.commit("private app", { "deploy/configmap.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: private, namespace: flux-system}\n" }, null);
    pushTo(privateRepo, `${cluster.gitUrl}/private.git`);
    const htpasswd = join(cluster.env["FLUXGUARD_E2E_GIT_ROOT"] ?? "", "private.git.htpasswd");
    writeFileSync(htpasswd, "deploy:key-1\n");
    cluster.kc(["-n", "flux-system", "create", "secret", "generic", "private-auth", "--from-literal=username=deploy", "--from-literal=password=key-1"]);
    cluster.apply(`apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: private, namespace: flux-system}
spec:
  interval: 10m
  url: ${cluster.gitUrl}/private.git
  ref: {branch: main}
  secretRef: {name: private-auth}
`);
    await cluster.waitCondition("gitrepository", "flux-system", "private", "Ready", "True");
    // The Git server stops accepting the credential (the deploy key is revoked).
    writeFileSync(htpasswd, "deploy:key-2\n");
    const t0 = Date.now();
    cluster.requestReconcile("gitrepository", "flux-system", "private");
    const hit = await until("FluxguardFetchFailed at the webhook", () => receiver.find("FluxguardFetchFailed", { kind: "GitRepository", namespace: "flux-system", name: "private" }, t0), 120_000, 50);
    measured("credential revoked to fetch alert at the receiver", hit.delivery.receivedAt - t0);
    const fetch = cluster.condition("gitrepository", "flux-system", "private", "FetchFailed");
    assert.equal(fetch?.status, "True");
    assert.equal(hit.alert.labels["reason"], fetch?.reason, "the alert carries Flux's reason");
    const series = await promQuery(prom.url, 'max by (reason) (fluxguard_fetch_failures_total{name="private"})');
    assert.deepEqual(
      series.map((s) => [s.labels["reason"], s.value]),
      [[fetch?.reason, 1]],
    );
  });

  it("RBAC too restrictive: the readiness alert arrives after its for:, and the denied counter names the kind", async () => {
    const tenant = new TestRepo(join(scratch, "tenant"));
    tenant.commit(
      "tenant app",
      {
        "configmap.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web, namespace: team-a}\n",
        "escalate.yaml":
          "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: team-a-admin}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}\nsubjects: [{kind: ServiceAccount, name: team-a, namespace: team-a}]\n",
      },
      null,
    );
    pushTo(tenant, `${cluster.gitUrl}/tenant.git`);
    const applied = Date.now();
    cluster.apply(`apiVersion: v1
kind: Namespace
metadata: {name: team-a}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: team-a, namespace: team-a}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: team-a, namespace: team-a}
rules: [{apiGroups: [""], resources: [configmaps], verbs: ["*"]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: team-a, namespace: team-a}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: team-a}
subjects: [{kind: ServiceAccount, name: team-a, namespace: team-a}]
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: tenant, namespace: team-a}
spec: {interval: 10m, url: "${cluster.gitUrl}/tenant.git", ref: {branch: main}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: team-a, namespace: team-a}
spec:
  interval: 10m
  retryInterval: 5s
  path: ./
  prune: true
  serviceAccountName: team-a
  sourceRef: {kind: GitRepository, name: tenant}
`);
    const failed = await cluster.waitCondition("kustomization", "team-a", "team-a", "Ready", "False", (c) => /forbidden/.test(c.message));
    assert.match(failed.message, /ClusterRoleBinding/);
    const firstFailure = Date.now();
    const hit = await until("FluxguardResourceNotReady at the webhook", () => receiver.find("FluxguardResourceNotReady", { kind: "Kustomization", namespace: "team-a", name: "team-a" }), 120_000, 100);
    // The Kustomization is not Ready from its creation (first "in progress", then the refused
    // apply), so the monitor's clock starts at the apply: the rule's threshold plus `for`
    // (14 s + 2 s for a 20 s notReadyAfter) must pass before it fires, and not much more.
    const sinceApply = hit.delivery.receivedAt - applied;
    measured("tenant Kustomization created to readiness alert (notReadyAfter 20 s)", sinceApply);
    measured("tenant Kustomization refused to readiness alert", hit.delivery.receivedAt - firstFailure);
    assert.ok(sinceApply >= 15_000, `not before its threshold and for: (${sinceApply} ms)`);
    assert.ok(sinceApply <= NOT_READY_AFTER * 1000 + 15_000, `in time (${sinceApply} ms)`);
    const denied = await until("the denied counter", async () => {
      const r = await promQuery(prom.url, 'max by (identity, kind, verb, mechanism) (fluxguard_reconcile_denied_total{identity="team-a/team-a"})');
      return r.length ? r : null;
    });
    assert.ok(denied.some((d) => d.labels["kind"] === "ClusterRoleBinding" && d.labels["mechanism"] === "rbac" && d.value >= 1), JSON.stringify(denied));
    await until("FluxguardReconcileDenied at the webhook", () => receiver.find("FluxguardReconcileDenied", { identity: "team-a/team-a", kind: "ClusterRoleBinding" }), 30_000);
  });

  it("posture: with the chart's RBAC, the cluster-admin reconcilers and the missing lockdown are reported", async () => {
    // flux-system/signed runs as kustomize-controller (cluster-admin); team-a/team-a as its own account.
    const admins = await until("posture gauges", async () => {
      const r = await promQuery(prom.url, "max by (identity, tier) (fluxguard_reconciler_cluster_admin)");
      return r.length ? r : null;
    }, 60_000);
    assert.deepEqual(admins.map((a) => a.labels["identity"]), ["flux-system/kustomize-controller"]);
    assert.equal((await promQuery(prom.url, "max(fluxguard_reconcilers_cluster_admin)"))[0]?.value, 1);
    const lockdown = await promQuery(prom.url, 'max by (controller) (fluxguard_lockdown_enabled{controller="kustomize-controller"})');
    assert.equal(lockdown[0]?.value, 0, "the cluster runs without the lockdown flags");
    assert.equal(await replicas[0]!.value("fluxguard_monitor_errors_total", 'stage="posture"'), 0, "posture ran with the chart's RBAC");
  });

  it("API server restart: the monitor recovers in under 30 s, loses no failure and double-counts none", async () => {
    // (While the API server is down, source-controller may report VerificationError: it cannot
    // read the keys Secret. That is a failure of its own reason; the rejected commits are counted here.)
    const rejected = 'reason="InvalidCommitSignature"';
    const before = await Promise.all(replicas.map((r) => r.value("fluxguard_verification_failures_total", 'name="signed"', rejected)));
    assert.deepEqual(before, [1, 1]);
    const restarts = await Promise.all(replicas.map((r) => r.value("fluxguard_monitor_watch_restarts_total", 'resource="gitrepositories.source.toolkit.fluxcd.io"')));
    const t0 = Date.now();
    cluster.restartApiserver();
    const apiUp = Date.now();
    measured("kube-apiserver stop and start", apiUp - t0);
    // A failure right after the restart, before the monitor has reconnected: must not be lost.
    repo.commit("second unsigned commit", app("evil-2"), null);
    pushSigned();
    cluster.requestReconcile("gitrepository", "flux-system", "signed");
    for (const [i, r] of replicas.entries()) {
      await until(`replica ${r.identity} re-watching`, async () => (await r.value("fluxguard_monitor_watch_restarts_total", 'resource="gitrepositories.source.toolkit.fluxcd.io"')) > restarts[i]! && (await r.value("fluxguard_monitor_watch_up", 'resource="gitrepositories.source.toolkit.fluxcd.io"')) === 1, 60_000, 100);
    }
    const recovered = Date.now() - apiUp;
    measured("API server ready to both replicas watching again", recovered);
    assert.ok(recovered < 30_000, `recovered in ${recovered} ms`);
    const counts = async (): Promise<number[]> => Promise.all(replicas.map((r) => r.value("fluxguard_verification_failures_total", 'name="signed"', rejected)));
    await until("the failure after the restart is counted", async () => (await counts()).every((v) => v === 2), 60_000);
    await holds("exactly one more, on both replicas", async () => {
      const seen = await counts();
      return seen.every((v) => v === 2) || `replicas count ${seen.join(", ")}`;
    }, 3000);
    assert.equal(await verificationCount("signed"), 2);
  });

  it("HA: the leader replica killed and started again loses nothing and double-counts nothing", async () => {
    const leaderIdx = await until("a leader", async () => {
      const l = await Promise.all(replicas.map((r) => r.value("fluxguard_monitor_leader")));
      const i = l.indexOf(1);
      return i >= 0 ? i : null;
    });
    const leader = replicas[leaderIdx]!;
    const other = replicas[1 - leaderIdx]!;
    const counters = async (r: MonitorReplica): Promise<Record<string, number>> => {
      const out: Record<string, number> = {};
      for (const [k, v] of await r.metrics()) if (/^fluxguard_(verification|fetch)_failures_total\{/.test(k)) out[k] = v;
      return out;
    };
    const expected = await counters(other);
    assert.ok(Object.keys(expected).length >= 2, JSON.stringify(expected));
    await leader.proc!.stop("SIGKILL");
    const t0 = Date.now();
    await until("the other replica takes the Lease", async () => (await other.value("fluxguard_monitor_leader")) === 1, 30_000, 100);
    measured("leader killed to the other replica leading", Date.now() - t0);
    // Meanwhile, the alerts keep coming from the survivor: Prometheus still sees every counter.
    assert.equal(await verificationCount("signed"), 2);
    await leader.start();
    measured(`replica ${leader.identity} restarted: ready (ledger loaded, relisted)`, await leader.ready());
    assert.deepEqual(await counters(leader), expected, "the restarted replica serves the same counters: nothing lost, nothing counted twice");
    assert.deepEqual(await counters(other), expected);
    const cm = JSON.parse(cluster.kc(["-n", NS, "get", "configmap", "fluxguard-monitor-state", "-o", "json"])) as { binaryData: Record<string, string> };
    const ledger = JSON.parse(gunzipSync(Buffer.from(cm.binaryData["ledger.json.gz"] ?? "", "base64")).toString("utf8")) as { keys: Record<string, unknown> };
    assert.ok(Object.keys(ledger.keys).some((k) => k.startsWith("verification/")), "the ledger is persisted in the ConfigMap");
  });
});
