/**
 * Writes generated files into an output directory. Everything is generated (and validated)
 * in memory first, so a bad spec never leaves partial output; each file is then written
 * atomically. A manifest of what was written lets the next run remove files it no longer
 * generates (a removed tenant) without ever touching files it did not write.
 */
import { existsSync, lstatSync, readFileSync, rmSync, readdirSync, rmdirSync, statSync } from "node:fs";
import { dirname, join, resolve, sep } from "node:path";
import { ioError, writeFileAtomic } from "../io/write.js";
import { UsageError } from "../core/errors.js";
import type { GeneratedFile } from "./fleet.js";

export const MANIFEST = ".fluxguard-generated";

export interface WriteResult {
  written: number;
  unchanged: number;
  removed: string[];
}

function previous(outDir: string): string[] {
  const p = join(outDir, MANIFEST);
  if (!existsSync(p)) return [];
  return readFileSync(p, "utf8")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
}

function safeRel(rel: string): boolean {
  return rel !== "" && !rel.startsWith("/") && !rel.split("/").some((p) => p === ".." || p === "." || p === "");
}

/**
 * Whether `rel` names a place inside `root` reached without a symbolic link: every existing
 * component below the root is a real directory (the last one a regular file, or absent). A
 * planted link in --out would otherwise take a write or a delete outside it.
 */
function linkFree(root: string, rel: string): { ok: true } | { ok: false; at: string } {
  const parts = rel.split("/");
  let cur = root;
  for (let i = 0; i < parts.length; i++) {
    cur = join(cur, parts[i]!);
    let st;
    try {
      st = lstatSync(cur);
    } catch {
      return { ok: true };
    }
    const last = i === parts.length - 1;
    if (st.isSymbolicLink() || (!last && !st.isDirectory()) || (last && !st.isFile())) return { ok: false, at: parts.slice(0, i + 1).join("/") };
  }
  return { ok: true };
}

export function writeGenerated(outDir: string, files: readonly GeneratedFile[]): WriteResult {
  const root = resolve(outDir);
  if (existsSync(root) && !statSync(root).isDirectory()) throw new UsageError(`--out ${outDir} is not a directory`, "choose an empty or new directory for --out");
  if (existsSync(root) && !existsSync(join(root, MANIFEST)) && readdirSync(root).length > 0) {
    throw new UsageError(`${outDir} is not empty and was not written by fluxguard generate`, "choose an empty or new directory for --out");
  }
  for (const f of files) if (!safeRel(f.path)) throw new Error(`generated path escapes the output directory: ${f.path}`);
  // Nothing is written or deleted through a symbolic link (a planted one could lead outside --out).
  for (const rel of [...files.map((f) => f.path), MANIFEST]) {
    const lf = linkFree(root, rel);
    if (!lf.ok) throw new UsageError(`--out ${outDir} holds ${lf.at}, a symbolic link or not a regular file/directory; fluxguard generate never writes through it`, "choose an empty or new directory for --out");
  }
  let written = 0;
  let unchanged = 0;
  for (const f of files) {
    const abs = join(root, ...f.path.split("/"));
    let same = false;
    try {
      same = existsSync(abs) && readFileSync(abs, "utf8") === f.content;
    } catch (e) {
      throw ioError("read", abs, e);
    }
    if (same) {
      unchanged++;
      continue;
    }
    writeFileAtomic(abs, f.content);
    written++;
  }
  const now = new Set(files.map((f) => f.path));
  const removed: string[] = [];
  for (const rel of previous(root)) {
    // The manifest is a file in --out: only plain files reached without a link are removed.
    if (now.has(rel) || !safeRel(rel) || !linkFree(root, rel).ok) continue;
    const abs = join(root, ...rel.split("/"));
    if (existsSync(abs) && lstatSync(abs).isFile()) {
      rmSync(abs);
      removed.push(rel);
      pruneEmptyDirs(root, dirname(abs));
    }
  }
  writeFileAtomic(join(root, MANIFEST), `# Files written by fluxguard generate; it removes them when they are no longer generated.\n${[...now].sort().join("\n")}\n`);
  return { written, unchanged, removed: removed.sort() };
}

function pruneEmptyDirs(root: string, dir: string): void {
  let d = dir;
  while (d.startsWith(root + sep) && existsSync(d) && readdirSync(d).length === 0) {
    rmdirSync(d);
    d = dirname(d);
  }
}
