/**
 * `fluxguard fix`: plans the safe fixes for every YAML file under a directory, then either
 * prints them as a unified diff (--dry-run) or writes each changed file atomically.
 *
 * Only documents that change are re-serialized; every other document of a file, and every
 * unchanged file, is kept byte for byte. Changed documents keep their comments, key order and
 * scalar styles (the `yaml` Document API), with the file's own sequence indentation.
 */
import { existsSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { isMap, parseAllDocuments, parseDocument, type Document } from "yaml";
import { writeFileAtomic } from "../io/write.js";
import { UsageError } from "../core/errors.js";
import type { JsonObject } from "../core/types.js";
import { KUSTOMIZATION_FILES, walkYaml } from "../loader/files.js";
import { kustomizationRefs } from "../loader/kustomize.js";
import { unifiedDiff } from "./diff.js";
import { redactYaml } from "../core/redact.js";
import { escapeDiff } from "../formatters/escape.js";
import { fixFluxSystemKustomization, fixObjectDocument, isFluxSystemKustomization, type Change, type DocContext, type Todo } from "./fixes.js";

export interface FilePlan {
  /** Relative to the root, forward slashes. */
  file: string;
  before: string;
  after: string;
  changes: Change[];
}

export interface FixPlan {
  root: string;
  files: FilePlan[];
  todos: Todo[];
  leftAlone: Array<Todo & { file: string }>;
  filesScanned: number;
}

/** How the file indents block sequences under a key: `key:\n  - a` (true) or `key:\n- a`. */
export function detectIndentSeq(text: string): boolean {
  const m = /^( *)[^\s#-][^\n]*:[ \t]*\n\1(  )?- /m.exec(text);
  if (!m) return true;
  return m[2] !== undefined;
}

function detectIndent(text: string): number {
  const m = /^[^\s#-][^\n]*:[ \t]*\n( +)[^\s-]/m.exec(text);
  const n = m?.[1]?.length ?? 2;
  return n >= 1 && n <= 8 ? n : 2;
}

function toStringLike(doc: Document, source: string): string {
  return doc.toString({
    lineWidth: 0,
    indentSeq: detectIndentSeq(source),
    indent: detectIndent(source),
    flowCollectionPadding: /[[{] \S/.test(source),
  });
}

/** Fixes one file's text. Returns the new text (identical when nothing changed). */
export function fixText(text: string, file: string, opts: { fluxSystem: boolean }, ctx: DocContext): string {
  const docs = parseAllDocuments(text, { keepSourceTokens: false, uniqueKeys: false });
  if (!Array.isArray(docs) || docs.length === 0) return text;
  if (docs.some((d) => d.errors.length > 0)) {
    ctx.leftAlone.push({ object: file, message: "not fixed: the file does not parse as YAML" });
    return text;
  }
  const segments: string[] = [];
  let changed = false;
  docs.forEach((doc, i) => {
    const start = i === 0 ? 0 : doc.range[0];
    const end = i + 1 < docs.length ? docs[i + 1]!.range[0] : text.length;
    const original = text.slice(start, end);
    const before = ctx.changes.length;
    if (opts.fluxSystem && i === 0 && isFluxSystemKustomization(doc)) fixFluxSystemKustomization(doc, file, ctx);
    else if (isMap(doc.contents)) fixObjectDocument(doc, ctx);
    if (ctx.changes.length === before) {
      segments.push(original);
      return;
    }
    changed = true;
    let out = toStringLike(doc, original);
    // Keep what followed the document (blank lines) as it was.
    const trailing = /\n*$/.exec(original)?.[0] ?? "";
    out = out.replace(/\n*$/, "") + (trailing === "" ? "" : trailing);
    if (trailing === "" && i + 1 < docs.length) out += "\n";
    segments.push(out);
  });
  if (!changed) return text;
  const result = segments.join("");
  // Never write something that no longer parses.
  for (const d of parseAllDocuments(result) as Document[]) if (d.errors.length) throw new Error(`fix produced invalid YAML for ${file}: ${d.errors[0]!.message}`);
  return result;
}

export function planFixes(target: string): FixPlan {
  const root = resolve(target);
  if (!existsSync(root)) throw new UsageError(`no such directory: ${target}`);
  if (!statSync(root).isDirectory()) throw new UsageError(`not a directory: ${target}`, "fluxguard fix works on a repository directory");
  const walk = walkYaml(root);
  // Files kustomize reads as patches or generator inputs are fragments, not objects: leave them.
  const aux = new Set<string>();
  for (const f of walk.files) {
    if (!KUSTOMIZATION_FILES.includes(basename(f.abs))) continue;
    try {
      const doc = parseDocument(f.text);
      const cfg = doc.toJS() as JsonObject | null;
      if (cfg && typeof cfg === "object") for (const ref of kustomizationRefs(cfg).aux) aux.add(resolve(dirname(f.abs), ref));
    } catch {
      // A broken kustomization.yaml is reported below as unparsable.
    }
  }
  const files: FilePlan[] = [];
  const todos: Todo[] = [];
  const leftAlone: Array<Todo & { file: string }> = [];
  for (const f of walk.files) {
    if (aux.has(f.abs)) continue;
    if (walk.chartDirs.some((d) => f.rel === d || f.rel.startsWith(`${d}/`))) continue;
    const ctx: DocContext = { changes: [], todos: [], leftAlone: [] };
    const fluxSystem = KUSTOMIZATION_FILES.includes(basename(f.abs));
    // A CRLF file is fixed as LF and written back with CRLF: line endings are the author's.
    const crlf = f.text.includes("\r\n") && f.text.split("\r\n").length === f.text.split("\n").length;
    const fixed = fixText(crlf ? f.text.replace(/\r\n/g, "\n") : f.text, f.rel, { fluxSystem }, ctx);
    const after = crlf && fixed !== f.text.replace(/\r\n/g, "\n") ? fixed.replace(/\n/g, "\r\n") : crlf ? f.text : fixed;
    if (after !== f.text) files.push({ file: f.rel, before: f.text, after, changes: ctx.changes });
    todos.push(...ctx.todos);
    leftAlone.push(...ctx.leftAlone.map((l) => ({ ...l, file: f.rel })));
  }
  files.sort((a, b) => a.file.localeCompare(b.file));
  return { root, files, todos, leftAlone, filesScanned: walk.files.length };
}

/**
 * The plan as a unified diff, for people: secret values in the context (and changed) lines are
 * masked line for line (core/redact.ts), and control characters escaped (formatters/escape.ts).
 */
export function planDiff(plan: FixPlan): string {
  return escapeDiff(plan.files.map((f) => unifiedDiff(redactYaml(f.before), redactYaml(f.after), `a/${f.file}`, `b/${f.file}`)).join(""));
}

/** Writes every changed file atomically (a temporary file, then a rename). */
export function applyPlan(plan: FixPlan): void {
  for (const f of plan.files) writeFileAtomic(join(plan.root, ...f.file.split("/")), f.after);
}
