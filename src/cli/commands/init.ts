import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { UsageError } from "../../core/errors.js";
import { STARTER_SPEC } from "../../generate/init.js";
import { COMMON_OPTIONS, parse } from "../args.js";
import type { Command } from "../command.js";
import { writeFileAtomic } from "../../io/write.js";

const USAGE = "fluxguard init [--output FILE] [--force]";

export const initCommand: Command = {
  name: "init",
  summary: "print a commented starter fleet spec for `fluxguard generate`",
  usage: USAGE,
  async run(argv, io) {
    const { values, positionals } = parse(argv, { ...COMMON_OPTIONS, force: { type: "boolean" } }, USAGE);
    if (values.help) {
      io.stdout(`usage: ${USAGE}\n\nPrints a starter fleet spec to stdout, or writes it to --output FILE (never overwriting without --force).\n`);
      return 0;
    }
    if (positionals.length > 0) throw new UsageError(`init takes no arguments (got '${positionals[0]}')`, `usage: ${USAGE}`);
    if (values.output === undefined) {
      io.stdout(STARTER_SPEC);
      return 0;
    }
    const target = resolve(io.cwd, values.output);
    if (existsSync(target) && !values.force) throw new UsageError(`${values.output} already exists`, "pass --force to overwrite it");
    writeFileAtomic(target, STARTER_SPEC);
    if (!values.quiet) io.stderr(`wrote ${values.output}; next: fluxguard generate ${values.output} --out ./generated\n`);
    return 0;
  },
};
