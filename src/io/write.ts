/** Writing files: shared by the CLI, `fix` and `generate` (which must not import the CLI). */
import { chmodSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, basename } from "node:path";
import { UsageError } from "../core/errors.js";

/** An I/O error as a user-facing one: `cannot <verb> <path>: <reason>` (exit 2, one line). */
export function ioError(verb: string, path: string, e: unknown): UsageError {
  const err = e as NodeJS.ErrnoException;
  const reasons: Record<string, string> = {
    ENOENT: "no such file or directory",
    ENOTDIR: "a part of the path is not a directory",
    EACCES: "permission denied",
    EPERM: "operation not permitted",
    EROFS: "read-only file system",
    EISDIR: "it is a directory",
    ENOSPC: "no space left on the device",
    EEXIST: "a part of the path is not a directory",
    ELOOP: "too many symbolic links",
  };
  if (e instanceof UsageError) return e;
  return new UsageError(`cannot ${verb} ${path}: ${reasons[err?.code ?? ""] ?? err?.code ?? "error"}`);
}

/**
 * Writes a file atomically: a temporary file beside it, then a rename. An existing file keeps
 * its permission bits. Devices, FIFOs and other non-regular targets (`--output /dev/null`,
 * `/dev/stdout`) are written in place: renaming over them would replace the device with a
 * file. File-system errors are UsageErrors (`cannot write <path>: <reason>`).
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
    try {
      writeFileSync(path, content);
    } catch (e) {
      throw ioError("write", path, e);
    }
    return;
  }
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(tmp, content, { mode: 0o600 });
    chmodSync(tmp, st ? st.mode & 0o7777 : 0o666 & ~process.umask());
    renameSync(tmp, path);
  } catch (e) {
    try {
      rmSync(tmp, { force: true });
    } catch {
      /* nothing was created */
    }
    throw ioError("write", path, e);
  }
}
