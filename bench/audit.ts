/**
 * `npm run bench -- audit`: the audit on a synthetic fleet (bench/synthetic-fleet.ts) and on
 * every repository of the shared corpus, kustomize rendering included, beside peer tools
 * run on the same input where they can run here.
 *
 * Figures: wall time, objects per second, peak RSS, CPU time, and the kustomize processes
 * spawned (counted by a shim directory put first on PATH). Each audit runs in a fresh
 * process (bench/_audit-worker.ts calls runAudit) so its RSS is its own; the CLI is timed
 * too. Peers: `kubectl kustomize` alone over the same overlays (one process each, as many
 * in parallel as there are cores), checkov (PyPI) and kube-score (Go module proxy),
 * installed into the bench cache on first use; a peer that cannot be installed or run is
 * skipped with the reason.
 *
 * Knobs: FLUXGUARD_BENCH_RUNS (default 3), FLUXGUARD_BENCH_PEERS=0 (no peers),
 * FLUXGUARD_BENCH_INSTALL=0 (use installed peers only), FLUXGUARD_BENCH_CORPUS (directory,
 * or "none" to skip the corpus), FLUXGUARD_BENCH_CACHE (cache directory),
 * FLUXGUARD_BENCH_VERBOSE=1 (render batch log), FLUXGUARD_BENCH_CLI_RENDER=0 (skip the ~2 min
 * row that renders with kustomize CLI processes instead of the server).
 */
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { delimiter, dirname, join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { cacheRoot, syntheticFleet } from "./synthetic-fleet.js";
import { mb, median, ms, rate, table, timed, which, type Timed } from "./_util.js";
import { findKustomize } from "../src/loader/kustomize.js";

const here = dirname(fileURLToPath(import.meta.url)); // dist/bench
const repoRoot = resolve(here, "..", "..");
const CLI = join(repoRoot, "dist", "src", "bin", "fluxguard.js");
const WORKER = join(here, "_audit-worker.js");
const GOAL_MS = 3000;
/** A directory of scripts named like the kustomize tools that log each call and exec the real one. */
class SpawnCounter {
  readonly dir: string;
  readonly log: string;
  constructor(root: string) {
    this.dir = mkdtempSync(join(root, "shim-"));
    this.log = join(this.dir, "spawns.log");
    for (const tool of ["kustomize", "kubectl"]) {
      const real = which(tool);
      if (!real) continue;
      const shim = join(this.dir, tool);
      writeFileSync(shim, `#!/bin/sh\nprintf '%s\\n' "${tool} $*" >> "${this.log}"\nexec "${real}" "$@"\n`);
      chmodSync(shim, 0o755);
    }
    this.reset();
  }
  env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    return { ...process.env, ...extra, PATH: `${this.dir}${delimiter}${process.env["PATH"] ?? ""}` };
  }
  reset(): void {
    writeFileSync(this.log, "");
  }
  counts(): { builds: number; probes: number } {
    const lines = readFileSync(this.log, "utf8").split("\n").filter(Boolean);
    const probes = lines.filter((l) => / version( |$)/.test(l)).length;
    return { builds: lines.length - probes, probes };
  }
  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

interface WorkerFigures {
  wallMs: number;
  objects: number;
  files: number;
  kustomizations: number;
  rendered: Record<string, number>;
  findings: number;
  kustomize: string | null;
  batches: number;
  batchPlans: number;
  batchMsSum: number;
  failedBatches: number;
  userMs: number;
  systemMs: number;
  maxRssKB: number;
}

interface AuditRun {
  figures: WorkerFigures;
  processWallMs: number;
  treeCpuS: number | null;
  builds: number;
  probes: number;
}

async function inProcessAudit(dir: string, counter: SpawnCounter, extraEnv: NodeJS.ProcessEnv = {}): Promise<AuditRun> {
  counter.reset();
  const t = await timed(process.execPath, [WORKER, dir], { env: counter.env(extraEnv), timeoutMs: 20 * 60_000 });
  const line = t.stdout.trim().split("\n").pop() ?? "";
  if (t.status !== 0 || !line.startsWith("{")) throw new Error(`audit worker failed on ${dir} (exit ${t.status}): ${t.stderr.slice(-500)}`);
  const figures = JSON.parse(line) as WorkerFigures;
  const { builds, probes } = counter.counts();
  return { figures, processWallMs: t.wallMs, treeCpuS: t.userS !== null && t.sysS !== null ? t.userS + t.sysS : null, builds, probes };
}

async function cliAudit(dir: string, counter: SpawnCounter, extraEnv: NodeJS.ProcessEnv = {}): Promise<{ t: Timed; builds: number; probes: number; objects: number }> {
  counter.reset();
  const out = join(tmpdir(), `fluxguard-bench-${process.pid}.json`);
  const t = await timed(process.execPath, [CLI, "audit", dir, "--format", "json", "--output", out], { env: counter.env(extraEnv), timeoutMs: 20 * 60_000 });
  if (t.status !== 0 && t.status !== 1) throw new Error(`fluxguard audit ${dir} exited ${t.status}: ${t.stderr.slice(-500)}`);
  const objects = (JSON.parse(readFileSync(out, "utf8")) as { summary: { objects: number } }).summary.objects;
  rmSync(out, { force: true });
  return { t, ...counter.counts(), objects };
}

// ---------------------------------------------------------------------------------------
// Peers

interface PeerResult {
  name: string;
  wallMs: number;
  /** User + system CPU seconds, children included (null without /usr/bin/time). */
  cpuS: number | null;
  note: string;
}

const cpuOf = (t: Timed): number | null => (t.userS === null || t.sysS === null ? null : t.userS + t.sysS);

async function pool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/** `kubectl kustomize` (or `kustomize build`) alone, one process per overlay: rendering only, no analysis. */
async function kustomizeAlone(dir: string, overlays: string[]): Promise<PeerResult | string> {
  const tool = which("kustomize") ? { cmd: "kustomize", args: ["build"] } : which("kubectl") ? { cmd: "kubectl", args: ["kustomize"] } : null;
  if (!tool) return "neither kustomize nor kubectl is on PATH";
  const parallel = availableParallelism();
  let failed = 0;
  let cpuS: number | null = 0;
  const t0 = performance.now();
  await pool(overlays, parallel, async (o) => {
    const r = await timed(tool.cmd, [...tool.args, "--load-restrictor", "LoadRestrictionsNone", join(dir, o)], { timeoutMs: 120_000 });
    if (r.status !== 0) failed++;
    const c = cpuOf(r);
    cpuS = c === null || cpuS === null ? null : cpuS + c;
  });
  const wallMs = performance.now() - t0;
  return { name: `${tool.cmd} ${tool.args[0]} alone`, wallMs, cpuS, note: `${overlays.length} overlays, ${parallel} in parallel${failed ? `, ${failed} failed` : ""}` };
}

const installAllowed = (): boolean => process.env["FLUXGUARD_BENCH_INSTALL"] !== "0";

function peersDir(): string {
  const d = join(cacheRoot(), "peers");
  mkdirSync(d, { recursive: true });
  return d;
}

/** checkov from PyPI, in a virtualenv in the bench cache. */
function findCheckov(): string {
  const explicit = process.env["FLUXGUARD_BENCH_CHECKOV"];
  if (explicit) return explicit;
  const cached = join(peersDir(), "checkov-venv", "bin", "checkov");
  if (existsSync(cached)) return cached;
  const onPath = which("checkov");
  if (onPath) return onPath;
  if (!installAllowed()) throw new Error("not installed (FLUXGUARD_BENCH_INSTALL=0)");
  const python = which("python3");
  if (!python) throw new Error("no python3 to install it with");
  const venv = join(peersDir(), "checkov-venv");
  process.stdout.write("  installing checkov from PyPI into the bench cache (once)...\n");
  const mk = spawnSync(python, ["-m", "venv", venv], { encoding: "utf8", timeout: 120_000 });
  if (mk.status !== 0) throw new Error(`python3 -m venv failed: ${(mk.stderr || "").trim().split("\n").pop()}`);
  const pip = spawnSync(join(venv, "bin", "pip"), ["install", "--quiet", "checkov"], { encoding: "utf8", timeout: 900_000 });
  if (pip.status !== 0) {
    rmSync(venv, { recursive: true, force: true });
    throw new Error(`pip install checkov failed: ${(pip.stderr || "").trim().split("\n").pop()}`);
  }
  return cached;
}

/** kube-score from the Go module proxy (go install into the bench cache). */
function findKubeScore(): string {
  const explicit = process.env["FLUXGUARD_BENCH_KUBE_SCORE"];
  if (explicit) return explicit;
  const bin = join(peersDir(), "bin");
  const cached = join(bin, "kube-score");
  if (existsSync(cached)) return cached;
  const onPath = which("kube-score");
  if (onPath) return onPath;
  if (!installAllowed()) throw new Error("not installed (FLUXGUARD_BENCH_INSTALL=0)");
  const go = which("go");
  if (!go) throw new Error("no Go toolchain to install it with");
  process.stdout.write("  installing kube-score with go install into the bench cache (once)...\n");
  const r = spawnSync(go, ["install", "github.com/zegl/kube-score/cmd/kube-score@v1.20.0"], { encoding: "utf8", timeout: 900_000, env: { ...process.env, GOBIN: bin } });
  if (r.status !== 0) throw new Error(`go install failed: ${(r.stderr || "").trim().split("\n").pop()}`);
  return cached;
}

function yamlFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      if (name.startsWith(".")) continue;
      const p = join(d, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (/\.ya?ml$/.test(name) && !/^kustomization\.ya?ml$/i.test(name)) out.push(p);
    }
  };
  walk(dir);
  return out;
}

/**
 * checkov over the directory: `kubernetes` reads the plain manifests; `kustomize` runs
 * kustomize (or kubectl kustomize) on every kustomization directory, bases included, one
 * process each, and scans the output.
 */
async function checkov(bin: string, dir: string, framework: "kubernetes" | "kustomize"): Promise<PeerResult | string> {
  const t = await timed(bin, ["-d", dir, "--framework", framework, "--quiet", "--compact", "-o", "json", "--skip-download"], { timeoutMs: 30 * 60_000 });
  if (t.status !== 0 && t.status !== 1) return `checkov exited ${t.status}: ${t.stderr.trim().split("\n").pop() ?? ""}`;
  let note = framework === "kubernetes" ? "--framework kubernetes (plain manifests, no overlays)" : "--framework kustomize (one kustomize process per kustomization, bases included)";
  try {
    const parsed = JSON.parse(t.stdout) as { summary?: { resource_count?: number; failed?: number } } | Array<{ summary?: { resource_count?: number; failed?: number } }>;
    const s = Array.isArray(parsed) ? parsed[0]?.summary : parsed.summary;
    if (s) note = `${s.resource_count ?? "?"} resources, ${s.failed ?? "?"} failed checks; ${note}`;
  } catch {
    /* output was cut: keep the time */
  }
  return { name: `checkov (${framework})`, wallMs: t.wallMs, cpuS: cpuOf(t), note };
}

async function kubeScore(bin: string, dir: string): Promise<PeerResult | string> {
  const files = yamlFiles(dir);
  if (files.length === 0) return "no YAML files";
  const t = await timed(bin, ["score", "--output-format", "ci", ...files], { timeoutMs: 30 * 60_000 });
  if (t.status === null) return `kube-score did not finish: ${t.stderr.trim().split("\n").pop() ?? ""}`;
  const lines = t.stdout.split("\n").filter((l) => l.startsWith("["));
  const objects = new Set(lines.map((l) => /^\[\w+\] (\S+ [^\s:]+)/.exec(l)?.[1]).filter(Boolean)).size;
  return { name: "kube-score", wallMs: t.wallMs, cpuS: cpuOf(t), note: `${files.length} files, ${objects} distinct objects, ${lines.length} check results (exit ${t.status}); plain manifests, no overlays` };
}

function ratio(peerMs: number, oursMs: number): string {
  const r = peerMs / oursMs;
  return r >= 1 ? `fluxguard ${r.toFixed(1)}x faster` : `fluxguard ${(1 / r).toFixed(1)}x slower`;
}

function printPeers(results: Array<PeerResult | { name: string; skipped: string }>, oursMs: number, oursCpuS: number | null): void {
  const rows = [["peer", "wall", "wall ratio (peer / fluxguard)", "CPU", "CPU ratio", "note"]];
  rows.push(["fluxguard (runAudit)", ms(oursMs), "1.00", oursCpuS === null ? "-" : ms(oursCpuS * 1000), "1.00", "renders every Flux Kustomization, then the rules"]);
  for (const r of results) {
    if ("skipped" in r) rows.push([r.name, "-", "skipped", "-", "-", r.skipped]);
    else
      rows.push([
        r.name,
        ms(r.wallMs),
        `${(r.wallMs / oursMs).toFixed(2)} (${ratio(r.wallMs, oursMs)})`,
        r.cpuS === null ? "-" : ms(r.cpuS * 1000),
        r.cpuS === null || oursCpuS === null ? "-" : (r.cpuS / oursCpuS).toFixed(2),
        r.note,
      ]);
  }
  console.log(table(rows).replace(/ +$/gm, ""));
}

async function runPeer(name: string, find: () => string, go: (bin: string) => Promise<PeerResult | string>): Promise<PeerResult | { name: string; skipped: string }> {
  let bin: string;
  try {
    bin = find();
  } catch (e) {
    return { name, skipped: (e as Error).message };
  }
  const r = await go(bin);
  return typeof r === "string" ? { name, skipped: r } : r;
}

// ---------------------------------------------------------------------------------------

export async function run(): Promise<void> {
  if (!existsSync(CLI) || !existsSync(WORKER)) throw new Error("compile first: npm run bench runs tsc");
  const runs = Math.max(1, Number(process.env["FLUXGUARD_BENCH_RUNS"] ?? 3) || 3);
  const peersOn = process.env["FLUXGUARD_BENCH_PEERS"] !== "0";
  const cache = cacheRoot();
  mkdirSync(cache, { recursive: true });
  const counter = new SpawnCounter(cache);
  const found = findKustomize({ PATH: process.env["PATH"] });
  const server = found?.server ? found : null;
  try {
    const kv = spawnSync(which("kustomize") ? "kustomize" : "kubectl", which("kustomize") ? ["version"] : ["version", "--client"], { encoding: "utf8" });
    const [l1, l5, l15] = loadavg().map((x) => x.toFixed(1));
    console.log(`machine: ${availableParallelism()} cores, node ${process.version}, load average ${l1} ${l5} ${l15}; kustomize: ${(kv.stdout || "none").trim().replace(/\n/g, "; ")}`);
    console.log(server ? `renderer: ${server.version} (${server.command})` : "renderer: kustomize CLI processes (fluxguard-kustomize is not built: npm run build:kustomize)");
    if (Number(l1) > availableParallelism()) console.log(`note: the load average is above the core count; other work on this machine inflates wall times (CPU times are steadier)`);

    // --- the synthetic fleet
    const g0 = performance.now();
    const fleet = syntheticFleet();
    console.log(`\nsynthetic fleet: ${fleet.dir} (${fleet.cached ? "cached" : `generated in ${ms(performance.now() - g0)}`}): ${fleet.files} files, ${(fleet.bytes / 1024 / 1024).toFixed(1)} MB, ${fleet.overlays.length} kustomize overlays, ${fleet.kustomizations} Flux Kustomizations across clusters`);

    // Cold runs: the persistent render cache is off, so every run renders everything.
    const COLD = { FLUXGUARD_CACHE: "off" };
    const fleetRuns: AuditRun[] = [];
    for (let i = 0; i < runs; i++) fleetRuns.push(await inProcessAudit(fleet.dir, counter, COLD));
    const builtin = await inProcessAudit(fleet.dir, counter, { ...COLD, FLUXGUARD_KUSTOMIZE: "none" });
    // The same audit with kustomize CLI processes instead of fluxguard-kustomize (when built).
    const viaCli = server && process.env["FLUXGUARD_BENCH_CLI_RENDER"] !== "0" ? await inProcessAudit(fleet.dir, counter, { ...COLD, FLUXGUARD_KUSTOMIZE_SERVER: "none" }) : null;
    const cli = await cliAudit(fleet.dir, counter, COLD);
    // Warm: a fresh render cache, filled by one run, then used by the measured one.
    const warmDir = mkdtempSync(join(tmpdir(), "fluxguard-bench-cache-"));
    await inProcessAudit(fleet.dir, counter, { FLUXGUARD_CACHE_DIR: warmDir });
    const warm = await inProcessAudit(fleet.dir, counter, { FLUXGUARD_CACHE_DIR: warmDir });
    rmSync(warmDir, { recursive: true, force: true });
    const walls = fleetRuns.map((r) => r.figures.wallMs);
    const best = fleetRuns.reduce((a, b) => (b.figures.wallMs < a.figures.wallMs ? b : a));
    const f = best.figures;
    const med = median(walls);
    console.log(
      `\n${table([
        ["fleet audit", "wall", "objects/s", "peak RSS", "CPU (node)", "CPU (with kustomize)", "kustomize builds"],
        [
          `runAudit, best of ${runs}`,
          ms(f.wallMs),
          rate(f.objects, f.wallMs),
          mb(f.maxRssKB),
          ms(f.userMs + f.systemMs),
          best.treeCpuS === null ? "-" : ms(best.treeCpuS * 1000),
          server ? `${f.batches} builds in ${availableParallelism()} servers` : `${best.builds} builds + ${best.probes} probe`,
        ],
        [`runAudit, median of ${runs}`, ms(med), rate(f.objects, med), "", "", "", ""],
        ...(viaCli
          ? [
              [
                "runAudit, kustomize CLI instead of the server",
                ms(viaCli.figures.wallMs),
                rate(viaCli.figures.objects, viaCli.figures.wallMs),
                mb(viaCli.figures.maxRssKB),
                ms(viaCli.figures.userMs + viaCli.figures.systemMs),
                viaCli.treeCpuS === null ? "-" : ms(viaCli.treeCpuS * 1000),
                `${viaCli.builds} builds + ${viaCli.probes} probe`,
              ],
            ]
          : []),
        [
          "CLI (fluxguard audit --format json)",
          ms(cli.t.wallMs),
          rate(cli.objects, cli.t.wallMs),
          mb(cli.t.maxRssKB),
          "",
          cli.t.userS === null ? "-" : ms((cli.t.userS + (cli.t.sysS ?? 0)) * 1000),
          server ? `${f.batches} builds in ${availableParallelism()} servers` : `${cli.builds} builds + ${cli.probes} probe`,
        ],
        [
          "runAudit, warm render cache (unchanged inputs)",
          ms(warm.figures.wallMs),
          rate(warm.figures.objects, warm.figures.wallMs),
          mb(warm.figures.maxRssKB),
          ms(warm.figures.userMs + warm.figures.systemMs),
          warm.treeCpuS === null ? "-" : ms(warm.treeCpuS * 1000),
          server ? "0 builds" : `${warm.builds} builds + ${warm.probes} probe`,
        ],
        [
          "runAudit, built-in resolver (no kustomize)",
          ms(builtin.figures.wallMs),
          rate(builtin.figures.objects, builtin.figures.wallMs),
          mb(builtin.figures.maxRssKB),
          ms(builtin.figures.userMs + builtin.figures.systemMs),
          "",
          `${builtin.builds} builds`,
        ],
      ])}`,
    );
    console.log(
      `objects: ${f.objects} in ${f.files} files; Flux Kustomizations rendered: ${f.kustomizations} (${Object.entries(f.rendered)
        .map(([k, v]) => `${v} ${k}`)
        .join(", ")}); findings: ${f.findings}; runs: ${walls.map(ms).join(", ")}`,
    );
    console.log(
      `where the time goes: ${f.batches} kustomize batches (${f.batchPlans} plans, ${f.failedBatches} failed) took ${ms(f.batchMsSum)} summed over processes; ` +
        `without kustomize the same audit takes ${ms(builtin.figures.wallMs)} (walk, parse, model, rules).`,
    );
    console.log(`goal (issue 2): synthetic fleet under ${ms(GOAL_MS)} including kustomize: ${f.wallMs < GOAL_MS ? "met" : `NOT met (${(f.wallMs / GOAL_MS).toFixed(1)}x over)`}`);
    if (best.treeCpuS !== null) {
      console.log(`CPU floor: ${ms(best.treeCpuS * 1000)} of CPU over ${availableParallelism()} cores is at least ${ms((best.treeCpuS * 1000) / availableParallelism())} of wall even on an idle machine.`);
    }

    const fleetPeers: Array<PeerResult | { name: string; skipped: string }> = [];
    if (peersOn) {
      console.log(`\npeers on the synthetic fleet (same input, same run):`);
      const ka = await kustomizeAlone(fleet.dir, fleet.overlays);
      fleetPeers.push(typeof ka === "string" ? { name: "kustomize alone", skipped: ka } : ka);
      fleetPeers.push(await runPeer("checkov (kubernetes)", findCheckov, (b) => checkov(b, fleet.dir, "kubernetes")));
      fleetPeers.push(await runPeer("checkov (kustomize)", findCheckov, (b) => checkov(b, fleet.dir, "kustomize")));
      fleetPeers.push(await runPeer("kube-score", findKubeScore, (b) => kubeScore(b, fleet.dir)));
      printPeers(fleetPeers, f.wallMs, best.treeCpuS);
    } else console.log("\npeers: skipped (FLUXGUARD_BENCH_PEERS=0)");

    // --- the corpus
    const corpusEnv = process.env["FLUXGUARD_BENCH_CORPUS"];
    const corpus = resolve(corpusEnv ?? join(repoRoot, "..", "shared", "corpus"));
    if (corpusEnv === "none" || !existsSync(corpus)) {
      console.log(`\ncorpus: ${corpus} not found; skipped`);
      return;
    }
    const names = readdirSync(corpus).filter((n) => statSync(join(corpus, n)).isDirectory()).sort();
    const rows = [["corpus repository", "wall", "objects", "objects/s", "peak RSS", "Kustomizations", "kustomize processes", "findings"]];
    const peerRows = [["corpus repository", "fluxguard", "checkov (k8s)", "ratio", "checkov (kustomize)", "ratio", "kube-score", "ratio"]];
    let checkovBin: string | null = null;
    let kubeScoreBin: string | null = null;
    if (peersOn) {
      try {
        checkovBin = findCheckov();
      } catch {
        /* reported above */
      }
      try {
        kubeScoreBin = findKubeScore();
      } catch {
        /* reported above */
      }
    }
    for (const name of names) {
      const dir = join(corpus, name);
      const r = await inProcessAudit(dir, counter);
      const x = r.figures;
      rows.push([name, ms(x.wallMs), String(x.objects), rate(x.objects, x.wallMs), mb(x.maxRssKB), String(x.kustomizations), `${r.builds} + ${r.probes} probe`, String(x.findings)]);
      if (peersOn) {
        const cells = (r: PeerResult | string): string[] => (typeof r === "string" ? ["-", r.length > 48 ? `${r.slice(0, 47)}…` : r] : [ms(r.wallMs), (r.wallMs / x.wallMs).toFixed(2)]);
        peerRows.push([
          name,
          ms(x.wallMs),
          ...cells(checkovBin ? await checkov(checkovBin, dir, "kubernetes") : "not installed"),
          ...cells(checkovBin ? await checkov(checkovBin, dir, "kustomize") : "not installed"),
          ...cells(kubeScoreBin ? await kubeScore(kubeScoreBin, dir) : "not installed"),
        ]);
      }
    }
    console.log(`\ncorpus (${corpus}, read in place):\n${table(rows)}`);
    if (peersOn) console.log(`\npeers on the corpus (ratio = peer wall / fluxguard wall; checkov (k8s) and kube-score read plain manifests, checkov (kustomize) and fluxguard render overlays):\n${table(peerRows)}`);
  } finally {
    counter.dispose();
  }
}
