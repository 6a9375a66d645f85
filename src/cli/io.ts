import { writeFileSync, renameSync, mkdirSync, statSync } from "node:fs";
import { UsageError } from "../core/errors.js";
import { dirname, join, basename } from "node:path";

/** What a command may touch of the outside world; tests pass their own. */
export interface CliIO {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Whether stdout is a terminal (colour, progress). */
  isTTY: boolean;
  env: Record<string, string | undefined>;
  cwd: string;
}

export function processIO(): CliIO {
  return {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    isTTY: Boolean(process.stdout.isTTY),
    env: process.env,
    cwd: process.cwd(),
  };
}

/**
 * Writes a file atomically: a temporary file beside it, then a rename. Devices, FIFOs and
 * other non-regular targets (`--output /dev/null`, `/dev/stdout`) are written in place:
 * renaming over them would replace the device with a file.
 */
export function writeFileAtomic(path: string, content: string): void {
  let st;
  try {
    st = statSync(path);
  } catch {
    st = undefined;
  }
  if (st && !st.isFile()) {
    if (st.isDirectory()) throw new UsageError(`cannot write to ${path}: it is a directory`);
    writeFileSync(path, content);
    return;
  }
  mkdirSync(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  writeFileSync(tmp, content);
  renameSync(tmp, path);
}

export function useColor(io: CliIO, noColorFlag: boolean): boolean {
  if (noColorFlag) return false;
  const nc = io.env["NO_COLOR"];
  if (nc !== undefined && nc !== "") return false;
  if (io.env["FORCE_COLOR"] && io.env["FORCE_COLOR"] !== "0") return true;
  return io.isTTY;
}
