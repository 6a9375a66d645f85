import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseAllDocuments, type Document, type ErrorCode, type Node as YamlNode } from "yaml";
import { parsePointer } from "../core/pointer.js";
import type { JsonValue, SourceLocation } from "../core/types.js";

/**
 * Bounds that keep hostile YAML from exhausting time or memory, here and in kustomize (a file
 * past one is never handed to it). README "Bounds" states them.
 */
export const YAML_LIMITS = {
  /** Documents in one file. */
  maxDocuments: 10_000,
  /** Nesting of collections (and of aliases within aliases). */
  maxDepth: 256,
  /** Nodes that alias expansion adds to one document (all aliases together). */
  maxAliasNodes: 100_000,
  /** The yaml library's alias-count check, kept as a second line. */
  maxAliasCount: 100,
} as const;

/** Kept for callers that pass the yaml library's own check. */
export const MAX_ALIAS_COUNT = YAML_LIMITS.maxAliasCount;

export interface ParsedDocument {
  /** Index of the document within its file (0-based). */
  index: number;
  value: JsonValue;
  /** Resolves a JSON pointer within this document to a position. */
  locate(p: string): SourceLocation;
}

export interface YamlError {
  file: string;
  line: number;
  column: number;
  /** What is wrong, never the offending text (a value may be a secret). */
  message: string;
  /** True when a bound was passed (aliases, depth, documents): the content is not assessed. */
  bound?: boolean;
}

export interface ParsedFile {
  file: string;
  documents: ParsedDocument[];
  errors: YamlError[];
}

/** An unresolved alias (a value starting with `*`), by offset; or null. */
function unresolvedAlias(doc: Document): number | null {
  const stack: unknown[] = [doc.contents];
  let steps = 0;
  while (stack.length && steps++ < 1_000_000) {
    const node = stack.pop();
    if (isAlias(node)) {
      if (!node.resolve(doc)) return node.range?.[0] ?? 0;
    } else if (isMap(node) || isSeq(node)) stack.push(...node.items);
    else if (isPair(node)) stack.push(node.key, node.value);
  }
  return null;
}

/** Why a document is past a bound, or null. Walks the node tree without recursion. */
function checkBounds(doc: Document): string | null {
  const sizes = new Map<unknown, number>();
  const onPath = new Set<unknown>();
  // Nodes in a subtree, aliases counted as what they expand to; -1 for a recursive alias.
  const size = (root: unknown, depth0: number): number | string => {
    if (sizes.has(root)) return sizes.get(root)!;
    if (onPath.has(root)) return "a recursive alias (an alias inside its own anchor)";
    onPath.add(root);
    let n = 0;
    const stack: Array<[unknown, number]> = [[root, depth0]];
    while (stack.length) {
      const [node, depth] = stack.pop()!;
      if (depth > YAML_LIMITS.maxDepth) return `nesting deeper than ${YAML_LIMITS.maxDepth} levels`;
      n++;
      if (n > YAML_LIMITS.maxAliasNodes * 50) return `more than ${YAML_LIMITS.maxAliasNodes * 50} nodes`;
      if (isAlias(node)) {
        const target = node.resolve(doc);
        if (!target) continue;
        const t = size(target, depth);
        if (typeof t === "string") return t;
        aliasNodes += t;
        if (aliasNodes > YAML_LIMITS.maxAliasNodes) return `YAML aliases expand to more than ${YAML_LIMITS.maxAliasNodes} nodes (an alias bomb?)`;
        n += t;
      } else if (isMap(node) || isSeq(node)) {
        for (const it of node.items) stack.push([it, depth + 1]);
      } else if (isPair(node)) {
        stack.push([node.key, depth], [node.value, depth]);
      }
    }
    onPath.delete(root);
    sizes.set(root, n);
    return n;
  };
  let aliasNodes = 0;
  const r = size(doc.contents, 0);
  return typeof r === "string" ? r : null;
}

/** A parse error in words, from its code: never the text it was found in. */
function describeError(code: ErrorCode): string {
  const words: Partial<Record<ErrorCode, string>> = {
    BAD_ALIAS: "an alias names an anchor that is not defined before it (quote a value that starts with '*')",
    BAD_SCALAR_START: "a plain value starts with a reserved character (quote it)",
    BAD_INDENT: "bad indentation",
    TAB_AS_INDENT: "a tab used as indentation",
    UNEXPECTED_TOKEN: "unexpected token",
    MISSING_CHAR: "a closing character is missing",
    BLOCK_AS_IMPLICIT_KEY: "a block collection used as an implicit key",
    MULTILINE_IMPLICIT_KEY: "an implicit key spans lines",
    KEY_OVER_1024_CHARS: "an implicit key is longer than 1024 characters",
    DUPLICATE_KEY: "a duplicate key",
    BAD_DQ_ESCAPE: "a bad escape in a double-quoted value",
    MULTIPLE_ANCHORS: "a node with two anchors",
    MULTIPLE_TAGS: "a node with two tags",
    TAG_RESOLVE_FAILED: "a tag that cannot be resolved",
    RESOURCE_EXHAUSTION: "too many alias expansions",
  };
  return words[code] ?? `YAML syntax error (${code.toLowerCase().replace(/_/g, " ")})`;
}

/**
 * Parses every document in a YAML file, keeping positions, within YAML_LIMITS. A malformed
 * document is an error entry (file, line, column and what is wrong, never the text); the other
 * documents of the file are still returned. A file past a bound gives a `bound` error.
 */
export function parseYamlFile(file: string, text: string): ParsedFile {
  const lineCounter = new LineCounter();
  const documents: ParsedDocument[] = [];
  const errors: YamlError[] = [];
  const separators = text.match(/^(---|\.\.\.)(?=[ \t\r\n]|$)/gm)?.length ?? 0;
  if (separators >= YAML_LIMITS.maxDocuments) {
    return { file, documents, errors: [{ file, line: 1, column: 1, message: `more than ${YAML_LIMITS.maxDocuments} YAML documents in one file`, bound: true }] };
  }
  let docs;
  try {
    docs = parseAllDocuments(text, { lineCounter, uniqueKeys: false, prettyErrors: false, strict: false, logLevel: "error" });
  } catch (e) {
    if (e instanceof RangeError) return { file, documents, errors: [{ file, line: 1, column: 1, message: "nesting too deep to parse", bound: true }] };
    throw e;
  }
  const pos = (offset: number): { line: number; column: number } => {
    const lp = lineCounter.linePos(offset);
    return { line: lp.line, column: lp.col };
  };
  if (!Array.isArray(docs)) {
    // EmptyStream: nothing in the file.
    return { file, documents, errors };
  }
  docs.forEach((doc, index) => {
    if (doc.errors.length > 0) {
      const err = doc.errors[0]!;
      const at = pos(err.pos[0]);
      // The parser's own resource limit (deep nesting, alias expansion) is a bound, not a typo.
      if (err.code === "RESOURCE_EXHAUSTION") errors.push({ file, ...at, message: "nesting or alias expansion past the YAML parser's limit", bound: true });
      else errors.push({ file, ...at, message: describeError(err.code) });
      return;
    }
    if (doc.contents === null) return;
    const bad = unresolvedAlias(doc);
    if (bad !== null) {
      errors.push({ file, ...pos(bad), message: describeError("BAD_ALIAS") });
      return;
    }
    const past = checkBounds(doc);
    if (past) {
      errors.push({ file, ...pos(doc.range[0]), message: past, bound: true });
      return;
    }
    let value: JsonValue;
    try {
      value = normalize(doc.toJS({ maxAliasCount: YAML_LIMITS.maxAliasCount }), 0);
    } catch (e) {
      const at = pos(doc.range[0]);
      const bound = e instanceof RangeError || e instanceof BoundError || /excessive alias count|resource exhaustion/i.test((e as Error).message);
      errors.push({ file, ...at, message: bound ? `past a YAML bound (aliases or depth; limit ${YAML_LIMITS.maxAliasCount} alias expansions)` : "the document cannot be converted to data", bound });
      return;
    }
    const docStart = pos(doc.contents.range[0]);
    documents.push({
      index,
      value,
      locate: (p) => ({ file, ...locateIn(doc, p, pos, docStart) }),
    });
  });
  return { file, documents, errors };
}

/**
 * Parses a YAML string held in an object (Helm values, an inline patch) within the same
 * bounds: the first document's data, or undefined when it is malformed or past a bound.
 */
export function parseYamlValue(text: string): JsonValue | undefined {
  const parsed = parseYamlFile("(inline)", text);
  if (parsed.errors.length) return undefined;
  return parsed.documents[0]?.value ?? null;
}

class BoundError extends Error {}

/** YAML can produce Dates, Maps with non-string keys and so on; fold them into JSON (bounded depth). */
function normalize(v: unknown, depth: number): JsonValue {
  if (depth > YAML_LIMITS.maxDepth) throw new BoundError("too deep");
  if (v === null || v === undefined) return null;
  if (typeof v === "string" || typeof v === "boolean") return v;
  if (typeof v === "number") return Number.isFinite(v) ? v : String(v);
  if (typeof v === "bigint") return v.toString();
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return v.map((x) => normalize(x, depth + 1));
  if (v instanceof Map) {
    const o: { [k: string]: JsonValue } = {};
    for (const [k, val] of v) o[typeof k === "string" ? k : keyText(k)] = normalize(val, depth + 1);
    return o;
  }
  if (v instanceof Set) return [...v].map((x) => normalize(x, depth + 1));
  if (typeof v === "object") {
    const o: { [k: string]: JsonValue } = {};
    for (const [k, val] of Object.entries(v as Record<string, unknown>)) o[k] = normalize(val, depth + 1);
    return o;
  }
  return String(v);
}

function keyText(k: unknown): string {
  try {
    return typeof k === "object" && k !== null ? JSON.stringify(k) : String(k);
  } catch {
    return String(k);
  }
}

/**
 * Walks the YAML node tree along a pointer. Points at the key of the last map entry when
 * the pointer ends on a map key (that is where a reader looks), and at the deepest existing
 * ancestor when the path does not exist in the source.
 */
function locateIn(
  doc: Document,
  p: string,
  pos: (offset: number) => { line: number; column: number },
  fallback: { line: number; column: number },
): { line: number; column: number } {
  let node: unknown = doc.contents;
  let best = fallback;
  let tokens: string[];
  try {
    tokens = parsePointer(p);
  } catch {
    return fallback;
  }
  for (const token of tokens) {
    if (isMap(node)) {
      const pair = node.items.find((it) => isPair(it) && keyString(it.key) === token);
      if (!pair) return best;
      const keyNode = pair.key as YamlNode | null;
      if (keyNode && isNodeWithRange(keyNode)) best = pos(keyNode.range![0]);
      node = pair.value;
    } else if (isSeq(node)) {
      const item = node.items[Number(token)];
      if (item === undefined) return best;
      if (isNodeWithRange(item)) best = pos((item as YamlNode).range![0]);
      node = item;
    } else {
      return best;
    }
  }
  return best;
}

function keyString(k: unknown): string | undefined {
  if (isScalar(k)) return String(k.value);
  return typeof k === "string" ? k : undefined;
}

function isNodeWithRange(n: unknown): boolean {
  return typeof n === "object" && n !== null && Array.isArray((n as { range?: unknown }).range);
}
