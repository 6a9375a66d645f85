import type { AuditReport } from "../engine/report.js";

/** The documented JSON report (schemas/audit-report.schema.json). */
export function formatJson(report: AuditReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
