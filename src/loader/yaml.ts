import { isMap, isPair, isScalar, isSeq, LineCounter, parseAllDocuments, type Document, type Node as YamlNode } from "yaml";
import { parsePointer } from "../core/pointer.js";
import type { JsonValue, SourceLocation } from "../core/types.js";

/** Bounds that keep hostile YAML from exhausting memory. */
export const MAX_ALIAS_COUNT = 100;

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
  message: string;
}

export interface ParsedFile {
  file: string;
  documents: ParsedDocument[];
  errors: YamlError[];
}

/**
 * Parses every document in a YAML file, keeping positions. A malformed document is an error
 * entry; the other documents of the file are still returned.
 */
export function parseYamlFile(file: string, text: string): ParsedFile {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, uniqueKeys: false, prettyErrors: false, strict: false });
  const documents: ParsedDocument[] = [];
  const errors: YamlError[] = [];
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
      errors.push({ file, ...at, message: firstLine(err.message) });
      return;
    }
    if (doc.contents === null) return;
    let value: JsonValue;
    try {
      value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) as JsonValue;
    } catch (e) {
      const at = pos(doc.range[0]);
      const msg = (e as Error).message;
      errors.push({
        file,
        ...at,
        message: /excessive alias count/i.test(msg) ? `too many YAML alias expansions (limit ${MAX_ALIAS_COUNT}); possible alias bomb` : firstLine(msg),
      });
      return;
    }
    const docStart = pos(doc.contents.range[0]);
    documents.push({
      index,
      value: normalize(value),
      locate: (p) => ({ file, ...locateIn(doc, p, pos, docStart) }),
    });
  });
  return { file, documents, errors };
}

function firstLine(s: string): string {
  return s.split("\n")[0]!.trim();
}

/** YAML can produce Dates, Maps with non-string keys and so on; fold them into JSON. */
function normalize(v: unknown): JsonValue {
  if (v === null || v === undefined) return null;
  if (typeof v === "string" || typeof v === "boolean") return v;
  if (typeof v === "number") return Number.isFinite(v) ? v : String(v);
  if (typeof v === "bigint") return v.toString();
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return v.map(normalize);
  if (v instanceof Map) {
    const o: { [k: string]: JsonValue } = {};
    for (const [k, val] of v) o[String(k)] = normalize(val);
    return o;
  }
  if (v instanceof Set) return [...v].map(normalize);
  if (typeof v === "object") {
    const o: { [k: string]: JsonValue } = {};
    for (const [k, val] of Object.entries(v as Record<string, unknown>)) o[k] = normalize(val);
    return o;
  }
  return String(v);
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
