/**
 * Baselines for pull requests: compare this audit with an earlier one (`--baseline
 * previous.json`, a `--format json` report of the base branch) by finding fingerprint. A
 * fingerprint is the rule, the object (kind, namespace, name), the JSON pointer and the file,
 * never a line number, so a finding keeps it when lines move or the YAML is reformatted.
 */
import { readFileSync } from "node:fs";
import { UsageError } from "../core/errors.js";
import { severityRank } from "../core/types.js";
import type { AuditReport, Finding } from "./report.js";

/** The findings of a baseline report: what `--baseline` needs of it. */
export interface BaselineInput {
  findings: Finding[];
}

/**
 * Reads a baseline: a fluxguard JSON audit report. Throws a UsageError (exit 2) for a missing
 * file, invalid JSON, or JSON that is not an audit report.
 */
export function readBaseline(path: string, shown: string): BaselineInput {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new UsageError(`cannot read the baseline ${shown}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, "write one with `fluxguard audit DIR --format json --output FILE` on the base branch");
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`the baseline ${shown} is not JSON: ${(e as Error).message}`, "a baseline is the output of `fluxguard audit --format json`");
  }
  const findings = (data as { findings?: unknown } | null)?.findings;
  if (typeof data !== "object" || data === null || (data as { tool?: { name?: unknown } }).tool?.name !== "fluxguard" || !Array.isArray(findings)) {
    throw new UsageError(`the baseline ${shown} is not a fluxguard audit report`, "a baseline is the output of `fluxguard audit --format json`");
  }
  const ok = findings.filter((f): f is Finding => typeof f === "object" && f !== null && typeof (f as { fingerprint?: unknown }).fingerprint === "string");
  return { findings: ok };
}

/**
 * Marks each finding `new` or `unchanged` against the baseline, lists the baseline's findings
 * that are gone, and makes `summary.failed` count new findings only. Mutates and returns the report.
 */
export function applyBaseline(report: AuditReport, baseline: BaselineInput, file: string): AuditReport {
  const before = new Set(baseline.findings.filter((f) => !f.suppressed).map((f) => f.fingerprint));
  const now = new Set(report.findings.map((f) => f.fingerprint));
  let fresh = 0;
  let same = 0;
  for (const f of report.findings) {
    f.baselineState = before.has(f.fingerprint) ? "unchanged" : "new";
    if (f.suppressed) continue;
    if (f.baselineState === "new") fresh++;
    else same++;
  }
  const seen = new Set<string>();
  const absent = baseline.findings
    .filter((f) => !f.suppressed && !now.has(f.fingerprint) && !seen.has(f.fingerprint) && seen.add(f.fingerprint))
    .map((f) => ({ ...f, baselineState: undefined }))
    .map(({ baselineState: _drop, ...f }) => f as Finding);
  report.baseline = { file, new: fresh, unchanged: same, absent };
  const failOn = severityRank(report.summary.failOn);
  // In untrusted mode a suppression written in the scanned content does not pass the run.
  const counts = (f: Finding): boolean => !f.suppressed || report.summary.untrusted !== undefined;
  report.summary.failed = report.findings.some((f) => counts(f) && f.baselineState === "new" && severityRank(f.severity) >= failOn);
  return report;
}
