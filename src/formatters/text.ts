/**
 * The human report, in the order a person acts on it: the summary (counts, assumptions, the
 * posture table), then "fix first" (root causes ranked by severity and by how many objects
 * each exposes, each with the one change that fixes it), then the findings, then how the
 * repository was rendered.
 *
 * Findings are grouped by root cause (`--group-by rule`, the default: a fact behind 100
 * findings is stated once, with its objects listed compactly), by cluster (the same, per
 * cluster), or by file (`--group-by file`: one `line:column` line per finding, for editors).
 */
import type { ResourceRef, Severity } from "../core/types.js";
import type { AuditReport, Finding } from "../engine/report.js";
import { exposure, type RootCause } from "../engine/root-causes.js";
import { formatLiveText } from "../engine/live.js";
import { escapeDeep, finishText } from "./escape.js";

export const GROUP_BY = ["rule", "file", "cluster"] as const;
export type GroupBy = (typeof GROUP_BY)[number];

export interface TextOptions {
  color: boolean;
  verbose: boolean;
  quiet: boolean;
  /** How findings are grouped (default `rule`: by root cause). */
  groupBy?: GroupBy;
  /** Terminal width for wrapped object lists (default 100). */
  width?: number;
}

const COLORS: Record<Severity, string> = { critical: "\x1b[1;35m", high: "\x1b[1;31m", medium: "\x1b[33m", low: "\x1b[36m", info: "\x1b[2m" };
const RESET = "\x1b[0m";
const BOLD = "\x1b[1m";
const DIM = "\x1b[2m";
const GREEN = "\x1b[32m";
/** Root causes shown under "Fix first". */
const FIX_FIRST = 10;
/** Findings of one cause printed one per line; more are listed compactly. */
const LIST_ALL_UP_TO = 3;
/** Lines of object names per kind before "… and N more" (all with --verbose). */
const OBJECT_LINES = 3;

type Paint = (code: string, s: string) => string;

export function formatText(untrusted: AuditReport, opts: TextOptions): string {
  // Every string of the report comes from the scanned repository: escaped here, once.
  const report = escapeDeep(untrusted);
  const c: Paint = (code, s) => (opts.color ? `${code}${s}${RESET}` : s);
  if (report.empty) return "No Kubernetes objects found.\n";
  const lines: string[] = [];
  const width = opts.width ?? 100;
  const groupBy = opts.groupBy ?? "rule";
  const byPrint = new Map(report.findings.map((f) => [f.fingerprint, f]));
  const findingsOf = (cause: RootCause): Finding[] => cause.findings.map((fp) => byPrint.get(fp)).filter((f): f is Finding => f !== undefined);

  // 1. Summary: counts, what was assumed, the posture.
  const s = report.summary;
  const counts = (["critical", "high", "medium", "low", "info"] as const).filter((k) => s.bySeverity[k] > 0).map((k) => c(COLORS[k], `${s.bySeverity[k]} ${k}`));
  const realClusters = s.clusters.filter((x) => !x.startsWith("("));
  const from = report.target.kind === "cluster" ? `cluster context ${report.target.path}` : `${s.files} files`;
  lines.push(
    c(BOLD, `${s.findings} finding${s.findings === 1 ? "" : "s"}`) +
      `${counts.length ? ` (${counts.join(", ")})` : ""}${s.suppressed ? `, ${s.suppressed} suppressed` : ""} in ${s.objects} objects from ${from}` +
      `${realClusters.length ? `, ${realClusters.length} cluster${realClusters.length === 1 ? "" : "s"}` : ""}; failing at ${s.failOn} or above: ${s.failed ? "yes" : "no"}`,
  );
  if (s.untrusted) {
    const ign = s.untrusted.ignored.length ? ` (ignored: ${s.untrusted.ignored.join(", ")})` : "";
    lines.push(`untrusted mode: the repository's ${s.untrusted.repositoryConfig ?? ".fluxguard.yaml"} could only tighten rules${s.untrusted.repositoryConfig ? ign : " (it has none)"}; in-source suppressions do not pass the run`);
  }
  if (report.baseline) {
    const b = report.baseline;
    lines.push(`Against the baseline ${b.file}: ${c(BOLD, `${b.new} new`)}, ${b.unchanged} unchanged, ${b.absent.length} fixed since; --fail-on counts new findings only`);
  }
  for (const a of s.assumptions) lines.push(c(DIM, `Assumed: ${a}`));
  if (!opts.quiet) lines.push("", ...formatPosture(report, c));

  // 2. Fix first.
  const causes = report.rootCauses;
  if (causes.length) {
    lines.push("", c(BOLD, "Fix first") + c(DIM, " (root causes: most severe first, then most objects exposed)"));
    const shown = causes.slice(0, FIX_FIRST);
    const numW = String(shown.length).length;
    for (const [i, cause] of shown.entries()) {
      const n = exposure(cause);
      const what = cause.objects.length ? `${n} object${n === 1 ? "" : "s"}` : `${n} file${n === 1 ? "" : "s"}`;
      const head = `  ${String(i + 1).padStart(numW)}. ${c(COLORS[cause.severity], cause.severity.padEnd(8))} ${what.padEnd(11)} `;
      lines.push(`${head}${cause.fix}`);
      lines.push(`${" ".repeat(numW + 26)}${c(DIM, `${cause.title}${newIn(cause, byPrint)}`)}`);
    }
    if (causes.length > shown.length) lines.push(c(DIM, `  … ${causes.length - shown.length} more root causes below`));
  }

  // 3. The findings.
  const active = report.findings.filter((f) => !f.suppressed);
  if (active.length) {
    lines.push("");
    if (groupBy === "file") lines.push(...byFile(active, c, report, "Findings by file"));
    else if (groupBy === "cluster") {
      lines.push(c(BOLD, "Findings by cluster") + c(DIM, " (--group-by file for one line per finding)"));
      const clusterIds = [...new Set(active.flatMap((f) => (f.context.clusters.length ? f.context.clusters : ["(no cluster)"])))].sort();
      for (const id of clusterIds) {
        const inCluster = (f: Finding): boolean => (f.context.clusters.length ? f.context.clusters.includes(id) : id === "(no cluster)");
        const n = active.filter(inCluster).length;
        if (lines[lines.length - 1] !== "") lines.push("");
        lines.push(c(BOLD, `Cluster ${id}`) + ` (${n} finding${n === 1 ? "" : "s"})`);
        for (const [i, cause] of causes.entries()) {
          const fs = findingsOf(cause).filter(inCluster);
          if (fs.length) lines.push(...formatCause(i + 1, cause, fs, c, width, opts.verbose), "");
        }
      }
    } else {
      lines.push(c(BOLD, "Findings by root cause") + c(DIM, " (--group-by file for one line per finding)"));
      for (const [i, cause] of causes.entries()) lines.push("", ...formatCause(i + 1, cause, findingsOf(cause), c, width, opts.verbose));
    }
  }
  const suppressed = report.findings.filter((f) => f.suppressed);
  if (suppressed.length && opts.verbose) lines.push("", ...byFile(suppressed, c, report, "Suppressed"));

  // 4. How the repository was rendered, what was skipped, the live analysis.
  if (!opts.quiet) {
    const notes = report.rendering.reconcilers;
    const by = new Map<string, number>();
    for (const n of notes) by.set(n.method ?? "not rendered", (by.get(n.method ?? "not rendered") ?? 0) + 1);
    if (notes.length) {
      lines.push("");
      const operator = report.rendering.fluxOperator === undefined ? "" : `; ResourceSets: ${report.rendering.fluxOperator ?? "not expanded, the Flux Operator CLI is not available"}`;
      const instances = (report.rendering.fluxInstances ?? [])
        .map((f) => `; FluxInstance ${f.instance}: ${f.renderedBy ? `rendered by ${f.renderedBy}` : `controller arguments inferred from spec.cluster (${f.problem ?? "not rendered"})`}`)
        .join("");
      lines.push(c(BOLD, "Rendering") + ` (kustomize: ${report.rendering.kustomize ?? "not found, built-in resolver"}${operator}${instances})`);
      lines.push(`  ${[...by.entries()].sort().map(([m, n]) => `${n} ${m}`).join(", ")}`);
      for (const n of notes) {
        if (n.problems.length === 0 && !opts.verbose) continue;
        lines.push(`  ${n.reconciler} (${n.method ?? "not rendered"}, ${n.objects} objects)${n.problems.length ? `: ${n.problems.join("; ")}` : ""}`);
      }
    }
    const notices = report.notices.filter((n) => n.level === "warn" || opts.verbose);
    if (notices.length) {
      lines.push("");
      lines.push(c(BOLD, "Skipped"));
      for (const n of notices) lines.push(`  ${n.file}: ${n.reason}`);
    }
    if (report.live) {
      lines.push("");
      lines.push(formatLiveText(report.live).trimEnd());
    }
  }
  return finishText(`${lines.join("\n")}\n`);
}

/** The posture table (the seed's Expected Behaviour). */
function formatPosture(report: AuditReport, c: Paint): string[] {
  if (!report.posture.length) return [];
  const out = [c(BOLD, "Posture") + " (the seed's Expected Behaviour)"];
  const w = Math.max(...report.posture.map((p) => p.threat.length));
  for (const p of report.posture) {
    const col = p.verdict === "exposed" ? COLORS.high : p.verdict === "defended" ? GREEN : p.verdict === "not-applicable" ? DIM : COLORS.medium;
    out.push(`  ${p.threat.padEnd(w)}  ${c(col, p.verdict.padEnd(14))}  ${c(DIM, p.because)}`);
  }
  return out;
}

function newIn(cause: RootCause, byPrint: ReadonlyMap<string, Finding>): string {
  const n = cause.findings.filter((fp) => byPrint.get(fp)?.baselineState === "new").length;
  return n ? ` [${n} new]` : "";
}

function at(f: Finding): string {
  if (f.location) return `${f.location.file}:${f.location.line}:${f.location.column}`;
  return f.resource ? `${f.resource.kind}/${f.resource.namespace ?? ""}/${f.resource.name}` : "(repository)";
}

function mark(f: Finding, c: Paint): string {
  return f.baselineState === "new" ? c(BOLD, "new ") : "";
}

/** One root cause: the fact and the fix once, then its findings (few) or its objects (many). */
function formatCause(n: number, cause: RootCause, findings: readonly Finding[], c: Paint, width: number, verbose: boolean): string[] {
  const out: string[] = [];
  const rules = cause.rules.map((r) => (cause.rules.length > 1 ? `${r.ruleId} (${r.findings})` : r.ruleId)).join(", ");
  out.push(`[${n}] ${c(COLORS[cause.severity], cause.severity)}  ${c(BOLD, cause.title)}  ${c(DIM, rules)}`);
  out.push(`    fix: ${cause.fix}${c(DIM, ` (fluxguard explain ${cause.explain})`)}`);
  // New findings first, then the report's order.
  const ordered = [...findings].sort((a, b) => Number(b.baselineState === "new") - Number(a.baselineState === "new"));
  if (ordered.length <= LIST_ALL_UP_TO || verbose) {
    for (const f of ordered) out.push(`    ${mark(f, c)}${c(COLORS[f.severity], f.severity.padEnd(8))} ${at(f)}  ${f.message}`);
    return out;
  }
  const fresh = ordered.filter((f) => f.baselineState === "new");
  for (const f of fresh.slice(0, LIST_ALL_UP_TO)) out.push(`    ${mark(f, c)}${c(COLORS[f.severity], f.severity.padEnd(8))} ${at(f)}  ${f.message}`);
  if (fresh.length > LIST_ALL_UP_TO) out.push(c(DIM, `    … and ${fresh.length - LIST_ALL_UP_TO} more new`));
  const refs = uniqueRefs(ordered);
  const byKind = new Map<string, string[]>();
  for (const r of refs) byKind.set(r.kind, [...(byKind.get(r.kind) ?? []), r.namespace ? `${r.namespace}/${r.name}` : r.name]);
  for (const [kind, names] of [...byKind.entries()].sort(([a], [b]) => a.localeCompare(b))) out.push(...wrapList(`    ${kind} (${names.length}): `, names, width, OBJECT_LINES, c));
  const files = [...new Set(ordered.filter((f) => !f.resource && f.location).map((f) => f.location!.file))].sort();
  if (files.length) out.push(...wrapList(`    files (${files.length}): `, files, width, OBJECT_LINES, c));
  const first = ordered[0]!;
  out.push(c(DIM, `    e.g. ${at(first)}  ${first.message}`));
  return out;
}

function uniqueRefs(findings: readonly Finding[]): ResourceRef[] {
  const seen = new Map<string, ResourceRef>();
  for (const f of findings) if (f.resource) seen.set(`${f.resource.kind}\0${f.resource.namespace ?? ""}\0${f.resource.name}`, f.resource);
  return [...seen.values()].sort((a, b) => a.kind.localeCompare(b.kind) || (a.namespace ?? "").localeCompare(b.namespace ?? "") || a.name.localeCompare(b.name));
}

/** `prefix a, b, c` wrapped at `width`, at most `maxLines` lines, then "… and N more". */
function wrapList(prefix: string, items: readonly string[], width: number, maxLines: number, c: Paint): string[] {
  const indent = " ".repeat(Math.min(prefix.length, 8));
  const out: string[] = [];
  let line = prefix;
  let used = 0;
  for (const [i, item] of items.entries()) {
    const piece = `${item}${i < items.length - 1 ? "," : ""}`;
    if (line.length + piece.length + 1 > width && line.trim() !== prefix.trim()) {
      if (out.length + 1 >= maxLines) break;
      out.push(line.trimEnd());
      line = indent;
    }
    line += `${piece} `;
    used = i + 1;
  }
  out.push(line.trimEnd());
  if (used < items.length) out.push(c(DIM, `${indent}… and ${items.length - used} more (--group-by file lists each; --format json has them all under rootCauses[].objects)`));
  return out;
}

/** One line per finding, grouped by file: the editor's view (`--group-by file`). */
function byFile(findings: readonly Finding[], c: Paint, report: AuditReport, heading: string): string[] {
  const out = [c(BOLD, heading)];
  const multiCluster = report.summary.clusters.filter((x) => !x.startsWith("(")).length > 1;
  const groups = new Map<string, Finding[]>();
  for (const f of findings) {
    const key = f.location?.file ?? (f.resource ? `${f.resource.kind}/${f.resource.namespace ?? ""}/${f.resource.name}` : "(repository)");
    groups.set(key, [...(groups.get(key) ?? []), f]);
  }
  for (const key of [...groups.keys()].sort()) {
    out.push("", c(BOLD, key));
    const fs = [...groups.get(key)!].sort((a, b) => Number(b.baselineState === "new") - Number(a.baselineState === "new"));
    for (const f of fs) {
      const pos = f.location ? `${f.location.line}:${f.location.column}` : "-";
      const sev = c(COLORS[f.severity], f.severity.padEnd(8));
      const sup = f.suppressed ? c(DIM, ` [suppressed: ${f.suppression?.reason ?? ""}]`) : "";
      const where = multiCluster && f.context.clusters.length ? c(DIM, ` (${f.context.clusters.join(", ")})`) : "";
      out.push(`  ${pos.padEnd(8)} ${mark(f, c)}${sev} ${f.message}${where}  ${c(DIM, f.ruleId)}${sup}`);
    }
  }
  return out;
}
