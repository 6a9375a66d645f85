/**
 * Shared by the benchmark modules: timing a child process (with /usr/bin/time for CPU and peak
 * RSS, children included), and printing figures. (Not a benchmark: bench/index.ts skips "_".)
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { performance } from "node:perf_hooks";

export const TIME = existsSync("/usr/bin/time") ? "/usr/bin/time" : null;

export interface Timed {
  wallMs: number;
  status: number | null;
  stdout: string;
  stderr: string;
  /** From /usr/bin/time, children (kustomize) included; null without it. */
  userS: number | null;
  sysS: number | null;
  maxRssKB: number | null;
}

export function timed(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number; stdoutFile?: string } = {}): Promise<Timed> {
  const timeFile = join(tmpdir(), `fluxguard-bench-time-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const argv = TIME ? ["-f", "%U %S %M", "-o", timeFile, cmd, ...args] : args;
  return new Promise((resolvePromise) => {
    const t0 = performance.now();
    const child = spawn(TIME ?? cmd, argv, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let bytes = 0;
    child.stdout.on("data", (d: Buffer) => {
      bytes += d.length;
      if (bytes < 4 * 1024 * 1024) stdout += d.toString("utf8");
    });
    child.stderr.on("data", (d: Buffer) => {
      if (stderr.length < 64 * 1024) stderr += d.toString("utf8");
    });
    const timer = opts.timeoutMs ? setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs) : null;
    child.on("close", (status) => {
      if (timer) clearTimeout(timer);
      const wallMs = performance.now() - t0;
      let userS: number | null = null;
      let sysS: number | null = null;
      let maxRssKB: number | null = null;
      if (TIME && existsSync(timeFile)) {
        const last = readFileSync(timeFile, "utf8").trim().split("\n").pop() ?? "";
        const m = /^([\d.]+) ([\d.]+) (\d+)$/.exec(last);
        if (m) [userS, sysS, maxRssKB] = [Number(m[1]), Number(m[2]), Number(m[3])];
        rmSync(timeFile, { force: true });
      }
      resolvePromise({ wallMs, status, stdout, stderr, userS, sysS, maxRssKB });
    });
    child.on("error", (e) => {
      if (timer) clearTimeout(timer);
      resolvePromise({ wallMs: performance.now() - t0, status: null, stdout, stderr: stderr + String(e), userS: null, sysS: null, maxRssKB: null });
    });
  });
}

export function which(cmd: string, path = process.env["PATH"] ?? ""): string | null {
  for (const d of path.split(delimiter)) {
    const p = join(d, cmd);
    try {
      if (d && statSync(p).isFile()) return p;
    } catch {
      /* next */
    }
  }
  return null;
}


export const ms = (n: number): string => (n >= 10_000 ? `${(n / 1000).toFixed(1)} s` : `${Math.round(n)} ms`);
export const mb = (kb: number | null): string => (kb === null ? "-" : `${Math.round(kb / 1024)} MB`);
export const rate = (objects: number, wall: number): string => `${Math.round(objects / (wall / 1000)).toLocaleString("en-US")}/s`;

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ")).join("\n");
}

