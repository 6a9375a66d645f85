import { lstatSync, readdirSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { DEFAULT_MAX_FILE_BYTES, isInside, readTextBounded, ReadGuard } from "./guard.js";

export { DEFAULT_MAX_FILE_BYTES, isInside };

export interface WalkOptions {
  maxFileBytes?: number;
}

export interface FoundFile {
  /** Relative to the root, forward slashes. */
  rel: string;
  abs: string;
  text: string;
}

export interface Notice {
  file: string;
  reason: string;
}

export interface WalkResult {
  files: FoundFile[];
  /** Files skipped for a reason the user should hear about (symlinks out of the root, dangling links). */
  skipped: Notice[];
  /**
   * YAML files Flux would apply that fluxguard could not read (too large, binary, undecodable):
   * what they hold is not assessed, which must never let a run pass.
   */
  unassessed: Notice[];
  /** Directories (relative) that hold a Helm chart: their templates are not YAML. */
  chartDirs: string[];
}

const SKIP_DIRS = new Set([".git", "node_modules", ".terraform", ".venv", "vendor"]);
export const KUSTOMIZATION_FILES = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

export function toRel(root: string, abs: string): string {
  const r = relative(root, abs);
  return sep === "/" ? r : r.split(sep).join("/");
}

function isYamlName(name: string): boolean {
  return name.endsWith(".yaml") || name.endsWith(".yml") || name === "Kustomization";
}

/**
 * Finds the YAML files under a root. Reads only what the guard allows (by real path: a link
 * out of the root is skipped with a notice, never followed), visits each real directory once
 * (link loops end), and skips Helm chart templates (Go templates, not YAML). Files too large
 * or not decodable are listed as not assessed.
 */
export function walkYaml(root: string, opts: WalkOptions = {}, guard: ReadGuard = new ReadGuard([root])): WalkResult {
  const maxBytes = opts.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  const files: FoundFile[] = [];
  const skipped: Notice[] = [];
  const unassessed: Notice[] = [];
  const chartDirs: string[] = [];
  const seenDirs = new Set<string>();

  const visit = (dir: string): void => {
    const real = guard.realpath(dir);
    if (real === null || seenDirs.has(real)) return;
    seenDirs.add(real);
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch (e) {
      skipped.push({ file: toRel(root, dir) || ".", reason: `unreadable directory (${(e as NodeJS.ErrnoException).code ?? "error"})` });
      return;
    }
    const isChart = names.includes("Chart.yaml");
    if (isChart) chartDirs.push(toRel(root, dir) || ".");
    for (const name of names) {
      const abs = join(dir, name);
      const rel = toRel(root, abs);
      let st;
      try {
        st = lstatSync(abs);
      } catch {
        continue;
      }
      if (st.isSymbolicLink()) {
        const c = guard.check(abs);
        if (!c.ok) {
          skipped.push({ file: rel, reason: c.why === "outside" ? "symlink points outside the scanned root (not followed)" : "broken symlink" });
          continue;
        }
        try {
          st = statSync(c.real);
        } catch {
          continue;
        }
      }
      if (st.isDirectory()) {
        if (SKIP_DIRS.has(name)) continue;
        if (isChart && (name === "templates" || name === "charts")) {
          skipped.push({ file: rel, reason: "Helm chart templates are rendered by helm-controller, not parsed as YAML" });
          continue;
        }
        visit(abs);
        continue;
      }
      if (!st.isFile() || !isYamlName(name)) continue;
      const read = readTextBounded(abs, maxBytes);
      if (!read.ok) {
        unassessed.push({ file: rel, reason: read.reason });
        continue;
      }
      files.push({ rel, abs, text: read.text });
    }
  };
  visit(root);
  return { files, skipped, unassessed, chartDirs };
}
