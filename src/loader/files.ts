import { closeSync, openSync, readSync, readdirSync, readFileSync, realpathSync, statSync, lstatSync } from "node:fs";
import { join, relative, sep } from "node:path";

export const DEFAULT_MAX_FILE_BYTES = 4 * 1024 * 1024;

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
  /** Files skipped for a reason the user should hear about (size, binary, symlink). */
  skipped: Notice[];
  /** Directories (relative) that hold a Helm chart: their templates are not YAML. */
  chartDirs: string[];
}

const SKIP_DIRS = new Set([".git", "node_modules", ".terraform", ".venv", "vendor"]);
export const KUSTOMIZATION_FILES = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

export function toRel(root: string, abs: string): string {
  const r = relative(root, abs);
  return sep === "/" ? r : r.split(sep).join("/");
}

/** Whether a path is the root itself or inside it. */
export function isInside(root: string, p: string): boolean {
  const r = relative(root, p);
  return r === "" || (!r.startsWith("..") && !r.startsWith(sep) && !/^[A-Za-z]:/.test(r));
}

function isYamlName(name: string): boolean {
  return name.endsWith(".yaml") || name.endsWith(".yml") || name === "Kustomization";
}

function looksBinary(abs: string, size: number): boolean {
  const fd = openSync(abs, "r");
  try {
    const buf = Buffer.alloc(Math.min(8192, size));
    const n = readSync(fd, buf, 0, buf.length, 0);
    return buf.subarray(0, n).includes(0);
  } finally {
    closeSync(fd);
  }
}

/**
 * Finds the YAML files under a root. Never follows a symlink that leaves the root, skips
 * oversized and binary files with a notice, and skips Helm chart templates (Go templates,
 * not YAML).
 */
export function walkYaml(root: string, opts: WalkOptions = {}): WalkResult {
  const maxBytes = opts.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  const realRoot = realpathSync(root);
  const files: FoundFile[] = [];
  const skipped: Notice[] = [];
  const chartDirs: string[] = [];
  const seenDirs = new Set<string>();

  const visit = (dir: string): void => {
    let real: string;
    try {
      real = realpathSync(dir);
    } catch {
      return;
    }
    if (seenDirs.has(real)) return;
    seenDirs.add(real);
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch (e) {
      skipped.push({ file: toRel(root, dir) || ".", reason: `unreadable directory: ${(e as Error).message}` });
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
        let target: string;
        try {
          target = realpathSync(abs);
        } catch {
          skipped.push({ file: rel, reason: "broken symlink" });
          continue;
        }
        if (!isInside(realRoot, target)) {
          skipped.push({ file: rel, reason: "symlink points outside the scanned root" });
          continue;
        }
        st = statSync(abs);
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
      if (st.size > maxBytes) {
        skipped.push({ file: rel, reason: `file is larger than ${maxBytes} bytes` });
        continue;
      }
      if (st.size > 0 && looksBinary(abs, st.size)) {
        skipped.push({ file: rel, reason: "binary file" });
        continue;
      }
      files.push({ rel, abs, text: readFileSync(abs, "utf8") });
    }
  };
  visit(root);
  return { files, skipped, chartDirs };
}
