import { UsageError } from "../../core/errors.js";
import { applyPlan, planDiff, planFixes, type FixPlan } from "../../fix/index.js";
import { COMMON_OPTIONS, parse, parseFormat } from "../args.js";
import { redactMessage } from "../../core/redact.js";
import { escapeText, finishText } from "../../formatters/escape.js";
import type { Command } from "../command.js";

const USAGE = "fluxguard fix <dir> [--dry-run] [--format text|json] [--quiet]";

function summary(plan: FixPlan, dryRun: boolean): string {
  const lines: string[] = [];
  const e = (s: string): string => escapeText(redactMessage(s));
  const n = plan.files.reduce((s, f) => s + f.changes.length, 0);
  if (n === 0) lines.push(`fluxguard: nothing to fix in ${plan.filesScanned} files`);
  else {
    lines.push(`fluxguard: ${dryRun ? "would apply" : "applied"} ${n} fix${n === 1 ? "" : "es"} in ${plan.files.length} file${plan.files.length === 1 ? "" : "s"}${dryRun ? " (dry run: nothing written)" : ""}`);
    for (const f of plan.files) for (const c of f.changes) lines.push(`  ${e(f.file)}: ${e(c.object)}: ${e(c.message)}`);
  }
  if (plan.todos.length) {
    lines.push("", "You must still:");
    for (const t of plan.todos) lines.push(`  - ${e(t.object)}: ${e(t.message)}`);
  }
  if (plan.leftAlone.length) {
    lines.push("", "Left alone (not safe or certain to fix automatically):");
    for (const l of plan.leftAlone) lines.push(`  - ${e(l.file)}: ${e(l.object)}: ${e(l.message)}`);
  }
  return finishText(`${lines.join("\n")}\n`);
}

export const fixCommand: Command = {
  name: "fix",
  summary: "apply the safe fixes (API migrations, prune, no force, lockdown, anchored tags, verify) keeping comments",
  usage: USAGE,
  async run(argv, io) {
    const { values, positionals } = parse(argv, { ...COMMON_OPTIONS, "dry-run": { type: "boolean" } }, USAGE);
    if (values.help) {
      io.stdout(
        `usage: ${USAGE}\n\n` +
          "Fixes what is safe and certain, keeping comments, key order and formatting; everything else is reported.\n" +
          "  --dry-run   print a unified diff and change nothing (exit 1 when there is something to fix)\n",
      );
      return 0;
    }
    const format = parseFormat(values.format, ["text", "json"] as const, "text");
    const target = positionals[0];
    if (!target) throw new UsageError("fix needs a directory", `usage: ${USAGE}`);
    if (positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}'`, `usage: ${USAGE}`);
    const dryRun = values["dry-run"] === true;
    const plan = planFixes(target.startsWith("/") ? target : `${io.cwd}/${target}`);
    if (!dryRun) applyPlan(plan);
    if (format === "json") {
      io.stdout(
        `${JSON.stringify(
          {
            schemaVersion: "1.0",
            dryRun,
            files: plan.files.map((f) => ({ file: f.file, changes: f.changes })),
            todos: plan.todos,
            leftAlone: plan.leftAlone,
          },
          null,
          2,
        )}\n`,
      );
    } else {
      if (dryRun) io.stdout(planDiff(plan));
      if (!values.quiet || plan.todos.length) (dryRun ? io.stderr : io.stdout)(summary(plan, dryRun));
    }
    return dryRun && plan.files.length > 0 ? 1 : 0;
  },
};
