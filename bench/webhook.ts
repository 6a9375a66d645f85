/**
 * `npm run bench -- webhook`:
 *
 * 1. Direct load on loopback: `fluxguard webhook serve --objects` (a separate process, a
 *    small cluster's objects from src/webhook/testdata.ts) answering real AdmissionReviews
 *    over TLS, driven by autocannon at 10, 100 and 500 concurrent connections, each with one
 *    request in flight (closed loop). p50, p99, throughput, errors. Half the reviews are a
 *    compliant Kustomization, half a ClusterRoleBinding that is denied. Then the same at a
 *    fixed offered rate (500 connections sharing FLUXGUARD_BENCH_RATE req/s), which measures
 *    service time rather than queueing.
 * 2. End to end through the real kube-apiserver (test/e2e/cluster.sh): N concurrent creates of
 *    GitRepositories with no admission, with the generated ValidatingAdmissionPolicies, and
 *    with the policies plus the webhook (its watches on that cluster). Needs the e2e binaries
 *    cached; skipped with a note otherwise.
 *
 * Knobs: FLUXGUARD_BENCH_SECONDS (default 10 per load point), FLUXGUARD_BENCH_RATE (default
 * 300, below this machine's closed-loop throughput), FLUXGUARD_BENCH_CREATES (default 600),
 * FLUXGUARD_BENCH_CREATE_CONCURRENCY (default 50), FLUXGUARD_BENCH_E2E=0 skips part 2.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:https";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import autocannon from "autocannon";
import { parse, stringify } from "yaml";
import { readFileSync } from "node:fs";
import { E2ECluster } from "../src/e2e/harness.js";
import { freePort, WebhookProcess } from "../src/e2e/webhook.js";
import { bootstrapCertificates } from "../src/webhook/certs.js";
import { admissionReview, baselineCluster } from "../src/webhook/testdata.js";
import { parseSpec } from "../src/generate/spec.js";
import { rulePolicyDocs, admissionPolicyDocs } from "../src/generate/policies.js";
import { stringifyDocs } from "../src/generate/emit.js";
import { table } from "./_util.js";

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, "..", "..");
const CLI = join(repoRoot, "dist", "src", "bin", "fluxguard.js");
const CLUSTER_SH = join(repoRoot, "test", "e2e", "cluster.sh");
const SECONDS = Number(process.env["FLUXGUARD_BENCH_SECONDS"] ?? 10);
const RATE = Number(process.env["FLUXGUARD_BENCH_RATE"] ?? 300);
const CREATES = Number(process.env["FLUXGUARD_BENCH_CREATES"] ?? 600);
const CREATE_CONCURRENCY = Number(process.env["FLUXGUARD_BENCH_CREATE_CONCURRENCY"] ?? 50);

interface Load {
  label: string;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  rps: number;
  requests: number;
  errors: number;
  non2xx: number;
}

async function cannon(url: string, connections: number, bodies: string[], overallRate?: number): Promise<Load> {
  const r = await autocannon({
    url: `${url}/validate`,
    connections,
    duration: SECONDS,
    ...(overallRate ? { overallRate } : {}),
    requests: bodies.map((body) => ({ method: "POST", path: "/validate", headers: { "content-type": "application/json" }, body })),
  });
  return {
    label: overallRate ? `${connections} conns, ${overallRate} req/s offered` : `${connections} conns, closed loop`,
    p50: r.latency.p50,
    p90: r.latency.p90,
    p99: r.latency.p99,
    max: r.latency.max,
    rps: r.requests.average,
    requests: r.requests.total,
    errors: r.errors + r.timeouts,
    non2xx: r.non2xx,
  };
}

async function waitReady(port: number, ca: string, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error("the webhook exited");
    const ok = await new Promise<boolean>((res) => {
      const req = request({ host: "127.0.0.1", port, path: "/readyz", ca, agent: false }, (r) => {
        r.resume();
        res(r.statusCode === 200);
      });
      req.on("error", () => res(false));
      req.end();
    });
    if (ok) return;
    await sleep(100);
  }
  throw new Error("the webhook never became ready");
}

async function direct(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "fluxguard-bench-webhook-"));
  let child: ChildProcess | null = null;
  try {
    const certs = bootstrapCertificates({ dir, hosts: ["127.0.0.1"] });
    const objects = join(dir, "objects.yaml");
    writeFileSync(objects, baselineCluster().map((o) => stringify(o)).join("---\n"));
    const port = await freePort();
    child = spawn(process.execPath, [CLI, "webhook", "serve", "--objects", objects, "--tls-cert", certs.certFile, "--tls-key", certs.keyFile, "--host", "127.0.0.1", "--port", String(port)], { stdio: ["ignore", "ignore", "ignore"] });
    await waitReady(port, certs.caPem, child);
    const ks = {
      apiVersion: "kustomize.toolkit.fluxcd.io/v1",
      kind: "Kustomization",
      metadata: { name: "apps", namespace: "team-a" },
      spec: { interval: "10m", path: "./", prune: true, serviceAccountName: "team-a", targetNamespace: "team-a", sourceRef: { kind: "GitRepository", name: "team-a" } },
    };
    const crb = {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: "team-a-admin" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
      subjects: [{ kind: "ServiceAccount", name: "team-a", namespace: "team-a" }],
    };
    const bodies = [JSON.stringify(admissionReview(ks)), JSON.stringify(admissionReview(crb))];
    const url = `https://127.0.0.1:${port}`;
    await cannon(url, 10, bodies); // warm-up (JIT), not reported
    const rows: Load[] = [];
    for (const c of [10, 100, 500]) rows.push(await cannon(url, c, bodies));
    rows.push(await cannon(url, 500, bodies, RATE));
    console.log(`direct AdmissionReview load over TLS on loopback (${SECONDS} s per row; ${baselineCluster().length} objects in the model; half allowed, half denied)`);
    console.log(
      table([
        ["load", "p50 ms", "p90 ms", "p99 ms", "max ms", "req/s", "requests", "errors", "non-2xx"],
        ...rows.map((r) => [r.label, String(r.p50), String(r.p90), String(r.p99), String(r.max), r.rps.toFixed(0), String(r.requests), String(r.errors), String(r.non2xx)]),
      ]),
    );
    console.log("closed loop: latency ≈ connections / throughput (queueing); the fixed-rate row is the service time under 500 open connections.");
  } finally {
    child?.kill("SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  }
}

function cachedControlPlane(): string | null {
  if (spawnSync("go", ["version"], { stdio: "ignore" }).status !== 0) return "Go is not installed";
  const r = spawnSync("bash", [CLUSTER_SH, "build", "--check"], { encoding: "utf8", env: { ...process.env, FLUXGUARD_E2E_COMPONENTS: "etcd kube-apiserver source-controller kustomize-controller" } });
  return r.status === 0 ? null : `the control plane is not built (${(r.stderr || r.stdout).trim().split("\n").pop()})`;
}

interface Api {
  server: string;
  token: string;
  ca: string;
}

function post(api: Api, path: string, body: unknown, agent: Agent): Promise<{ status: number; ms: number }> {
  const u = new URL(api.server);
  const data = JSON.stringify(body);
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(
      { host: u.hostname, port: u.port, path, method: "POST", ca: api.ca, agent, headers: { Authorization: `Bearer ${api.token}`, "Content-Type": "application/json", "Content-Length": Buffer.byteLength(data) } },
      (res) => {
        res.resume();
        res.on("end", () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - t0 }));
      },
    );
    req.on("error", reject);
    req.end(data);
  });
}

async function creates(api: Api, label: string, round: number): Promise<string[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: CREATE_CONCURRENCY });
  const lat: number[] = [];
  let failed = 0;
  let next = 0;
  const t0 = performance.now();
  const worker = async (): Promise<void> => {
    while (next < CREATES) {
      const i = next++;
      const body = {
        apiVersion: "source.toolkit.fluxcd.io/v1",
        kind: "GitRepository",
        metadata: { name: `bench-${round}-${i}`, namespace: "bench" },
        spec: { interval: "60m", suspend: true, url: `ssh://git@example.com/r${i}`, ref: { branch: "main" }, verify: { mode: "HEAD", secretRef: { name: "signers" } } },
      };
      const r = await post(api, "/apis/source.toolkit.fluxcd.io/v1/namespaces/bench/gitrepositories", body, agent);
      lat.push(r.ms);
      if (r.status !== 201) failed++;
    }
  };
  await Promise.all(Array.from({ length: CREATE_CONCURRENCY }, () => worker()));
  const wall = performance.now() - t0;
  agent.destroy();
  lat.sort((a, b) => a - b);
  const p = (q: number): number => lat[Math.min(lat.length - 1, Math.floor(q * lat.length))]!;
  return [label, p(0.5).toFixed(1), p(0.99).toFixed(1), (wall / 1000).toFixed(2), (CREATES / (wall / 1000)).toFixed(0), String(failed)];
}

async function endToEnd(): Promise<void> {
  const why = cachedControlPlane();
  if (why) {
    console.log(`end to end through the API server: skipped, ${why}`);
    return;
  }
  process.env["FLUXGUARD_E2E_COMPONENTS"] = "etcd kube-apiserver source-controller kustomize-controller";
  const cluster = E2ECluster.start();
  let webhook: WebhookProcess | null = null;
  try {
    cluster.kc(["create", "namespace", "bench"]);
    cluster.kc(["create", "namespace", "fluxguard-system"]);
    const kc = parse(readFileSync(cluster.kubeconfig, "utf8")) as { clusters: Array<{ cluster: { server: string; "certificate-authority-data": string } }>; users: Array<{ user: { token: string } }> };
    const api: Api = { server: kc.clusters[0]!.cluster.server, token: kc.users[0]!.user.token, ca: Buffer.from(kc.clusters[0]!.cluster["certificate-authority-data"], "base64").toString() };
    const spec = parseSpec("platform:\n  repository: ssh://git@example.com/fleet\ntenants:\n  - name: a\n    repository: ssh://git@example.com/a\n    allowedRegistries: [ghcr.io/example]\n", "spec.yaml");
    const rows: string[][] = [];
    // Warm-up round: the API server's caches and connections.
    await creates(api, "warm-up", 0);
    rows.push(await creates(api, "no admission", 1));
    cluster.apply(stringifyDocs([...admissionPolicyDocs(spec), ...rulePolicyDocs(spec)], "bench"));
    await sleep(3000); // the policy plugin picks up new policies asynchronously
    rows.push(await creates(api, "generated VAPs", 2));
    webhook = new WebhookProcess(cluster, await freePort());
    await webhook.start();
    cluster.apply(webhook.configuration("fluxguard-system"));
    await sleep(2000);
    rows.push(await creates(api, "VAPs + webhook", 3));
    const base = Number(rows[0]![1]);
    const base99 = Number(rows[0]![2]);
    console.log(`\nend to end through the real kube-apiserver: ${CREATES} GitRepository creates, ${CREATE_CONCURRENCY} concurrent (keep-alive), per configuration`);
    console.log(
      table([
        ["admission", "p50 ms", "p99 ms", "wall s", "creates/s", "failed", "p50 ratio", "p99 ratio"],
        ...rows.map((r) => [...r, (Number(r[1]) / base).toFixed(2), (Number(r[2]) / base99).toFixed(2)]),
      ]),
    );
    const m = (await webhook.get("/metrics")).body;
    const sum = Number(/fluxguard_webhook_admission_duration_seconds_sum\{decision="allowed"\} ([0-9.e-]+)/.exec(m)?.[1] ?? NaN);
    const count = Number(/fluxguard_webhook_admission_duration_seconds_count\{decision="allowed"\} (\d+)/.exec(m)?.[1] ?? NaN);
    console.log(`webhook's own time per admission (its histogram, allowed): mean ${((sum / count) * 1000).toFixed(2)} ms over ${count}`);

  } finally {
    await webhook?.stop();
    cluster.stop();
  }
}

export async function run(): Promise<void> {
  await direct();
  if (process.env["FLUXGUARD_BENCH_E2E"] !== "0") await endToEnd();
}
