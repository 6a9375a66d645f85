import { severityRank } from "../../core/types.js";
import { ALL_RULES } from "../../rules/index.js";
import { COMMON_OPTIONS, parse, parseFormat } from "../args.js";
import type { Command } from "../command.js";

const USAGE = "fluxguard rules [--format text|json]";

export const rulesCommand: Command = {
  name: "rules",
  summary: "list the audit rules: id, severity, threats, summary",
  usage: USAGE,
  async run(argv, io) {
    const { values } = parse(argv, { ...COMMON_OPTIONS }, USAGE);
    if (values.help) {
      io.stdout(`usage: ${USAGE}\n`);
      return 0;
    }
    const format = parseFormat(values.format, ["text", "json"] as const, "text");
    const rules = [...ALL_RULES].sort((a, b) => severityRank(b.meta.severity) - severityRank(a.meta.severity) || a.meta.id.localeCompare(b.meta.id));
    if (format === "json") {
      const out = rules.map((r) => ({ id: r.meta.id, title: r.meta.title, severity: r.meta.severity, ...(r.meta.severityVaries ? { severityVaries: r.meta.severityVaries } : {}), threats: r.meta.threats, summary: r.meta.summary }));
      io.stdout(`${JSON.stringify({ schemaVersion: "1.0", rules: out }, null, 2)}\n`);
      return 0;
    }
    const w = Math.max(...rules.map((r) => r.meta.id.length));
    for (const r of rules) {
      const sev = r.meta.severityVaries ? `${r.meta.severity}*` : r.meta.severity;
      io.stdout(`${r.meta.id.padEnd(w)}  ${sev.padEnd(9)}  ${r.meta.summary}\n${" ".repeat(w + 13)}threats: ${r.meta.threats.join(", ") || "-"}\n`);
    }
    io.stdout(`\n${rules.length} rules, by the highest severity each reports (*: some of its findings are lower). \`fluxguard explain <rule-id>\` shows the rationale, how severity is chosen and the fix.\n`);
    return 0;
  },
};
