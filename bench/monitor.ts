/**
 * `npm run bench -- monitor`: `fluxguard monitor` against the real API server of the e2e
 * suite (test/e2e/cluster.sh: etcd and kube-apiserver with the Flux CRDs), loaded with Flux objects that carry realistic status (Ready
 * conditions, a third failing; Kustomizations with a 10-entry inventory):
 *
 * - catch-up: process start to /readyz 200 (wall and CPU time), and resident memory (RSS, and
 *   its peak) after the first scrapes, at each size (default 1,000 and 10,000 objects), with
 *   the Node flags the chart sets (MONITOR_NODE_OPTIONS); beside it, the floor: the same lists
 *   made by a plain client (kubectl get --raw: API server time and transfer, no processing);
 *   and the monitor again with `--no-watch-list` (lists instead of watch-lists), and with the
 *   posture analysis on (time from start until its first gauges are served, RSS and peak);
 * - churn: first FLUXGUARD_BENCH_CHURN_SATURATE (default 2) passes that flip every object to
 *   failing and back, so the monitor's state (counter series, failure identities) is at its
 *   bound; then status flips (Ready True/False, fetch failures), deletes and creates for
 *   FLUXGUARD_BENCH_CHURN_SECONDS (default 300; an hour with 3600) while /metrics is scraped
 *   every FLUXGUARD_BENCH_SCRAPE_SECONDS (default 2); RSS and the monitor's state sampled
 *   every FLUXGUARD_BENCH_SAMPLE_SECONDS (default 15, 60 from 20 minutes of churn), each
 *   sample printed as it is taken (a long run can be followed in its log), then start, end
 *   and the least-squares slope after a 60 s warm-up;
 * - kube-state-metrics v2.15.0 (built from its Go module by `cluster.sh build` with
 *   FLUXGUARD_E2E_COMPONENTS=kube-state-metrics) with the Flux custom-resource-state config
 *   `fluxguard generate` writes, on the same objects, when it is built: time until it serves
 *   a series per object, and its RSS.
 *
 * Needs the e2e binaries cached; without them it says so and skips. Knobs:
 * FLUXGUARD_BENCH_MONITOR_SIZES (default "1000,10000"), FLUXGUARD_BENCH_CHURN_SECONDS (0: no
 * churn), FLUXGUARD_BENCH_CHURN_RATE (status updates/s, default 0: unthrottled),
 * FLUXGUARD_BENCH_SAMPLE_SECONDS, FLUXGUARD_BENCH_MONITOR_NODE_OPTIONS (default: the
 * chart's). Every figure is printed with the load average at the time: on a busy machine
 * wall times are upper bounds.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { stringify } from "yaml";
import type * as K8sModule from "@kubernetes/client-node";
import { E2ECluster } from "../src/e2e/harness.js";
import { ksmCustomResourceConfig } from "../src/generate/monitoring.js";
import { ms, table } from "./_util.js";

const here = dirname(fileURLToPath(import.meta.url)); // dist/bench
const repoRoot = resolve(here, "..", "..");
const CLI = join(repoRoot, "dist", "src", "bin", "fluxguard.js");
const CLUSTER_SH = join(repoRoot, "test", "e2e", "cluster.sh");
// Only the API server: the objects are status-written by the bench, no controller needs to run
// (their CRDs come from the controllers' Go modules, as cluster.sh takes them).
const COMPONENTS = "etcd kube-apiserver";
const CRD_MODULES = ["source-controller", "kustomize-controller"];
const SIZES = (process.env["FLUXGUARD_BENCH_MONITOR_SIZES"] ?? "1000,10000").split(",").map(Number);
const CHURN_S = Number(process.env["FLUXGUARD_BENCH_CHURN_SECONDS"] ?? 300);
/** Status updates per second during churn; 0 = as fast as the API server takes them. */
const CHURN_RATE = Number(process.env["FLUXGUARD_BENCH_CHURN_RATE"] ?? 0);
const SAMPLE_S = Number(process.env["FLUXGUARD_BENCH_SAMPLE_SECONDS"] ?? (CHURN_S >= 1200 ? 60 : 15));
/** How often the churn's Prometheus stand-in scrapes /metrics (s; Prometheus' default is 60, charts often 15-30). */
const SCRAPE_S = Number(process.env["FLUXGUARD_BENCH_SCRAPE_SECONDS"] ?? 2);
/**
 * Before the churn is measured every object is flipped to failing this many times, as fast as
 * the API server takes it, so the monitor's state is at its bound when the RSS trend starts:
 * a counter series per failing source, and failure identities up to the ledger's 20,000. Without it
 * an hour at 20 updates/s is still filling that state, and its growth reads as a leak. 0: from cold.
 */
const SATURATE = Number(process.env["FLUXGUARD_BENCH_CHURN_SATURATE"] ?? 2);
/** The heap flags charts/fluxguard sets for the monitor (NODE_OPTIONS). */
export const MONITOR_NODE_OPTIONS = (process.env["FLUXGUARD_BENCH_MONITOR_NODE_OPTIONS"] ?? "--max-old-space-size=192 --max-semi-space-size=2").split(/\s+/).filter(Boolean);
const NAMESPACES = 50;

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolvePort(port));
    });
  });
}

function cached(): string | null {
  if (spawnSync("go", ["version"], { stdio: "ignore" }).status !== 0) return "Go is not installed";
  const r = spawnSync("bash", [CLUSTER_SH, "build", "--check"], { encoding: "utf8", env: { ...process.env, FLUXGUARD_E2E_COMPONENTS: COMPONENTS } });
  return r.status === 0 ? null : `the control plane is not built (${(r.stderr || r.stdout).trim().split("\n").pop()}); run: bash test/e2e/cluster.sh build`;
}

/** RSS and peak RSS of a process, in kB, from /proc. */
export function rss(pid: number): { rss: number; hwm: number } {
  const s = readFileSync(`/proc/${pid}/status`, "utf8");
  const get = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+)`, "m").exec(s)?.[1] ?? 0);
  return { rss: get("VmRSS"), hwm: get("VmHWM") };
}

/** User+system CPU seconds a process has used, from /proc (clock ticks of 1/100 s). */
export function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** The 1-minute load average, for beside a figure. */
export function load(): string {
  return readFileSync("/proc/loadavg", "utf8").split(" ")[0]!;
}
const mib = (kb: number): string => `${(kb / 1024).toFixed(0)} MB`;

/** Runs `n` tasks with at most `limit` in flight. */
async function pool<T>(items: T[], limit: number, fn: (x: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (i < items.length) await fn(items[i++]!);
    }),
  );
}


interface Made {
  kind: "GitRepository" | "Kustomization";
  namespace: string;
  name: string;
}

function conditions(ok: boolean, kind: Made["kind"], at: Date): unknown[] {
  const t = at.toISOString().replace(/\.\d{3}Z$/, "Z");
  if (ok) return [{ type: "Ready", status: "True", reason: "Succeeded", message: "stored artifact for revision 'main@sha1:0123456789abcdef0123456789abcdef01234567'", lastTransitionTime: t, observedGeneration: 1 }];
  return kind === "GitRepository"
    ? [
        { type: "FetchFailed", status: "True", reason: "GitOperationFailed", message: "failed to checkout and determine revision: unable to clone: authentication required", lastTransitionTime: t, observedGeneration: 1 },
        { type: "Ready", status: "False", reason: "GitOperationFailed", message: "failed to checkout and determine revision: unable to clone: authentication required", lastTransitionTime: t, observedGeneration: 1 },
      ]
    : [
        {
          type: "Ready",
          status: "False",
          reason: "ReconciliationFailed",
          message: 'ClusterRoleBinding/x dry-run failed (Forbidden): clusterrolebindings.rbac.authorization.k8s.io "x" is forbidden: User "system:serviceaccount:t:t" cannot patch resource "clusterrolebindings" in API group "rbac.authorization.k8s.io" at the cluster scope',
          lastTransitionTime: t,
          observedGeneration: 1,
        },
      ];
}

export async function createObjects(k8s: typeof K8sModule, kc: K8sModule.KubeConfig, from: number, to: number, gitUrl: string): Promise<Made[]> {
  const api = kc.makeApiClient(k8s.CustomObjectsApi);
  const made: Made[] = [];
  const items = Array.from({ length: to - from }, (_, j) => from + j);
  await pool(items, 24, async (i) => {
    const namespace = `bench-${i % NAMESPACES}`;
    const kind: Made["kind"] = i % 2 === 0 ? "GitRepository" : "Kustomization";
    const name = `obj-${i}`;
    const [group, version, plural] = kind === "GitRepository" ? ["source.toolkit.fluxcd.io", "v1", "gitrepositories"] : ["kustomize.toolkit.fluxcd.io", "v1", "kustomizations"];
    const spec =
      kind === "GitRepository"
        ? { interval: "60m", suspend: true, url: `${gitUrl}/${name}.git`, ref: { branch: "main" } }
        : { interval: "60m", suspend: true, path: "./", prune: true, serviceAccountName: "reconciler", sourceRef: { kind: "GitRepository", name: `obj-${i - 1}` } };
    const created = (await api.createNamespacedCustomObject({ group, version, namespace, plural, body: { apiVersion: `${group}/${version}`, kind, metadata: { name, namespace }, spec } })) as Record<string, unknown>;
    const status: Record<string, unknown> = { observedGeneration: 1, conditions: conditions(i % 3 !== 0, kind, new Date()) };
    if (kind === "Kustomization") {
      status["inventory"] = { entries: Array.from({ length: 10 }, (_, e) => ({ id: `${namespace}_app-${i}-${e}_apps_Deployment`, v: "v1" })) };
      status["lastAppliedRevision"] = "main@sha1:0123456789abcdef0123456789abcdef01234567";
    } else status["artifact"] = { revision: "main@sha1:0123456789abcdef0123456789abcdef01234567", digest: "sha256:" + "0".repeat(64), path: "x", url: "http://x", lastUpdateTime: new Date().toISOString().replace(/\.\d{3}Z$/, "Z") };
    await api.replaceNamespacedCustomObjectStatus({ group, version, namespace, plural, name, body: { ...created, status } });
    made.push({ kind, namespace, name });
  });
  return made;
}

/** Starts `fluxguard monitor` (with `extra` arguments) and resolves when /readyz says 200. */
export async function startMonitor(kubeconfig: string, extra: string[] = []): Promise<{ child: ChildProcess; port: number; readyMs: number; readyCpu: number }> {
  const port = await freePort();
  const t0 = performance.now();
  const child = spawn(process.execPath, [...MONITOR_NODE_OPTIONS, CLI, "monitor", `--kubeconfig=${kubeconfig}`, `--listen=127.0.0.1:${port}`, "--no-state", "--posture-interval=0", "--keys-interval=0", ...extra], { stdio: "ignore", env: { ...process.env, KUBERNETES_SERVICE_HOST: "" } });
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/readyz`)).ok) break;
    } catch {
      /* not listening yet */
    }
    if (child.exitCode !== null) throw new Error(`monitor exited ${child.exitCode}`);
    await sleep(10);
  }
  return { child, port, readyMs: performance.now() - t0, readyCpu: cpuSeconds(child.pid!) };
}

/**
 * One scrape: its time, size and series, and what the monitor holds: failure identities
 * (`fluxguard_monitor_failure_identities`) and failure counter series (fetch, verification
 * and denied), the state that grows with churn up to its bounds.
 */
export async function scrape(port: number): Promise<{ ms: number; bytes: number; series: number; identities: number; counterSeries: number }> {
  const t0 = performance.now();
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const lines = text.split("\n").filter((l) => l && !l.startsWith("#"));
  const identities = Number(/^fluxguard_monitor_failure_identities (\S+)$/m.exec(text)?.[1] ?? Number.NaN);
  const counterSeries = lines.filter((l) => /^fluxguard_(fetch|verification)_failures_total\{|^fluxguard_reconcile_denied_total\{/.test(l)).length;
  return { ms: performance.now() - t0, bytes: text.length, series: lines.length, identities, counterSeries };
}

export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const done = new Promise<void>((r) => child.once("exit", () => r()));
  child.kill("SIGTERM");
  const t = setTimeout(() => child.kill("SIGKILL"), 10_000);
  await done;
  clearTimeout(t);
}

/**
 * kube-state-metrics with the Flux custom-resource-state config, if built: time from process
 * start to the first scrape holding a gotk_resource_info series per object (polled every
 * 250 ms), its RSS after one more scrape, and its CPU seconds by then.
 */
export async function ksm(kubeconfig: string, work: string, objects: number): Promise<{ readyMs: number; cpu: number; rss: { rss: number; hwm: number } } | string> {
  const r = spawnSync("bash", [CLUSTER_SH, "bin", "kube-state-metrics"], { encoding: "utf8" });
  if (r.status !== 0) return "not built (FLUXGUARD_E2E_COMPONENTS=kube-state-metrics bash test/e2e/cluster.sh build)";
  const bin = r.stdout.trim();
  const cfg = join(work, "ksm-crs.yaml");
  writeFileSync(cfg, stringify(ksmCustomResourceConfig()));
  const port = await freePort();
  const tport = await freePort();
  const t0 = performance.now();
  const child = spawn(bin, [`--kubeconfig=${kubeconfig}`, "--custom-resource-state-only=true", `--custom-resource-state-config-file=${cfg}`, `--port=${port}`, `--telemetry-port=${tport}`, "--host=127.0.0.1", "--telemetry-host=127.0.0.1"], { stdio: "ignore" });
  try {
    for (;;) {
      if (child.exitCode !== null) return `exited ${child.exitCode}`;
      try {
        const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        const n = text.split("\n").filter((l) => l.startsWith("gotk_resource_info{")).length;
        if (n >= objects) break;
      } catch {
        /* not listening yet */
      }
      if (performance.now() - t0 > 300_000) return "no complete series set within 5 minutes";
      await sleep(250);
    }
    const readyMs = performance.now() - t0;
    await fetch(`http://127.0.0.1:${port}/metrics`);
    return { readyMs, cpu: cpuSeconds(child.pid!), rss: rss(child.pid!) };
  } finally {
    await stop(child);
  }
}

export async function run(): Promise<void> {
  const why = cached();
  if (why) {
    console.log(`skipped: ${why}`);
    return;
  }
  process.env["FLUXGUARD_E2E_COMPONENTS"] ??= COMPONENTS;
  const work = mkdtempSync(join(tmpdir(), "fluxguard-bench-monitor-"));
  const cluster = E2ECluster.start();
  try {
    const k8s = await import("@kubernetes/client-node");
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(cluster.kubeconfig);
    for (const c of CRD_MODULES) {
      const dir = spawnSync("go", ["list", "-mod=readonly", "-m", "-f", "{{.Dir}}", `github.com/fluxcd/${c}`], { cwd: join(repoRoot, "test", "e2e", "build", c), encoding: "utf8" });
      if (dir.status !== 0 || !dir.stdout.trim()) throw new Error(`the ${c} module is not downloaded (bash test/e2e/cluster.sh build): ${dir.stderr}`);
      cluster.kc(["apply", "--server-side", "-f", join(dir.stdout.trim(), "config", "crd", "bases")]);
    }
    const ns = Array.from({ length: NAMESPACES }, (_, i) => `apiVersion: v1\nkind: Namespace\nmetadata: {name: bench-${i}}`).join("\n---\n");
    cluster.kc(["apply", "--server-side", "-f", "-"], ns);
    const rows: string[][] = [
      ["Flux objects", "monitor ready (CPU s)", "ready + 1st scrape", "RSS after 3 scrapes", "peak RSS", "/metrics scrape", "series", "--no-watch-list: ready (CPU s), RSS, peak", "posture analysis done after start (CPU s), RSS, peak", "plain list (kubectl)", "KSM 1st full scrape (CPU s)", "KSM RSS", "RSS KSM/monitor", "time KSM/monitor", "load"],
    ];
    let made: Made[] = [];
    let have = 0;
    for (const size of SIZES) {
      if (size > have) {
        const t0 = performance.now();
        made = made.concat(await createObjects(k8s, kc, have, size, cluster.gitUrl));
        console.log(`created ${size - have} objects with status in ${ms(performance.now() - t0)} (total ${size}; load ${load()})`);
        have = size;
      }
      const runs = [];
      for (let i = 0; i < 3; i++) {
        const m = await startMonitor(cluster.kubeconfig);
        const s = [await scrape(m.port), await scrape(m.port), await scrape(m.port)];
        runs.push({ readyMs: m.readyMs, readyCpu: m.readyCpu, first: m.readyMs + s[0]!.ms, mem: rss(m.child.pid!), scrape: s[2]!, load: load() });
        await stop(m.child);
      }
      const best = runs.reduce((a, b) => (b.readyMs < a.readyMs ? b : a));
      // The same with lists instead of watch-lists (what the monitor did before, and does on API servers without them).
      const listed = [];
      for (let i = 0; i < 3; i++) {
        const m = await startMonitor(cluster.kubeconfig, ["--no-watch-list"]);
        for (let j = 0; j < 3; j++) await scrape(m.port);
        listed.push({ readyMs: m.readyMs, readyCpu: m.readyCpu, mem: rss(m.child.pid!) });
        await stop(m.child);
      }
      const bestListed = listed.reduce((a, b) => (b.readyMs < a.readyMs ? b : a));
      const floor: number[] = [];
      for (let i = 0; i < 3; i++) {
        const t0 = performance.now();
        for (const p of ["/apis/source.toolkit.fluxcd.io/v1/gitrepositories", "/apis/kustomize.toolkit.fluxcd.io/v1/kustomizations"]) cluster.kc(["get", "--raw", p]);
        floor.push(performance.now() - t0);
      }
      // With the posture analysis on (the chart's default runs it every 5 minutes; the first
      // run starts 5 s after start): RSS and peak once its gauges are served.
      const pm = await startMonitor(cluster.kubeconfig, ["--posture-interval=3600"]);
      const pt0 = performance.now();
      let postureMs = -1;
      while (performance.now() - pt0 < 300_000) {
        const text = await (await fetch(`http://127.0.0.1:${pm.port}/metrics`)).text();
        if (text.includes("\nfluxguard_posture_last_success_timestamp_seconds{")) {
          postureMs = performance.now() - pt0 + pm.readyMs;
          break;
        }
        await sleep(250);
      }
      const postureMem = rss(pm.child.pid!);
      const postureCpu = cpuSeconds(pm.child.pid!);
      await stop(pm.child);
      const k = await ksm(cluster.kubeconfig, work, size);
      rows.push([
        size.toLocaleString("en-US"),
        `${ms(best.readyMs)} (${best.readyCpu.toFixed(2)}) (runs: ${runs.map((r) => ms(r.readyMs)).join(", ")})`,
        ms(best.first),
        mib(best.mem.rss),
        mib(best.mem.hwm),
        ms(best.scrape.ms),
        best.scrape.series.toLocaleString("en-US"),
        `${ms(bestListed.readyMs)} (${bestListed.readyCpu.toFixed(2)}), ${mib(bestListed.mem.rss)}, ${mib(bestListed.mem.hwm)}`,
        postureMs < 0 ? "no posture within 5 minutes" : `${ms(postureMs)} (${postureCpu.toFixed(2)}), ${mib(postureMem.rss)}, ${mib(postureMem.hwm)}`,
        `${ms(Math.min(...floor))} (runs: ${floor.map(ms).join(", ")})`,
        typeof k === "string" ? k : `${ms(k.readyMs)} (${k.cpu.toFixed(2)})`,
        typeof k === "string" ? "-" : mib(k.rss.rss),
        typeof k === "string" ? "-" : `${(k.rss.rss / best.mem.rss).toFixed(2)}`,
        typeof k === "string" ? "-" : `${(k.readyMs / best.first).toFixed(2)}`,
        `${runs.map((r) => r.load).join("/")}`,
      ]);
      console.log(`\n${table(rows)}`);
    }
    if (CHURN_S <= 0) return;

    // Churn: status flips, deletes and creates while Prometheus-like scrapes run.
    const m = await startMonitor(cluster.kubeconfig);
    const api = kc.makeApiClient(k8s.CustomObjectsApi);
    const flip = async (o: Made, ok: boolean): Promise<boolean> => {
      const [group, version, plural] = o.kind === "GitRepository" ? ["source.toolkit.fluxcd.io", "v1", "gitrepositories"] : ["kustomize.toolkit.fluxcd.io", "v1", "kustomizations"];
      try {
        const cur = (await api.getNamespacedCustomObjectStatus({ group, version, namespace: o.namespace, plural, name: o.name })) as Record<string, unknown>;
        const status = { ...((cur["status"] as Record<string, unknown>) ?? {}), conditions: conditions(ok, o.kind, new Date()) };
        await api.replaceNamespacedCustomObjectStatus({ group, version, namespace: o.namespace, plural, name: o.name, body: { ...cur, status } });
        return true;
      } catch {
        return false; // a conflict: skipped
      }
    };
    const state = async (): Promise<string> => {
      const x = await scrape(m.port).catch(() => null);
      return x ? `identities ${x.identities} counter series ${x.counterSeries}` : "scrape failed";
    };
    for (let pass = 1; pass <= SATURATE; pass++) {
      const p0 = performance.now();
      // Each pass is a new failure episode per object (a new transition time), then Ready again.
      await pool(made, 10, (o) => flip(o, false).then(() => undefined));
      await pool(made, 10, (o) => flip(o, true).then(() => undefined));
      await sleep(61_000); // one prune period: the identities are cut back to the bound
      console.log(`saturating pass ${pass}/${SATURATE}: every object failed once in ${((performance.now() - p0) / 1000).toFixed(0)} s; RSS ${mib(rss(m.child.pid!).rss)}; ${await state()}`);
    }
    const samples: Array<{ s: number; rss: number; cpu: number; state: string }> = [];
    const t0 = performance.now();
    let updates = 0;
    let recreated = 0;
    let stopAt = t0 + CHURN_S * 1000;
    const scraper = (async () => {
      while (performance.now() < stopAt) {
        await scrape(m.port).catch(() => undefined);
        await sleep(SCRAPE_S * 1000);
      }
    })();
    console.log(`\nchurn for ${CHURN_S} s over ${made.length.toLocaleString("en-US")} objects; RSS every ${SAMPLE_S} s:`);
    const sampler = (async () => {
      while (performance.now() < stopAt) {
        const x = { s: (performance.now() - t0) / 1000, rss: rss(m.child.pid!).rss, cpu: cpuSeconds(m.child.pid!), state: await state() };
        samples.push(x);
        console.log(`  ${new Date().toISOString().slice(11, 19)} t=${x.s.toFixed(0)} s RSS ${mib(x.rss)} CPU ${x.cpu.toFixed(1)} s updates ${updates} ${x.state} load ${load()}`);
        await sleep(SAMPLE_S * 1000);
      }
    })();
    let next = made.length;
    while (performance.now() < stopAt) {
      if (CHURN_RATE > 0) {
        const ahead = updates / CHURN_RATE - (performance.now() - t0) / 1000;
        if (ahead > 0) await sleep(Math.min(ahead * 1000, Math.max(0, stopAt - performance.now())));
        if (performance.now() >= stopAt) break;
      }
      const batch = Array.from({ length: 20 }, () => made[Math.floor(Math.random() * made.length)]!);
      await pool(batch, 10, async (o) => {
        if (await flip(o, Math.random() < 0.6)) updates++;
      });
      if (updates % 200 < 20) {
        // Replace a few objects: new UIDs, so per-object state must be dropped, not kept.
        const victims = made.splice(0, 5);
        await pool(victims, 5, async (o) => {
          const [group, version, plural] = o.kind === "GitRepository" ? ["source.toolkit.fluxcd.io", "v1", "gitrepositories"] : ["kustomize.toolkit.fluxcd.io", "v1", "kustomizations"];
          await api.deleteNamespacedCustomObject({ group, version, namespace: o.namespace, plural, name: o.name }).catch(() => undefined);
        });
        made = made.concat(await createObjects(k8s, kc, next, next + 5, cluster.gitUrl));
        next += 5;
        recreated += 5;
      }
    }
    stopAt = 0;
    await Promise.all([scraper, sampler]);
    const end = rss(m.child.pid!);
    await stop(m.child);
    const after = samples.filter((x) => x.s >= 60);
    const warm = after.length >= 2 ? after : samples; // a run shorter than the warm-up: all of it
    const first = warm[0] ?? samples[0]!;
    const last = warm[warm.length - 1] ?? first;
    // Least-squares slope of RSS over time after the warm-up, MB per hour.
    let slope = "-";
    if (warm.length > 2) {
      const mx = warm.reduce((a, x) => a + x.s, 0) / warm.length;
      const my = warm.reduce((a, x) => a + x.rss, 0) / warm.length;
      const num = warm.reduce((a, x) => a + (x.s - mx) * (x.rss - my), 0);
      const den = warm.reduce((a, x) => a + (x.s - mx) ** 2, 0);
      slope = ((num / den / 1024) * 3600).toFixed(1);
    }
    console.log(
      `\nchurn for ${CHURN_S} s over ${made.length.toLocaleString("en-US")} objects: ${updates.toLocaleString("en-US")} status updates (${(updates / CHURN_S).toFixed(0)}/s), ${recreated} objects deleted and created; /metrics scraped every ${SCRAPE_S} s; saturating passes before: ${SATURATE}`,
    );
    console.log(
      `RSS at ${first.s.toFixed(0)} s: ${mib(first.rss)}; at ${last.s.toFixed(0)} s: ${mib(last.rss)}; at the end: ${mib(end.rss)}; peak: ${mib(end.hwm)}; min/max after warm-up: ${mib(Math.min(...warm.map((x) => x.rss)))}/${mib(Math.max(...warm.map((x) => x.rss)))}; least-squares trend after warm-up: ${slope} MB/h; CPU ${(last.cpu - first.cpu).toFixed(1)} s over ${(last.s - first.s).toFixed(0)} s; state then ${first.state}, at the end ${last.state}`,
    );
  } finally {
    cluster.stop();
    rmSync(work, { recursive: true, force: true });
  }
}
