import { UsageError } from "../core/errors.js";
import type { CliIO } from "./io.js";
import { COMMANDS } from "./commands/index.js";
import { VERSION } from "../core/version.js";
import { redactMessage } from "../core/redact.js";
import { escapeText } from "../formatters/escape.js";

async function help(): Promise<string> {
  const commands = await Promise.all(COMMANDS.map((c) => c.load()));
  const width = Math.max(...commands.map((c) => c.name.length));
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    `fluxguard ${VERSION}: security toolkit for Flux CD`,
    "",
    "usage: fluxguard <command> [target] [flags]",
    "",
    "commands:",
    ...lines,
    "",
    "Run `fluxguard <command> --help` for a command's flags.",
    "",
  ].join("\n");
}

/** Runs the CLI and returns the exit code. Never calls process.exit. */
export async function main(argv: string[], io: CliIO): Promise<number> {
  const [name, ...rest] = argv;
  const verbose = rest.includes("--verbose") || rest.includes("-v");
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    io.stdout(await help());
    return name === undefined ? 2 : 0;
  }
  if (name === "--version" || name === "version") {
    io.stdout(`${VERSION}\n`);
    return 0;
  }
  const entry = COMMANDS.find((c) => c.name === name);
  if (!entry) {
    io.stderr(`fluxguard: unknown command '${name}'\nhint: run \`fluxguard --help\` for the list of commands\n`);
    return 2;
  }
  try {
    const command = await entry.load();
    return await command.run(rest, io);
  } catch (e) {
    if (e instanceof UsageError) {
      // Messages may quote paths and values from scanned content: one line, no secrets.
      io.stderr(`fluxguard: ${escapeText(redactMessage(e.message))}\n`);
      if (e.hint) io.stderr(`hint: ${escapeText(redactMessage(e.hint))}\n`);
      if (verbose && e.stack) io.stderr(`${e.stack}\n`);
      return 2;
    }
    const err = e as NodeJS.ErrnoException;
    io.stderr(`fluxguard: internal error: ${escapeText(redactMessage(err?.message ?? String(e)))}\n`);
    if (verbose && err?.stack) io.stderr(`${err.stack}\n`);
    else io.stderr("hint: re-run with --verbose for a stack trace, and report it\n");
    return 2;
  }
}
