/** Writing files: shared by the CLI, `fix` and `generate` (which must not import the CLI). */
import { writeFileSync, renameSync, mkdirSync, statSync } from "node:fs";
import { dirname, join, basename } from "node:path";
import { UsageError } from "../core/errors.js";

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
