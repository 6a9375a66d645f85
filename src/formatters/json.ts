import type { AuditReport } from "../engine/report.js";
import { escapeJsonOutput } from "./escape.js";

/** The documented JSON report (schemas/audit-report.schema.json). */
export function formatJson(report: AuditReport): string {
  return escapeJsonOutput(`${JSON.stringify(report, null, 2)}\n`);
}
