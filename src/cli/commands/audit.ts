import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { UsageError } from "../../core/errors.js";
import { runAudit, runClusterAudit } from "../../engine/audit.js";
import type { AuditReport } from "../../engine/report.js";
import { formatJson } from "../../formatters/json.js";
import { formatSarif } from "../../formatters/sarif.js";
import { formatHtml } from "../../formatters/html.js";
import { formatText, GROUP_BY, type GroupBy } from "../../formatters/text.js";
import { applyBaseline, readBaseline } from "../../engine/baseline.js";
import { ALL_RULES } from "../../rules/index.js";
import { COMMON_OPTIONS, parse, parseFormat, parseSeverity } from "../args.js";
import type { Command } from "../command.js";
import { useColor, type CliIO } from "../io.js";
import { writeFileAtomic } from "../../io/write.js";

const USAGE =
  "fluxguard audit <dir> [--untrusted] | --cluster [--context NAME] [--kubeconfig FILE] [--format text|json|sarif|html] [--output FILE] [--group-by rule|file|cluster] [--baseline FILE] [--config FILE] [--fail-on SEVERITY] [--quiet] [--verbose] [--no-color]";
const FORMATS = ["text", "json", "sarif", "html"] as const;

export const auditCommand: Command = {
  name: "audit",
  summary: "audit a Flux GitOps repository: RBAC, tenancy, sources, credentials, Helm, images, alerting",
  usage: USAGE,
  async run(argv, io) {
    const { values, positionals } = parse(
      argv,
      { ...COMMON_OPTIONS, cluster: { type: "boolean" }, context: { type: "string" }, kubeconfig: { type: "string" }, "group-by": { type: "string" }, baseline: { type: "string" }, untrusted: { type: "boolean" } },
      USAGE,
    );
    if (values.help) {
      io.stdout(`usage: ${USAGE}\n`);
      return 0;
    }
    if (positionals.length > 1) throw new UsageError(`audit takes one directory, got ${positionals.length}`, `usage: ${USAGE}`);
    const format = parseFormat(values.format, FORMATS, "text");
    const failOn = parseSeverity(values["fail-on"], "high");
    const groupBy = parseFormat(values["group-by"], GROUP_BY, "rule", "--group-by");
    // Read the baseline first: a bad baseline is a usage error before any work is done.
    const baseline = values.baseline !== undefined ? readBaseline(resolve(io.cwd, values.baseline), values.baseline) : null;
    const opts: RenderOptions = { format, groupBy, noColor: Boolean(values["no-color"]) || values.output !== undefined, verbose: Boolean(values.verbose), quiet: Boolean(values.quiet) };
    if (values.cluster) {
      if (positionals.length) throw new UsageError("audit --cluster takes no directory", `usage: ${USAGE}`);
      if (values.untrusted) throw new UsageError("--untrusted applies to auditing a directory (a pull request's checkout), not --cluster", `usage: ${USAGE}`);
      const report = await runClusterAudit({
        failOn,
        env: io.env,
        ...(values.config ? { configPath: resolve(io.cwd, values.config) } : {}),
        ...(values.context ? { context: values.context } : {}),
        ...(values.kubeconfig ? { kubeconfig: resolve(io.cwd, values.kubeconfig) } : {}),
      });
      if (baseline && values.baseline) applyBaseline(report, baseline, values.baseline);
      const out = render(report, opts, io);
      if (values.output) writeFileAtomic(resolve(io.cwd, values.output), out);
      else io.stdout(out);
      return report.summary.failed ? 1 : 0;
    }
    if (values.context || values.kubeconfig) throw new UsageError("--context and --kubeconfig need --cluster", `usage: ${USAGE}`);
    const target = positionals[0] ?? ".";
    if (!existsSync(resolve(io.cwd, target))) throw new UsageError(`no such directory: ${target}`, `usage: ${USAGE}`);
    const report = await runAudit({
      root: resolve(io.cwd, target),
      failOn,
      env: io.env,
      untrusted: Boolean(values.untrusted),
      ...(values.config ? { configPath: resolve(io.cwd, values.config) } : {}),
    });
    report.target.path = target;
    if (baseline && values.baseline) applyBaseline(report, baseline, values.baseline);
    const out = render(report, opts, io);
    if (values.output) writeFileAtomic(resolve(io.cwd, values.output), out);
    else io.stdout(out);
    if (report.empty && format === "text" && values.output) io.stderr("fluxguard: no Kubernetes objects found\n");
    return report.summary.failed ? 1 : 0;
  },
};

interface RenderOptions {
  format: (typeof FORMATS)[number];
  groupBy: GroupBy;
  noColor: boolean;
  verbose: boolean;
  quiet: boolean;
}

function render(report: AuditReport, o: RenderOptions, io: CliIO): string {
  switch (o.format) {
    case "json":
      return formatJson(report);
    case "sarif":
      return formatSarif(report, ALL_RULES);
    case "html":
      return formatHtml(report, ALL_RULES);
    case "text":
      return formatText(report, { color: useColor(io, o.noColor), verbose: o.verbose, quiet: o.quiet, groupBy: o.groupBy });
  }
}
