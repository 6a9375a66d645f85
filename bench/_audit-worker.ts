/**
 * One in-process audit, measured in a fresh process so peak RSS belongs to it alone:
 * `node dist/bench/_audit-worker.js <dir>` prints one JSON line of figures on stdout.
 * (Not a benchmark module: bench/index.ts skips files starting with "_".)
 */
import { performance } from "node:perf_hooks";
import { runAudit } from "../src/engine/audit.js";

interface Figures {
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

const dir = process.argv[2];
if (!dir) {
  process.stderr.write("usage: _audit-worker.js <dir>\n");
  process.exit(2);
}

// FLUXGUARD_DEBUG_RENDER=1 makes the renderer log every kustomize batch to stderr; count them.
let batches = 0;
let batchPlans = 0;
let batchMsSum = 0;
let failedBatches = 0;
process.env["FLUXGUARD_DEBUG_RENDER"] = "1";
const write = process.stderr.write.bind(process.stderr);
process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
  const text = typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
  for (const line of text.split("\n")) {
    const m = /^kustomize: (\d+) plans in (\d+) ms/.exec(line);
    if (m) {
      batches++;
      batchPlans += Number(m[1]);
      batchMsSum += Number(m[2]);
    } else if (/^kustomize batch of \d+ failed/.test(line)) failedBatches++;
  }
  if (process.env["FLUXGUARD_BENCH_VERBOSE"]) return (write as (c: string | Uint8Array, ...r: unknown[]) => boolean)(chunk, ...rest);
  return true;
}) as typeof process.stderr.write;

const t0 = performance.now();
const report = await runAudit({ root: dir });
const wallMs = performance.now() - t0;
const ru = process.resourceUsage();
const rendered: Record<string, number> = {};
for (const n of report.rendering.reconcilers) rendered[n.method ?? "not-rendered"] = (rendered[n.method ?? "not-rendered"] ?? 0) + 1;
const out: Figures = {
  wallMs,
  objects: report.summary.objects,
  files: report.summary.files,
  kustomizations: report.rendering.reconcilers.length,
  rendered,
  findings: report.summary.findings,
  kustomize: report.rendering.kustomize,
  batches,
  batchPlans,
  batchMsSum,
  failedBatches,
  userMs: ru.userCPUTime / 1000,
  systemMs: ru.systemCPUTime / 1000,
  maxRssKB: ru.maxRSS,
};
process.stdout.write(`${JSON.stringify(out)}\n`);
