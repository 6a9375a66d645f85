import type { CliIO } from "./io.js";
import { parse, type Options } from "./args.js";

/** One subcommand. `run` returns the exit code; only src/bin calls process.exit. */
export interface Command {
  name: string;
  summary: string;
  usage: string;
  run(argv: string[], io: CliIO): Promise<number>;
}

/**
 * A subcommand as the CLI lists it: its name, and its module loaded only when it runs (or for
 * `--help`), so a command pays only for the modules it imports itself (`fluxguard monitor` does
 * not load the rules, the renderer or the webhook).
 */
export interface CommandEntry {
  name: string;
  load(): Promise<Command>;
}

/**
 * The prologue every command shares: parses `argv` against `options` (a UsageError naming
 * `usage` on a bad flag) and prints `help` for `--help`/`-h`. Returns null when help was
 * printed (the command returns 0), else the parsed flags and positionals.
 */
export function commandArgs<T extends Options & { help: { type: "boolean" } }>(argv: string[], io: CliIO, spec: { options: T; usage: string; help: string }) {
  const parsed = parse(argv, spec.options, spec.usage);
  if ((parsed.values as { help?: boolean }).help) {
    io.stdout(spec.help);
    return null;
  }
  return parsed;
}
