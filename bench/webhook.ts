/**
 * `npm run bench -- webhook`:
 *
 * 1. Direct load on loopback: `fluxguard webhook serve --objects` (a separate process, a
 *    small cluster's objects from src/testing/admission.ts) answering real AdmissionReviews
 *    over TLS, driven by autocannon at 10, 100 and 500 concurrent connections, each with one
 *    request in flight (closed loop), and at fixed offered rates (open loop: service time
 *    rather than queueing). Half the reviews are a compliant Kustomization, half a
 *    ClusterRoleBinding that is denied. Each row is repeated against the platform floor, a bare
 *    node:https server that only parses the review (bench/_floor-server.ts), and the table gives
 *    ours/floor and the webhook's CPU time per request (from /proc).
 *    Before that, the evaluator alone in the bench's process: CPU per review for a candidate of
 *    each of four kinds (what the server's figures cannot separate from HTTP and TLS).
 * 2. End to end through the real kube-apiserver (test/e2e/cluster.sh): N concurrent creates of
 *    GitRepositories with no admission, with the generated ValidatingAdmissionPolicies, and
 *    with the policies plus the webhook (its watches on that cluster). Needs the e2e binaries
 *    cached; skipped with a note otherwise.
 *
 * Knobs: FLUXGUARD_BENCH_SECONDS (default 10 per load point), FLUXGUARD_BENCH_RATE (default
 * 1000 req/s over 500 connections), FLUXGUARD_BENCH_LOW_RATE (default 200 req/s over 10
 * connections), FLUXGUARD_BENCH_OBJECTS (GitRepositories added to the direct model, default 0),
 * FLUXGUARD_BENCH_CREATES (default 600), FLUXGUARD_BENCH_CREATE_CONCURRENCY (default 50),
 * FLUXGUARD_BENCH_DIRECT=0 skips part 1, FLUXGUARD_BENCH_E2E=0 skips part 2.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { Agent, request } from "node:https";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import autocannon from "autocannon";
import { stringify } from "yaml";
import { readFileSync } from "node:fs";
import { E2ECluster } from "../src/e2e/harness.js";
import { testApiOf, testApiPost, type TestApi } from "../src/testing/kube-api.js";
import { freePort, WebhookProcess } from "../src/e2e/webhook.js";
import { bootstrapCertificates } from "../src/webhook/certs.js";
import { baselineCluster, benchGitRepository, reviewBody, teamAdminBinding, tenantKustomization } from "../src/testing/admission.js";
import type { K8sObject } from "../src/core/types.js";
import { defaultConfig } from "../src/core/config.js";
import { ALL_RULES } from "../src/rules/index.js";
import { AdmissionEvaluator } from "../src/webhook/evaluate.js";
import { StaticObjects } from "../src/webhook/objects.js";
import { parseSpec } from "../src/generate/spec.js";
import { rulePolicyDocs, admissionPolicyDocs } from "../src/generate/policies.js";
import { stringifyDocs } from "../src/generate/emit.js";
import { table } from "./_util.js";

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, "..", "..");
const CLI = join(repoRoot, "dist", "src", "bin", "fluxguard.js");
const FLOOR = join(here, "_floor-server.js");
const CLUSTER_SH = join(repoRoot, "test", "e2e", "cluster.sh");
const SECONDS = Number(process.env["FLUXGUARD_BENCH_SECONDS"] ?? 10);
const RATE = Number(process.env["FLUXGUARD_BENCH_RATE"] ?? 1000);
const LOW_RATE = Number(process.env["FLUXGUARD_BENCH_LOW_RATE"] ?? 200);
const EXTRA_OBJECTS = Number(process.env["FLUXGUARD_BENCH_OBJECTS"] ?? 0);
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

/** CPU seconds (user + system) a process has used so far, from /proc (null elsewhere). */
function cpuSeconds(pid: number | undefined): number | null {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return null;
  }
}

function loadAverage(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(", ");
}

async function waitReady(port: number, ca: string, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error("the server exited");
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
  throw new Error("the server never became ready");
}

/** The model the direct load is judged against: the small test cluster, plus FLUXGUARD_BENCH_OBJECTS GitRepositories. */
function benchObjects(): K8sObject[] {
  const objs = baselineCluster();
  for (let i = 0; i < EXTRA_OBJECTS; i++) objs.push(benchGitRepository(`bench-${i}`, "bench"));
  return objs;
}

/**
 * The evaluator alone, in this process: CPU per review of one candidate of each kind against
 * the bench's objects (the baselines prepared first, as the server does after its watches
 * settle), so a change to the review's cost shows without the HTTP and TLS around it.
 */
function inProcess(objects: K8sObject[]): void {
  const source = new StaticObjects(objects);
  const evaluator = new AdmissionEvaluator({ config: defaultConfig(), rules: ALL_RULES, denyAt: "high", mode: "enforce" });
  evaluator.prepare(source.snapshot());
  const snapshot = source.snapshot();
  const candidates: Array<[string, K8sObject]> = [
    ["Kustomization (tenant, allowed)", tenantKustomization("apps", "team-a") as K8sObject],
    ["ClusterRoleBinding (cluster-admin, denied)", teamAdminBinding() as K8sObject],
    ["GitRepository (signed, allowed)", benchGitRepository("in-process", "bench")],
    ["ImagePolicy (bounded, allowed)", { apiVersion: "image.toolkit.fluxcd.io/v1", kind: "ImagePolicy", metadata: { name: "web", namespace: "team-a" }, spec: { imageRepositoryRef: { name: "web" }, policy: { semver: { range: ">=1.0.0 <2.0.0" } } } } as unknown as K8sObject],
  ];
  const rows: string[][] = [];
  for (const [label, object] of candidates) {
    const review = (): boolean => evaluator.review({ operation: "CREATE", object, oldObject: null }, snapshot).allowed;
    for (let i = 0; i < 30; i++) review(); // warm-up (JIT)
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let n = 0;
    while (performance.now() - t0 < 1000 * Math.min(SECONDS, 3)) {
      review();
      n++;
    }
    const cpu = process.cpuUsage(cpu0);
    rows.push([label, String(n), ((cpu.user + cpu.system) / 1000 / n).toFixed(3), ((performance.now() - t0) / n).toFixed(3)]);
  }
  console.log(`in-process reviews (${objects.length} objects in the model; load average ${loadAverage()})`);
  console.log(table([["candidate", "reviews", "CPU ms/review", "wall ms/review"], ...rows]));
}

async function direct(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "fluxguard-bench-webhook-"));
  const children: ChildProcess[] = [];
  try {
    const certs = bootstrapCertificates({ dir, hosts: ["127.0.0.1"] });
    const objects = benchObjects();
    inProcess(objects);
    const objectsFile = join(dir, "objects.yaml");
    writeFileSync(objectsFile, objects.map((o) => stringify(o)).join("---\n"));
    const port = await freePort();
    const ours = spawn(process.execPath, [CLI, "webhook", "serve", "--objects", objectsFile, "--tls-cert", certs.certFile, "--tls-key", certs.keyFile, "--host", "127.0.0.1", "--port", String(port)], { stdio: ["ignore", "ignore", "ignore"] });
    children.push(ours);
    await waitReady(port, certs.caPem, ours);
    const floorPort = await freePort();
    const floor = spawn(process.execPath, [FLOOR, certs.certFile, certs.keyFile, String(floorPort)], { stdio: ["ignore", "ignore", "inherit"] });
    children.push(floor);
    await waitReady(floorPort, certs.caPem, floor);
    const bodies = [reviewBody(tenantKustomization("apps", "team-a")), reviewBody(teamAdminBinding())];
    const url = `https://127.0.0.1:${port}`;
    const floorUrl = `https://127.0.0.1:${floorPort}`;
    await cannon(url, 10, bodies); // warm-up (JIT), not reported
    await cannon(floorUrl, 10, bodies);
    const loads: Array<[number, number | undefined]> = [[10, undefined], [100, undefined], [500, undefined], [10, LOW_RATE], [500, RATE]];
    const rows: Array<{ ours: Load; floor: Load; cpuMs: number | null }> = [];
    const load0 = loadAverage();
    for (const [c, rate] of loads) {
      const cpu0 = cpuSeconds(ours.pid);
      const o = await cannon(url, c, bodies, rate);
      const cpu1 = cpuSeconds(ours.pid);
      rows.push({ ours: o, floor: await cannon(floorUrl, c, bodies, rate), cpuMs: cpu0 !== null && cpu1 !== null && o.requests > 0 ? ((cpu1 - cpu0) * 1000) / o.requests : null });
    }
    console.log(`direct AdmissionReview load over TLS on loopback (${SECONDS} s per row; ${objects.length} objects in the model; half allowed, half denied); load average ${load0} before, ${loadAverage()} after`);
    console.log("ours: fluxguard webhook serve; floor: a bare node:https server that parses the review and answers allowed (bench/_floor-server.ts), same TLS, bodies and client");
    const f = (n: number): string => (n >= 100 ? n.toFixed(0) : n.toFixed(1));
    console.log(
      table([
        ["load", "p50 ms", "p99 ms", "max ms", "req/s", "errors", "CPU ms/req", "floor p50", "floor p99", "floor req/s", "p99 ours/floor", "req/s ours/floor"],
        ...rows.map(({ ours: o, floor: fl, cpuMs }) => [
          o.label,
          f(o.p50),
          f(o.p99),
          f(o.max),
          o.rps.toFixed(0),
          String(o.errors + o.non2xx),
          cpuMs === null ? "n/a" : cpuMs.toFixed(2),
          f(fl.p50),
          f(fl.p99),
          fl.rps.toFixed(0),
          (o.p99 / Math.max(fl.p99, 1)).toFixed(2),
          (o.rps / Math.max(fl.rps, 1)).toFixed(2),
        ]),
      ]),
    );
    // Little's law: connections = throughput × latency. With 500 connections each keeping one
    // request in flight, a p99 under 5 ms needs the server to complete 500 / 0.005 requests a second.
    const needed = 500 / 0.005;
    const floor500 = rows[2]!.floor.rps;
    if (floor500 < needed) {
      console.log(
        `Little's law: p99 < 5 ms at 500 closed-loop connections needs > ${needed.toLocaleString("en")} req/s; the bare Node floor does ${floor500.toFixed(0)} req/s here (p99 ${f(rows[2]!.floor.p99)} ms), so no Node webhook can meet it on this machine in closed loop. The comparable figure is the open-loop service time: the "offered" rows (the ${LOW_RATE} req/s row is the least queued).`,
      );
    }
  } finally {
    for (const c of children) c.kill("SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  }
}

function cachedControlPlane(): string | null {
  if (spawnSync("go", ["version"], { stdio: "ignore" }).status !== 0) return "Go is not installed";
  const r = spawnSync("bash", [CLUSTER_SH, "build", "--check"], { encoding: "utf8", env: { ...process.env, FLUXGUARD_E2E_COMPONENTS: "etcd kube-apiserver source-controller kustomize-controller" } });
  return r.status === 0 ? null : `the control plane is not built (${(r.stderr || r.stdout).trim().split("\n").pop()})`;
}

async function creates(api: TestApi, label: string, round: number): Promise<string[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: CREATE_CONCURRENCY });
  const lat: number[] = [];
  let failed = 0;
  let next = 0;
  const t0 = performance.now();
  const worker = async (): Promise<void> => {
    while (next < CREATES) {
      const i = next++;
      const body = benchGitRepository(`bench-${round}-${i}`, "bench");
      const r = await testApiPost(api, "/apis/source.toolkit.fluxcd.io/v1/namespaces/bench/gitrepositories", body, agent);
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
    const api = testApiOf(cluster.kubeconfig);
    const spec = parseSpec("platform:\n  repository: ssh://git@example.com/fleet\ntenants:\n  - name: a\n    repository: ssh://git@example.com/a\n    allowedRegistries: [ghcr.io/example]\n", "spec.yaml");
    const rows: string[][] = [];
    console.log(`\nend to end: load average ${loadAverage()} before`);
    // Warm-up round: the API server's caches and connections.
    // Each configuration starts from the same cluster: the previous round's objects are deleted.
    const clear = async (): Promise<void> => {
      cluster.kubectl(["-n", "bench", "delete", "gitrepositories", "--all", "--wait=false"]);
      for (let i = 0; i < 600; i++) {
        const left = cluster.kubectl(["-n", "bench", "get", "gitrepositories", "-o", "name"]).stdout.trim();
        if (left === "") return;
        await sleep(1000);
      }
      throw new Error("the previous round's GitRepositories were not deleted within 10 minutes");
    };
    await creates(api, "warm-up", 0);
    await clear();
    rows.push(await creates(api, "no admission", 1));
    await clear();
    cluster.apply(stringifyDocs([...admissionPolicyDocs(spec), ...rulePolicyDocs(spec)], "bench"));
    await sleep(3000); // the policy plugin picks up new policies asynchronously
    rows.push(await creates(api, "generated VAPs", 2));
    await clear();
    webhook = new WebhookProcess(cluster, await freePort());
    await webhook.start();
    cluster.apply(webhook.configuration("fluxguard-system"));
    await sleep(2000);
    const cpu0 = cpuSeconds(webhook.pid);
    rows.push(await creates(api, "VAPs + webhook", 3));
    const cpu1 = cpuSeconds(webhook.pid);
    if (cpu0 !== null && cpu1 !== null) console.log(`\nthe webhook process used ${((cpu1 - cpu0) * 1000 / CREATES).toFixed(1)} ms of CPU per create during the webhook round (admission, watch events, baselines)`);
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
    const watched = /fluxguard_webhook_watched_objects (\d+)/.exec(m)?.[1] ?? "?";
    console.log(`webhook's own time per admission (its histogram, allowed): mean ${((sum / count) * 1000).toFixed(2)} ms over ${count}, ${watched} objects in its watch caches at the end; load average ${loadAverage()}`);
    console.log(
      `anchor: Kyverno 1.18.1's published benchmark, p99 1,113 ms at 500 concurrent users with 1 replica, end to end (its own cluster and policies; not like for like). Ours end to end: p99 ${rows[2]![2]} ms at ${CREATE_CONCURRENCY} concurrent creates with the VAPs and the webhook (FLUXGUARD_BENCH_CREATE_CONCURRENCY=500 for the same concurrency).`,
    );

  } finally {
    await webhook?.stop();
    cluster.stop();
  }
}

export async function run(): Promise<void> {
  if (process.env["FLUXGUARD_BENCH_DIRECT"] !== "0") await direct();
  if (process.env["FLUXGUARD_BENCH_E2E"] !== "0") await endToEnd();
}
