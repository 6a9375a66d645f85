import { resolve } from "node:path";
import { UsageError } from "../../core/errors.js";
import { generateFleet } from "../../generate/fleet.js";
import { loadSpec, SpecError } from "../../generate/spec.js";
import { writeGenerated } from "../../generate/write.js";
import { COMMON_OPTIONS, parse, parseFormat } from "../args.js";
import type { Command } from "../command.js";

const USAGE = "fluxguard generate <spec.yaml> [--out DIR] [--kyverno] [--format text|json] [--quiet]";

export const generateCommand: Command = {
  name: "generate",
  summary: "write a hardened fleet (tenants, lockdown, admission policy, monitoring) from a fleet spec",
  usage: USAGE,
  async run(argv, io) {
    const { values, positionals } = parse(argv, { ...COMMON_OPTIONS, out: { type: "string" }, kyverno: { type: "boolean" } }, USAGE);
    if (values.help) {
      io.stdout(
        `usage: ${USAGE}\n\n` +
          "Validates the spec, then writes the fleet to --out (default ./generated).\n" +
          "  --kyverno   also write Kyverno ClusterPolicies equivalent to the ValidatingAdmissionPolicies\n" +
          "A bad spec writes nothing; every problem is reported with its line.\n",
      );
      return 0;
    }
    const format = parseFormat(values.format, ["text", "json"] as const, "text");
    const specFile = positionals[0];
    if (!specFile) throw new UsageError("generate needs a fleet spec", "create one with `fluxguard init > fleet.yaml`");
    if (positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}'`, `usage: ${USAGE}`);
    const out = values.out ?? values.output ?? "generated";
    let spec;
    try {
      spec = loadSpec(resolve(io.cwd, specFile));
    } catch (e) {
      if (e instanceof SpecError) {
        const rel = (l: string) => l.replace(resolve(io.cwd, specFile), specFile);
        for (const line of e.lines()) io.stderr(`fluxguard: ${rel(line)}\n`);
        io.stderr(`hint: ${e.hint}; nothing was written\n`);
        return 2;
      }
      throw e;
    }
    const files = generateFleet(spec, { kyverno: values.kyverno === true });
    const result = writeGenerated(resolve(io.cwd, out), files);
    if (format === "json") {
      io.stdout(
        `${JSON.stringify({ schemaVersion: "1.0", out, files: files.map((f) => f.path), written: result.written, unchanged: result.unchanged, removed: result.removed }, null, 2)}\n`,
      );
    } else if (!values.quiet) {
      io.stdout(
        `fluxguard: generated ${files.length} files in ${out} (${result.written} written, ${result.unchanged} unchanged${result.removed.length ? `, ${result.removed.length} removed` : ""})\n` +
          `  clusters: ${spec.clusters.map((c) => c.name).sort().join(", ")}\n` +
          `  tenants:  ${spec.tenants.map((t) => t.name).sort().join(", ") || "(none)"}\n` +
          `next: create the Secrets listed in ${out}/README.md, then run \`fluxguard audit ${out}\`\n`,
      );
    }
    return 0;
  },
};
