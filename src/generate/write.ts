/**
 * Writes generated files into an output directory. Everything is generated (and validated)
 * in memory first, so a bad spec never leaves partial output; each file is then written
 * atomically. A manifest of what was written lets the next run remove files it no longer
 * generates (a removed tenant) without ever touching files it did not write.
 */
import { existsSync, readFileSync, rmSync, readdirSync, rmdirSync } from "node:fs";
import { dirname, join, resolve, sep } from "node:path";
import { writeFileAtomic } from "../io/write.js";
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
  return !rel.startsWith("/") && !rel.split("/").includes("..");
}

export function writeGenerated(outDir: string, files: readonly GeneratedFile[]): WriteResult {
  const root = resolve(outDir);
  if (existsSync(root) && !existsSync(join(root, MANIFEST)) && readdirSync(root).length > 0) {
    throw new UsageError(`${outDir} is not empty and was not written by fluxguard generate`, "choose an empty or new directory for --out");
  }
  for (const f of files) if (!safeRel(f.path)) throw new Error(`generated path escapes the output directory: ${f.path}`);
  let written = 0;
  let unchanged = 0;
  for (const f of files) {
    const abs = join(root, ...f.path.split("/"));
    if (existsSync(abs) && readFileSync(abs, "utf8") === f.content) {
      unchanged++;
      continue;
    }
    writeFileAtomic(abs, f.content);
    written++;
  }
  const now = new Set(files.map((f) => f.path));
  const removed: string[] = [];
  for (const rel of previous(root)) {
    if (now.has(rel) || !safeRel(rel)) continue;
    const abs = join(root, ...rel.split("/"));
    if (existsSync(abs)) {
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
