/** SARIF 2.1.0, for GitHub code scanning and other viewers. */
import type { Rule } from "../core/rule.js";
import type { Severity } from "../core/types.js";
import type { AuditReport } from "../engine/report.js";
import { escapeJsonOutput, escapeSarifText } from "./escape.js";

const SECURITY_SEVERITY: Record<Severity, string> = { critical: "9.5", high: "8.0", medium: "5.5", low: "3.0", info: "0.0" };
const LEVEL: Record<Severity, "error" | "warning" | "note"> = { critical: "error", high: "error", medium: "warning", low: "note", info: "note" };

export function formatSarif(report: AuditReport, rules: readonly Rule[]): string {
  const used = [...rules].sort((a, b) => a.meta.id.localeCompare(b.meta.id));
  const index = new Map(used.map((r, i) => [r.meta.id, i]));
  const sarif = {
    $schema: "https://json.schemastore.org/sarif-2.1.0.json",
    version: "2.1.0",
    runs: [
      {
        tool: {
          driver: {
            name: "fluxguard",
            version: report.tool.version,
            semanticVersion: report.tool.version,
            informationUri: "https://github.com/fluxguard/fluxguard",
            rules: used.map((r) => ({
              id: r.meta.id,
              name: r.meta.id.replace(/(^|-)([a-z])/g, (_m, _d: string, c: string) => c.toUpperCase()),
              shortDescription: { text: r.meta.title },
              fullDescription: { text: r.meta.summary },
              help: {
                text: `${r.meta.rationale}\n\nRemediation: ${r.meta.remediation.text}\n\n${r.meta.remediation.snippet}`,
                markdown: `${r.meta.rationale}\n\n**Remediation:** ${r.meta.remediation.text}\n\n\`\`\`yaml\n${r.meta.remediation.snippet}\n\`\`\``,
              },
              defaultConfiguration: { level: LEVEL[r.meta.severity] },
              properties: {
                "security-severity": SECURITY_SEVERITY[r.meta.severity],
                precision: "high",
                tags: ["security", ...r.meta.threats],
              },
            })),
          },
        },
        originalUriBaseIds: { "%SRCROOT%": { description: { text: "The audited directory" } } },
        // One result per finding and location (code scanning annotates each file), then, with
        // --baseline, the baseline's findings that are gone as `absent` results.
        results: [...report.findings, ...(report.baseline?.absent ?? [])].map((f) => {
          const result: Record<string, unknown> = {
            ruleId: f.ruleId,
            ruleIndex: index.get(f.ruleId) ?? -1,
            level: LEVEL[f.severity],
            message: { text: escapeSarifText(f.message) },
            partialFingerprints: { "fluxguard/v1": f.fingerprint },
            properties: {
              severity: f.severity,
              "security-severity": SECURITY_SEVERITY[f.severity],
              threats: f.threats,
              ...(f.rootCause ? { rootCause: f.rootCause } : {}),
            },
          };
          if (report.baseline) result["baselineState"] = f.baselineState ?? "absent";
          const locations: Array<Record<string, unknown>> = [];
          const logical = f.resource
            ? [{ fullyQualifiedName: `${f.resource.kind}/${f.resource.namespace ?? ""}/${f.resource.name}`, kind: "resource" }]
            : undefined;
          if (f.location) {
            locations.push({
              physicalLocation: {
                artifactLocation: { uri: encodeURI(f.location.file), uriBaseId: "%SRCROOT%" },
                region: { startLine: f.location.line, startColumn: f.location.column },
              },
              ...(logical ? { logicalLocations: logical } : {}),
            });
          } else if (logical) locations.push({ logicalLocations: logical });
          if (locations.length) result["locations"] = locations;
          if (f.suppressed) result["suppressions"] = [{ kind: "inSource", status: "accepted", justification: f.suppression?.reason ?? "" }];
          return result;
        }),
      },
    ],
  };
  return escapeJsonOutput(`${JSON.stringify(sarif, null, 2)}\n`);
}
