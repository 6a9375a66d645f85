/**
 * Deterministic YAML emission with comments. Objects are written in the key order they are
 * built in (apiVersion, kind, metadata first); `note()` attaches a comment to a key, which
 * is how each hardening names the threat it answers.
 */
import { Document, isMap, isScalar, isSeq, type Node as YamlNode } from "yaml";

export class Note<T = unknown> {
  constructor(
    readonly comment: string,
    readonly value: T,
  ) {}
}

/** `spec: { prune: note("Weakness 4: ...", true) }` puts `# Weakness 4: ...` above `prune:`. */
export function note<T>(comment: string, value: T): T {
  return new Note(comment, value) as unknown as T;
}

/** A Kubernetes object (or any document) plus the comment above it. */
export interface Doc {
  comment?: string;
  value: unknown;
}

type Path = Array<string | number>;

function strip(v: unknown, path: Path, notes: Array<{ path: Path; comment: string }>): unknown {
  if (v instanceof Note) {
    notes.push({ path, comment: v.comment });
    return strip(v.value, path, notes);
  }
  if (Array.isArray(v)) return v.map((x, i) => strip(x, [...path, i], notes));
  if (v !== null && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (x === undefined) continue;
      out[k] = strip(x, [...path, k], notes);
    }
    return out;
  }
  return v;
}

function commentText(c: string): string {
  return c
    .split("\n")
    .map((l) => (l === "" ? "" : ` ${l}`))
    .join("\n");
}

export function stringifyDoc(d: Doc): string {
  const notes: Array<{ path: Path; comment: string }> = [];
  const plain = strip(d.value, [], notes);
  const doc = new Document(plain);
  for (const n of notes) {
    if (n.path.length === 0) continue;
    const parent = doc.getIn(n.path.slice(0, -1), true) as YamlNode | undefined;
    const last = n.path[n.path.length - 1]!;
    if (isMap(parent)) {
      const pair = parent.items.find((p) => isScalar(p.key) && p.key.value === last);
      if (pair && isScalar(pair.key)) pair.key.commentBefore = commentText(n.comment);
    } else if (isSeq(parent)) {
      const item = parent.items[Number(last)] as YamlNode | undefined;
      if (item) item.commentBefore = commentText(n.comment);
    }
  }
  if (d.comment && doc.contents) doc.contents.commentBefore = commentText(d.comment);
  return doc.toString({ lineWidth: 0, indentSeq: true });
}

/** Several documents in one file, separated by `---`. */
export function stringifyDocs(docs: readonly Doc[], header?: string): string {
  const body = docs.map((d) => stringifyDoc(d)).join("---\n");
  return header ? `${header
    .split("\n")
    .map((l) => (l === "" ? "#" : `# ${l}`))
    .join("\n")}\n${body}` : body;
}
