/**
 * `npm run bench -- monitor`: `fluxguard monitor` against the real API server of the e2e
 * suite (test/e2e/cluster.sh: etcd and kube-apiserver with the Flux CRDs), loaded with Flux objects that carry realistic status (Ready
 * conditions, a third failing; Kustomizations with a 10-entry inventory):
 *
 * - catch-up: process start to /readyz 200, and resident memory (RSS, and its peak) after the
 *   first scrapes, at each size (default 1,000 and 10,000 objects);
 * - churn: status flips (Ready True/False, fetch failures), deletes and creates for
 *   FLUXGUARD_BENCH_CHURN_SECONDS (default 300; an hour with 3600) while /metrics is scraped
 *   every 2 s; RSS sampled every 15 s;
 * - kube-state-metrics v2.15.0 (built from its Go module by `cluster.sh build` with
 *   FLUXGUARD_E2E_COMPONENTS=kube-state-metrics) with the Flux custom-resource-state config
 *   `fluxguard generate` writes, on the same objects, when it is built: time until it serves
 *   a series per object, and its RSS.
 *
 * Needs the e2e binaries cached; without them it says so and skips. Knobs:
 * FLUXGUARD_BENCH_MONITOR_SIZES (default "1000,10000"), FLUXGUARD_BENCH_CHURN_SECONDS.
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

export async function startMonitor(kubeconfig: string): Promise<{ child: ChildProcess; port: number; readyMs: number }> {
  const port = await freePort();
  const t0 = performance.now();
  const child = spawn(process.execPath, [CLI, "monitor", `--kubeconfig=${kubeconfig}`, `--listen=127.0.0.1:${port}`, "--no-state", "--posture-interval=0", "--keys-interval=0"], { stdio: "ignore", env: { ...process.env, KUBERNETES_SERVICE_HOST: "" } });
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/readyz`)).ok) break;
    } catch {
      /* not listening yet */
    }
    if (child.exitCode !== null) throw new Error(`monitor exited ${child.exitCode}`);
    await sleep(10);
  }
  return { child, port, readyMs: performance.now() - t0 };
}

export async function scrape(port: number): Promise<{ ms: number; bytes: number; series: number }> {
  const t0 = performance.now();
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return { ms: performance.now() - t0, bytes: text.length, series: text.split("\n").filter((l) => l && !l.startsWith("#")).length };
}

export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const done = new Promise<void>((r) => child.once("exit", () => r()));
  child.kill("SIGTERM");
  const t = setTimeout(() => child.kill("SIGKILL"), 10_000);
  await done;
  clearTimeout(t);
}

/** kube-state-metrics with the Flux custom-resource-state config, if built. */
async function ksm(kubeconfig: string, work: string, objects: number): Promise<{ readyMs: number; rss: { rss: number; hwm: number } } | string> {
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
      await sleep(100);
    }
    const readyMs = performance.now() - t0;
    await fetch(`http://127.0.0.1:${port}/metrics`);
    return { readyMs, rss: rss(child.pid!) };
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
    const rows: string[][] = [["Flux objects", "monitor ready (process start)", "RSS after scrapes", "peak RSS", "/metrics scrape", "series", "kube-state-metrics ready", "KSM RSS", "RSS ratio KSM/monitor"]];
    let made: Made[] = [];
    let have = 0;
    for (const size of SIZES) {
      const t0 = performance.now();
      made = made.concat(await createObjects(k8s, kc, have, size, cluster.gitUrl));
      console.log(`created ${size - have} objects with status in ${ms(performance.now() - t0)} (total ${size})`);
      have = size;
      const runs = [];
      for (let i = 0; i < 3; i++) {
        const m = await startMonitor(cluster.kubeconfig);
        const s = [await scrape(m.port), await scrape(m.port), await scrape(m.port)];
        runs.push({ readyMs: m.readyMs, mem: rss(m.child.pid!), scrape: s[2]! });
        await stop(m.child);
      }
      const best = runs.reduce((a, b) => (b.readyMs < a.readyMs ? b : a));
      const k = await ksm(cluster.kubeconfig, work, size);
      rows.push([
        size.toLocaleString("en-US"),
        `${ms(best.readyMs)} (runs: ${runs.map((r) => ms(r.readyMs)).join(", ")})`,
        mib(best.mem.rss),
        mib(best.mem.hwm),
        ms(best.scrape.ms),
        best.scrape.series.toLocaleString("en-US"),
        typeof k === "string" ? k : ms(k.readyMs),
        typeof k === "string" ? "-" : mib(k.rss.rss),
        typeof k === "string" ? "-" : `${(k.rss.rss / best.mem.rss).toFixed(2)}`,
      ]);
    }
    console.log(`\n${table(rows)}`);

    // Churn: status flips, deletes and creates while Prometheus-like scrapes run.
    const m = await startMonitor(cluster.kubeconfig);
    const api = kc.makeApiClient(k8s.CustomObjectsApi);
    const samples: Array<{ s: number; rss: number }> = [];
    const t0 = performance.now();
    let updates = 0;
    let recreated = 0;
    let stopAt = t0 + CHURN_S * 1000;
    const scraper = (async () => {
      while (performance.now() < stopAt) {
        await scrape(m.port).catch(() => undefined);
        await sleep(2000);
      }
    })();
    const sampler = (async () => {
      while (performance.now() < stopAt) {
        samples.push({ s: (performance.now() - t0) / 1000, rss: rss(m.child.pid!).rss });
        await sleep(15_000);
      }
    })();
    let next = made.length;
    while (performance.now() < stopAt) {
      const batch = Array.from({ length: 20 }, () => made[Math.floor(Math.random() * made.length)]!);
      await pool(batch, 10, async (o) => {
        const [group, version, plural] = o.kind === "GitRepository" ? ["source.toolkit.fluxcd.io", "v1", "gitrepositories"] : ["kustomize.toolkit.fluxcd.io", "v1", "kustomizations"];
        try {
          const cur = (await api.getNamespacedCustomObjectStatus({ group, version, namespace: o.namespace, plural, name: o.name })) as Record<string, unknown>;
          const status = { ...((cur["status"] as Record<string, unknown>) ?? {}), conditions: conditions(Math.random() < 0.6, o.kind, new Date()) };
          await api.replaceNamespacedCustomObjectStatus({ group, version, namespace: o.namespace, plural, name: o.name, body: { ...cur, status } });
          updates++;
        } catch {
          /* conflicts: skipped */
        }
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
    const warm = samples.filter((x) => x.s >= 30);
    const first = warm[0] ?? samples[0]!;
    const slope = warm.length > 2 ? ((warm[warm.length - 1]!.rss - first.rss) / 1024 / ((warm[warm.length - 1]!.s - first.s) / 3600)).toFixed(1) : "-";
    console.log(
      `\nchurn for ${CHURN_S} s over ${made.length.toLocaleString("en-US")} objects: ${updates.toLocaleString("en-US")} status updates (${(updates / CHURN_S).toFixed(0)}/s), ${recreated} objects deleted and created; /metrics scraped every 2 s`,
    );
    console.log(`RSS after 30 s: ${mib(first.rss)}; at the end: ${mib(end.rss)}; peak: ${mib(end.hwm)}; trend after warm-up: ${slope} MB/h (samples: ${samples.map((x) => mib(x.rss)).join(" ")})`);
  } finally {
    cluster.stop();
    rmSync(work, { recursive: true, force: true });
  }
}
