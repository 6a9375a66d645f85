import { UsageError } from "../../core/errors.js";
import type { Rule } from "../../core/rule.js";
import { ALL_RULES, findRule } from "../../rules/index.js";
import { COMMON_OPTIONS, parse, parseFormat } from "../args.js";
import type { Command } from "../command.js";

const USAGE = "fluxguard explain <rule-id> [--format text|json]";

export function explainText(r: Rule): string {
  const m = r.meta;
  return [
    `${m.id}: ${m.title}`,
    "",
    `Severity: ${m.severity}${m.severityVaries ? ` at most (varies: ${m.severityVaries})` : ""}`,
    `Threats:  ${m.threats.join(", ") || "-"}`,
    "",
    m.summary,
    "",
    "Why it matters",
    `  ${m.rationale}`,
    "",
    "How to fix it",
    `  ${m.remediation.text}`,
    "",
    ...m.remediation.snippet.split("\n").map((l) => `    ${l}`),
    "",
    ...(m.references.length ? ["References", ...m.references.map((x) => `  - ${x}`), ""] : []),
    `Suppress one finding with the annotation  fluxguard.io/ignore: "${m.id}: <reason>"`,
    "",
  ].join("\n");
}

export const explainCommand: Command = {
  name: "explain",
  summary: "explain a rule: rationale, remediation with a YAML snippet, references",
  usage: USAGE,
  async run(argv, io) {
    const { values, positionals } = parse(argv, { ...COMMON_OPTIONS }, USAGE);
    if (values.help) {
      io.stdout(`usage: ${USAGE}\n`);
      return 0;
    }
    const id = positionals[0];
    if (!id) throw new UsageError("explain needs a rule id", "run `fluxguard rules` for the list");
    const rule = findRule(id);
    if (!rule) {
      const near = ALL_RULES.map((r) => r.meta.id).filter((x) => x.includes(id) || id.includes(x.split("-")[0]!));
      throw new UsageError(`unknown rule '${id}'`, near.length ? `did you mean: ${near.slice(0, 3).join(", ")}?` : "run `fluxguard rules` for the list");
    }
    const format = parseFormat(values.format, ["text", "json"] as const, "text");
    io.stdout(format === "json" ? `${JSON.stringify({ schemaVersion: "1.0", rule: rule.meta }, null, 2)}\n` : explainText(rule));
    return 0;
  },
};
