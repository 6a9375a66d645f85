import type { CliIO } from "./io.js";

/** One subcommand. `run` returns the exit code; only src/bin calls process.exit. */
export interface Command {
  name: string;
  summary: string;
  usage: string;
  run(argv: string[], io: CliIO): Promise<number>;
}
