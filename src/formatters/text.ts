/** The human report: findings grouped by file, rendering notes, the posture table. */
import type { Severity } from "../core/types.js";
import type { AuditReport, Finding } from "../engine/report.js";
import { formatLiveText } from "../engine/live.js";
import { escapeDeep, finishText } from "./escape.js";

export interface TextOptions {
  color: boolean;
  verbose: boolean;
  quiet: boolean;
}

const COLORS: Record<Severity, string> = { critical: "\x1b[1;35m", high: "\x1b[1;31m", medium: "\x1b[33m", low: "\x1b[36m", info: "\x1b[2m" };
const RESET = "\x1b[0m";
const BOLD = "\x1b[1m";
const DIM = "\x1b[2m";

export function formatText(untrusted: AuditReport, opts: TextOptions): string {
  // Every string of the report comes from the scanned repository: escaped here, once.
  const report = escapeDeep(untrusted);
  const c = (code: string, s: string): string => (opts.color ? `${code}${s}${RESET}` : s);
  const lines: string[] = [];
  const active = report.findings.filter((f) => !f.suppressed || opts.verbose);
  if (report.empty) {
    lines.push("No Kubernetes objects found.");
    return `${lines.join("\n")}\n`;
  }
  const multiCluster = report.summary.clusters.filter((x) => !x.startsWith("(")).length > 1;
  const groups = new Map<string, Finding[]>();
  for (const f of active) {
    const key = f.location?.file ?? (f.resource ? `${f.resource.kind}/${f.resource.namespace ?? ""}/${f.resource.name}` : "(repository)");
    groups.set(key, [...(groups.get(key) ?? []), f]);
  }
  for (const key of [...groups.keys()].sort()) {
    lines.push(c(BOLD, key));
    for (const f of groups.get(key)!) {
      const pos = f.location ? `${f.location.line}:${f.location.column}` : "-";
      const sev = c(COLORS[f.severity], f.severity.padEnd(8));
      const sup = f.suppressed ? c(DIM, ` [suppressed: ${f.suppression?.reason ?? ""}]`) : "";
      const where = multiCluster && f.context.clusters.length ? c(DIM, ` (${f.context.clusters.join(", ")})`) : "";
      lines.push(`  ${pos.padEnd(8)} ${sev} ${f.message}${where}  ${c(DIM, f.ruleId)}${sup}`);
    }
    lines.push("");
  }
  const s = report.summary;
  const counts = (["critical", "high", "medium", "low", "info"] as const).filter((k) => s.bySeverity[k] > 0).map((k) => `${s.bySeverity[k]} ${k}`);
  lines.push(
    `${s.findings} finding${s.findings === 1 ? "" : "s"}${counts.length ? ` (${counts.join(", ")})` : ""}${s.suppressed ? `, ${s.suppressed} suppressed` : ""} in ${s.objects} objects from ${report.target.kind === "cluster" ? `cluster context ${report.target.path}` : `${s.files} files`}; failing at ${s.failOn} or above: ${s.failed ? "yes" : "no"}`,
  );
  if (s.untrusted) {
    const ign = s.untrusted.ignored.length ? ` (ignored: ${s.untrusted.ignored.join(", ")})` : "";
    lines.push(`untrusted mode: the repository's ${s.untrusted.repositoryConfig ?? ".fluxguard.yaml"} could only tighten rules${s.untrusted.repositoryConfig ? ign : " (it has none)"}; in-source suppressions do not pass the run`);
  }
  if (!opts.quiet) {
    const notes = report.rendering.reconcilers;
    const by = new Map<string, number>();
    for (const n of notes) by.set(n.method ?? "not rendered", (by.get(n.method ?? "not rendered") ?? 0) + 1);
    if (notes.length) {
      lines.push("");
      const operator = report.rendering.fluxOperator === undefined ? "" : `; ResourceSets: ${report.rendering.fluxOperator ?? "not expanded, the Flux Operator CLI is not available"}`;
      lines.push(c(BOLD, "Rendering") + ` (kustomize: ${report.rendering.kustomize ?? "not found, built-in resolver"}${operator})`);
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
    lines.push("");
    lines.push(c(BOLD, "Posture") + " (the seed's Expected Behaviour)");
    const w = Math.max(...report.posture.map((p) => p.threat.length));
    for (const p of report.posture) {
      const col = p.verdict === "exposed" ? COLORS.high : p.verdict === "defended" ? "\x1b[32m" : p.verdict === "not-applicable" ? DIM : COLORS.medium;
      lines.push(`  ${p.threat.padEnd(w)}  ${c(col, p.verdict.padEnd(14))}  ${c(DIM, p.because)}`);
    }
  }
  return finishText(`${lines.join("\n")}\n`);
}
