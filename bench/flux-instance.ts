/**
 * `npm run bench -- flux-instance`: what rendering a FluxInstance costs. `flux-operator build
 * instance` against the offline distribution (fluxguard-flux-distribution serving the Flux
 * manifests from a loopback registry), the server's start alone, and the audit of a
 * one-FluxInstance repository cold (render cache off), warm (cache on, second run) and with the
 * build turned off (FLUXGUARD_FLUX_DISTRIBUTION=none: arguments inferred from spec.cluster).
 *
 * Knob: FLUXGUARD_BENCH_RUNS (default 3). Without the CLI and its distribution
 * (`npm run build:flux-operator`) the module says so and stops.
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { findFluxOperator } from "../src/loader/flux-operator.js";
import { median, mb, ms, table, timed } from "./_util.js";

const here = dirname(fileURLToPath(import.meta.url));
const CLI = join(resolve(here, "..", ".."), "dist", "src", "bin", "fluxguard.js");
const RUNS = Number(process.env["FLUXGUARD_BENCH_RUNS"] ?? 3);

const INSTANCE = `apiVersion: fluxcd.controlplane.io/v1
kind: FluxInstance
metadata:
  name: flux
  namespace: flux-system
spec:
  distribution:
    version: "2.x"
    registry: ghcr.io/fluxcd
  cluster:
    multitenant: true
    tenantDefaultServiceAccount: flux
    networkPolicy: true
  sync:
    kind: GitRepository
    url: ssh://git@github.com/example/fleet.git
    ref: refs/heads/main
    path: clusters/prod
`;

/** Starts the distribution server; resolves with its URL and a stop function, and the start time. */
function serve(server: string, layer: string): Promise<{ url: string; stop: () => void; startMs: number }> {
  return new Promise((resolvePromise, reject) => {
    const t0 = performance.now();
    const child = spawn(server, ["serve", "-layer", layer], { stdio: ["pipe", "pipe", "inherit"] });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      out += d;
      if (out.includes("\n")) resolvePromise({ url: out.split("\n")[0]!.trim(), stop: () => child.stdin.end(), startMs: performance.now() - t0 });
    });
    child.on("error", reject);
  });
}

export async function run(): Promise<void> {
  const tool = findFluxOperator(process.env);
  if (!tool?.distribution) {
    console.log("the Flux Operator CLI or its offline distribution is not built (npm run build:flux-operator needs Go): skipped");
    return;
  }
  const root = mkdtempSync(join(tmpdir(), "fluxguard-bench-fi-"));
  try {
    const repo = join(root, "repo");
    mkdirSync(join(repo, "clusters", "prod"), { recursive: true });
    writeFileSync(join(repo, "clusters", "prod", "flux-instance.yaml"), INSTANCE);
    const file = join(root, "fi.yaml");
    writeFileSync(file, INSTANCE);
    const cpu = (t: { userS: number | null; sysS: number | null } | null): string => (t && t.userS !== null ? `${((t.userS + (t.sysS ?? 0)) * 1000).toFixed(0)} ms` : "-");
    const rows: string[][] = [["step", "wall (median)", "CPU user+sys", "peak RSS"]];
    const starts: number[] = [];
    const builds: number[] = [];
    let last = null;
    for (let i = 0; i < RUNS; i++) {
      const s = await serve(tool.distribution.server, tool.distribution.layer);
      starts.push(s.startMs);
      last = await timed(tool.command, ["build", "instance", "-f", file, "--distribution-artifact", s.url]);
      if (last.status !== 0) throw new Error(`flux-operator build instance failed: ${last.stderr}`);
      builds.push(last.wallMs);
      s.stop();
    }
    rows.push(["distribution server start + push", ms(median(starts)), "-", "-"]);
    rows.push(["flux-operator build instance", ms(median(builds)), cpu(last), mb(last?.maxRssKB ?? null)]);
    const cache = join(root, "cache");
    for (const [label, env] of [
      ["audit, cold (render cache off)", { ...process.env, FLUXGUARD_CACHE: "off" }],
      ["audit, warm (FluxInstance build cached)", { ...process.env, FLUXGUARD_CACHE_DIR: cache }],
      ["audit, no build (inferred from spec.cluster)", { ...process.env, FLUXGUARD_CACHE: "off", FLUXGUARD_FLUX_DISTRIBUTION: "none" }],
    ] as const) {
      if (label.includes("warm")) await timed(process.execPath, [CLI, "audit", repo, "--format", "json"], { env });
      const walls: number[] = [];
      let t = null;
      for (let i = 0; i < RUNS; i++) {
        t = await timed(process.execPath, [CLI, "audit", repo, "--format", "json"], { env });
        walls.push(t.wallMs);
      }
      rows.push([label, ms(median(walls)), cpu(t), mb(t?.maxRssKB ?? null)]);
    }
    console.log(`flux-operator ${tool.version}; ${RUNS} runs each`);
    console.log(table(rows));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
