import { fileURLToPath } from "node:url";
import { dirname, join, resolve } from "node:path";

/** The repository root, from a compiled (dist/src/...) or source file. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", fileURLToPath(import.meta.url).includes("/dist/") ? ".." : "");

/**
 * The source directory of a test module: tests run from dist/, fixtures live beside the
 * TypeScript sources in src/.
 */
export function sourceDir(metaUrl: string): string {
  const file = fileURLToPath(metaUrl);
  return dirname(file.replace(`${REPO_ROOT}/dist/src/`, `${REPO_ROOT}/src/`));
}

export function fixturePath(metaUrl: string, ...parts: string[]): string {
  return join(sourceDir(metaUrl), ...parts);
}

/** The shared corpus of real Flux repositories (never committed here). */
export const CORPUS_DIR = resolve(REPO_ROOT, "..", "shared", "corpus");
