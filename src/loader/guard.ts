/**
 * The one place that decides what a run may read. A scanned repository is untrusted (a pull
 * request writes it), so every file fluxguard or kustomize reads is checked by its real path
 * (symlinks resolved with `realpath`, never lexically) against the roots the run allows: the
 * scanned root, the source directories a trusted config maps, and fluxguard's own temporary
 * render directories. Flux itself never reads outside a source: source-controller's artifact
 * holds regular files and directories only (symlinks are dropped), and kustomize-controller
 * joins `spec.path` to the artifact root with securejoin and builds on a file system confined
 * to that root.
 *
 * Text files are read with a size bound and decoded like kustomize's YAML reader does: UTF-8
 * (a BOM is dropped), and UTF-16 or UTF-32 when a byte order mark says so.
 */
import { closeSync, fstatSync, lstatSync, openSync, readlinkSync, readSync, realpathSync } from "node:fs";
import { isAbsolute, join, relative, resolve, sep } from "node:path";

/** Files larger than this are not read (they are reported as not assessed). */
export const DEFAULT_MAX_FILE_BYTES = 4 * 1024 * 1024;

/** Whether `p` is `root` itself or lies inside it (both absolute; lexical). */
export function isInside(root: string, p: string): boolean {
  const r = relative(root, p);
  return r === "" || (!r.startsWith(`..${sep}`) && r !== ".." && !isAbsolute(r) && !/^[A-Za-z]:/.test(r));
}

/** Why a path may not be read. */
export type ReadRefusal = "outside" | "missing";

export type Checked = { ok: true; real: string } | { ok: false; why: ReadRefusal };

/**
 * The roots a run may read from, by real path. Cheap to query: real paths of directories are
 * cached for the life of the guard (one run; the tree does not change under it).
 */
export class ReadGuard {
  private readonly roots: string[];
  private readonly realCache = new Map<string, string | null>();

  /** `roots` are directories; those that do not exist are ignored. */
  constructor(roots: readonly string[]) {
    this.roots = [];
    for (const r of roots) this.addRoot(r);
  }

  /** Allows one more root (a trusted source directory, a temporary render directory). */
  addRoot(root: string): void {
    const real = this.realpath(resolve(root));
    if (real !== null && !this.roots.includes(real)) this.roots.push(real);
  }

  /** The real path of `p`, or null when it does not exist (or a link in it is dangling or loops). */
  realpath(p: string): string | null {
    const hit = this.realCache.get(p);
    if (hit !== undefined) return hit;
    let real: string | null;
    try {
      real = realpathSync(p);
    } catch {
      real = null;
    }
    this.realCache.set(p, real);
    return real;
  }

  /** Whether a real path lies inside an allowed root. */
  allowsReal(real: string): boolean {
    return this.roots.some((r) => isInside(r, real));
  }

  /** Checks a path by where it really is: `outside` when its real path leaves every root. */
  check(p: string): Checked {
    const real = this.realpath(resolve(p));
    if (real === null) {
      // A dangling link is "missing"; a link whose target would be outside is still outside.
      return { ok: false, why: "missing" };
    }
    return this.allowsReal(real) ? { ok: true, real } : { ok: false, why: "outside" };
  }

  /** Whether `p` exists and really lies inside an allowed root. */
  allows(p: string): boolean {
    return this.check(p).ok;
  }

  /** The allowed roots (real paths), for the kustomize server's confined file system. */
  get allowedRoots(): readonly string[] {
    return this.roots;
  }
}

/** Whether a path is a symbolic link (without following it). */
export function isSymlink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

/**
 * Joins an untrusted path to a root the way Go's securejoin.SecureJoin does (which
 * kustomize-controller applies to `spec.path`): `..` never climbs above the root, an absolute
 * path starts at the root, and a symlink met on the way is resolved as if the root were `/`.
 * The result always lies lexically inside `root`. At most 255 links are followed.
 */
export function secureJoin(root: string, unsafe: string): string {
  const base = resolve(root);
  let pending = unsafe.split(/[\\/]+/);
  let current = "";
  let links = 0;
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === "" || part === ".") continue;
    if (part === "..") {
      current = current.includes("/") ? current.slice(0, current.lastIndexOf("/")) : "";
      continue;
    }
    const next = current ? `${current}/${part}` : part;
    const full = join(base, next);
    if (!isSymlink(full)) {
      current = next;
      continue;
    }
    if (++links > 255) throw new Error("too many symlinks in the path");
    let target: string;
    try {
      target = readlinkSync(full);
    } catch {
      current = next;
      continue;
    }
    if (target.startsWith("/")) current = "";
    pending = [...target.split(/[\\/]+/), ...pending];
  }
  return current ? join(base, current) : base;
}

export type TextRead = { ok: true; text: string } | { ok: false; reason: string };

/**
 * Decodes file content as kustomize's YAML reader does: UTF-8 with or without a BOM, and
 * UTF-16 or UTF-32 (either byte order) when a BOM says so. Content with NUL bytes and no such
 * BOM is binary: not text.
 */
export function decodeText(buf: Buffer): TextRead {
  const b = buf;
  if (b.length >= 4 && b[0] === 0x00 && b[1] === 0x00 && b[2] === 0xfe && b[3] === 0xff) return decodeUtf32(b.subarray(4), false);
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xfe && b[2] === 0x00 && b[3] === 0x00) return decodeUtf32(b.subarray(4), true);
  if (b.length >= 2 && b[0] === 0xfe && b[1] === 0xff) {
    const swapped = Buffer.from(b.subarray(2));
    if (swapped.length % 2) return { ok: false, reason: "malformed UTF-16 (odd length)" };
    swapped.swap16();
    return { ok: true, text: swapped.toString("utf16le") };
  }
  if (b.length >= 2 && b[0] === 0xff && b[1] === 0xfe) return { ok: true, text: b.subarray(2).toString("utf16le") };
  const start = b.length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf ? 3 : 0;
  const body = b.subarray(start);
  if (body.includes(0)) return { ok: false, reason: "binary content (NUL bytes, no UTF-16/32 byte order mark)" };
  return { ok: true, text: body.toString("utf8") };
}

function decodeUtf32(b: Buffer, little: boolean): TextRead {
  if (b.length % 4) return { ok: false, reason: "malformed UTF-32 (length not a multiple of 4)" };
  const cps: number[] = [];
  let out = "";
  for (let i = 0; i < b.length; i += 4) {
    const cp = little ? b.readUInt32LE(i) : b.readUInt32BE(i);
    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return { ok: false, reason: "malformed UTF-32 (invalid code point)" };
    cps.push(cp);
    if (cps.length >= 4096) {
      out += String.fromCodePoint(...cps);
      cps.length = 0;
    }
  }
  return { ok: true, text: out + String.fromCodePoint(...cps) };
}

/**
 * Reads a regular file as text with a size bound, through an already-checked real path. The
 * size is taken from the open descriptor (a file that grows between stat and read is cut at
 * the bound, never read whole).
 */
export function readTextBounded(abs: string, maxBytes: number = DEFAULT_MAX_FILE_BYTES): TextRead {
  let fd: number;
  try {
    fd = openSync(abs, "r");
  } catch (e) {
    return { ok: false, reason: `cannot be read (${(e as NodeJS.ErrnoException).code ?? "error"})` };
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return { ok: false, reason: "not a regular file" };
    if (st.size > maxBytes) return { ok: false, reason: `larger than ${maxBytes} bytes (${st.size})` };
    const buf = Buffer.alloc(st.size);
    let n = 0;
    while (n < buf.length) {
      const r = readSync(fd, buf, n, buf.length - n, n);
      if (r === 0) break;
      n += r;
    }
    return decodeText(buf.subarray(0, n));
  } catch (e) {
    return { ok: false, reason: `cannot be read (${(e as NodeJS.ErrnoException).code ?? "error"})` };
  } finally {
    closeSync(fd);
  }
}
