import { parseArgs, type ParseArgsConfig } from "node:util";
import { UsageError } from "../core/errors.js";
import { isSeverity, type Severity } from "../core/types.js";

export type Options = NonNullable<ParseArgsConfig["options"]>;

/** The flags every command shares (CONVENTIONS.md). */
export const COMMON_OPTIONS = {
  format: { type: "string" },
  output: { type: "string" },
  config: { type: "string" },
  "fail-on": { type: "string" },
  quiet: { type: "boolean", short: "q" },
  verbose: { type: "boolean", short: "v" },
  "no-color": { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const satisfies Options;

export function parse<T extends Options>(argv: string[], options: T, usage: string) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message.replace(/^TypeError \[[A-Z_]+\]: /, ""), `usage: ${usage}`);
  }
}

export function parseFormat<F extends string>(value: string | undefined, allowed: readonly F[], fallback: F, flag = "--format"): F {
  if (value === undefined) return fallback;
  if ((allowed as readonly string[]).includes(value)) return value as F;
  throw new UsageError(`unknown ${flag} '${value}'`, `expected one of: ${allowed.join(", ")}`);
}

export function parseSeverity(value: string | undefined, fallback: Severity): Severity {
  if (value === undefined) return fallback;
  if (isSeverity(value)) return value;
  throw new UsageError(`unknown severity '${value}' for --fail-on`, "expected one of: critical, high, medium, low, info");
}
