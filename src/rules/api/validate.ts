/**
 * A validator for Kubernetes structural schemas (CRD `openAPIV3Schema`), the way the API
 * server applies them to a server-side apply, which is how Flux applies: unknown fields are
 * errors ("field not declared in schema"), then types, enums, formats of strings and numbers,
 * required fields, list uniqueness, and the CRD's `x-kubernetes-validations` CEL rules,
 * evaluated after defaulting.
 *
 * Values fluxguard cannot know yet (unresolved `${var}` substitutions, ResourceSet
 * `<< inputs >>`) are unknown: they satisfy every check, and a CEL rule that reads one is
 * not evaluated.
 */
import { parse as parseCel } from "@marcbachmann/cel-js";
import { escapeToken } from "../../core/pointer.js";
import type { JsonObject, JsonValue } from "../../core/types.js";

export interface CelRule {
  rule: string;
  message?: string;
  messageExpression?: string;
  fieldPath?: string;
  reason?: string;
}

export interface StructuralSchema {
  type?: "object" | "array" | "string" | "integer" | "number" | "boolean";
  properties?: Record<string, StructuralSchema>;
  additionalProperties?: boolean | StructuralSchema;
  items?: StructuralSchema;
  required?: string[];
  enum?: JsonValue[];
  pattern?: string;
  format?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  maxProperties?: number;
  default?: JsonValue;
  nullable?: boolean;
  "x-kubernetes-preserve-unknown-fields"?: boolean;
  "x-kubernetes-int-or-string"?: boolean;
  "x-kubernetes-embedded-resource"?: boolean;
  "x-kubernetes-validations"?: CelRule[];
  "x-kubernetes-list-type"?: "atomic" | "set" | "map";
  "x-kubernetes-list-map-keys"?: string[];
}

export type ViolationCode = "unknown-field" | "type" | "enum" | "required" | "pattern" | "length" | "range" | "items" | "duplicate" | "rule";

export interface Violation {
  /** JSON pointer to the offending value (or, for a missing field, to where it belongs). */
  pointer: string;
  code: ViolationCode;
  message: string;
}

export interface ValidateOptions {
  /** Values that are not known yet and satisfy every check. */
  isUnknown(v: JsonValue): boolean;
  /** Top-level fields the API server handles itself (default: apiVersion, kind, metadata, status). */
  skipTopLevel?: readonly string[];
}

/** `.spec.chart.spec` from `/spec/chart/spec`, the way the API server names fields. */
export function fieldPath(pointer: string): string {
  if (pointer === "") return "<root>";
  return pointer
    .slice(1)
    .split("/")
    .map((t) => t.replace(/~1/g, "/").replace(/~0/g, "~"))
    .map((t) => (/^\d+$/.test(t) ? `[${t}]` : `.${t}`))
    .join("");
}

function typeOf(v: JsonValue): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v;
}

const regexCache = new Map<string, RegExp | null>();
function compile(pattern: string): RegExp | null {
  if (!regexCache.has(pattern)) {
    let re: RegExp | null = null;
    for (const flags of ["u", ""]) {
      try {
        re = new RegExp(pattern, flags);
        break;
      } catch {
        /* Go RE2 syntax JavaScript does not take: skip the check */
      }
    }
    regexCache.set(pattern, re);
  }
  return regexCache.get(pattern)!;
}

type CelProgram = (ctx: Record<string, unknown>) => unknown;
const celCache = new Map<string, CelProgram | null>();
function celProgram(rule: string): CelProgram | null {
  if (!celCache.has(rule)) {
    try {
      celCache.set(rule, parseCel(rule) as unknown as CelProgram);
    } catch {
      celCache.set(rule, null);
    }
  }
  return celCache.get(rule)!;
}

/** Whether `v` or anything inside it is unknown. */
function containsUnknown(v: JsonValue | undefined, isUnknown: (v: JsonValue) => boolean): boolean {
  if (v === undefined) return false;
  if (isUnknown(v)) return true;
  if (Array.isArray(v)) return v.some((x) => containsUnknown(x, isUnknown));
  if (v !== null && typeof v === "object") return Object.values(v).some((x) => containsUnknown(x, isUnknown));
  return false;
}

/** The `self.a.b` field paths a CEL rule reads. */
function selfPaths(rule: string): string[][] {
  const out: string[][] = [];
  for (const m of rule.matchAll(/\bself((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g)) out.push(m[1]!.slice(1).split("."));
  return out;
}

/** JSON → CEL values: integers (by schema) become CEL ints (bigint). */
function toCel(v: JsonValue, s: StructuralSchema | undefined): unknown {
  if (v === null) return null;
  if (Array.isArray(v)) return v.map((x) => toCel(x, s?.items));
  if (typeof v === "object") {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      const sub = s?.properties?.[k] ?? (typeof s?.additionalProperties === "object" ? s.additionalProperties : undefined);
      o[k] = toCel(x, sub);
    }
    return o;
  }
  if (typeof v === "number" && (s?.type === "integer" || (s === undefined && Number.isInteger(v)))) return BigInt(v);
  return v;
}

/** A copy with the schema's defaults filled in, as the API server does before validation. */
function withDefaults(v: JsonValue, s: StructuralSchema): JsonValue {
  if (Array.isArray(v)) return s.items ? v.map((x) => withDefaults(x, s.items!)) : v;
  if (v === null || typeof v !== "object") return v;
  const out: JsonObject = { ...v };
  for (const [k, sub] of Object.entries(s.properties ?? {})) {
    if ((out[k] === undefined || out[k] === null) && sub.default !== undefined) out[k] = structuredClone(sub.default);
    if (out[k] !== undefined && out[k] !== null) out[k] = withDefaults(out[k]!, sub);
  }
  return out;
}

export function validate(value: JsonValue, schema: StructuralSchema, opts: ValidateOptions): Violation[] {
  const out: Violation[] = [];
  const skip = new Set(opts.skipTopLevel ?? ["apiVersion", "kind", "metadata", "status"]);
  const isUnknown = opts.isUnknown;

  const walk = (v: JsonValue, s: StructuralSchema, ptr: string, top: boolean): void => {
    if (isUnknown(v)) return;
    const where = fieldPath(ptr);
    const t = typeOf(v);
    if (s["x-kubernetes-int-or-string"]) {
      if (t !== "integer" && t !== "string") out.push({ pointer: ptr, code: "type", message: `${where}: expected an integer or a string, got ${t}` });
      return;
    }
    if (s.type) {
      const ok = s.type === t || (s.type === "number" && t === "integer");
      if (!ok) {
        out.push({ pointer: ptr, code: "type", message: `${where}: expected ${/^[aeiou]/.test(s.type) ? "an" : "a"} ${s.type}, got ${t}` });
        return;
      }
    }
    if (s.enum && !s.enum.some((e) => e === v)) {
      out.push({ pointer: ptr, code: "enum", message: `${where}: ${JSON.stringify(v)} is not one of ${s.enum.map((e) => JSON.stringify(e)).join(", ")}` });
    }
    if (typeof v === "string") {
      if (s.minLength !== undefined && [...v].length < s.minLength) out.push({ pointer: ptr, code: "length", message: `${where}: shorter than ${s.minLength} characters` });
      if (s.maxLength !== undefined && [...v].length > s.maxLength) out.push({ pointer: ptr, code: "length", message: `${where}: longer than ${s.maxLength} characters` });
      if (s.pattern) {
        const re = compile(s.pattern);
        if (re && !re.test(v)) out.push({ pointer: ptr, code: "pattern", message: `${where}: does not match ${s.pattern}` });
      }
    }
    if (typeof v === "number") {
      if (s.minimum !== undefined && (s.exclusiveMinimum ? v <= s.minimum : v < s.minimum)) out.push({ pointer: ptr, code: "range", message: `${where}: must be ${s.exclusiveMinimum ? ">" : ">="} ${s.minimum}` });
      if (s.maximum !== undefined && (s.exclusiveMaximum ? v >= s.maximum : v > s.maximum)) out.push({ pointer: ptr, code: "range", message: `${where}: must be ${s.exclusiveMaximum ? "<" : "<="} ${s.maximum}` });
    }
    if (Array.isArray(v)) {
      if (s.minItems !== undefined && v.length < s.minItems) out.push({ pointer: ptr, code: "items", message: `${where}: needs at least ${s.minItems} item(s)` });
      if (s.maxItems !== undefined && v.length > s.maxItems) out.push({ pointer: ptr, code: "items", message: `${where}: allows at most ${s.maxItems} item(s)` });
      if (s.items) v.forEach((x, i) => walk(x, s.items!, `${ptr}/${i}`, false));
      const lt = s["x-kubernetes-list-type"];
      if ((lt === "set" || lt === "map") && !containsUnknown(v, isUnknown)) {
        const keys = s["x-kubernetes-list-map-keys"] ?? [];
        const seen = new Map<string, number>();
        v.forEach((x, i) => {
          const id = lt === "set" ? JSON.stringify(x) : JSON.stringify(keys.map((k) => (x !== null && typeof x === "object" && !Array.isArray(x) ? x[k] : undefined)));
          const first = seen.get(id);
          if (first !== undefined) out.push({ pointer: `${ptr}/${i}`, code: "duplicate", message: `${where}[${i}]: duplicates item ${first}${lt === "map" ? ` (same ${keys.join(", ")})` : ""}` });
          else seen.set(id, i);
        });
      }
    }
    if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      const props = s.properties;
      for (const [k, x] of Object.entries(v)) {
        if (top && skip.has(k)) continue;
        if (x === null) continue; // the API server drops nulls of non-nullable fields
        const sub = props?.[k];
        const childPtr = `${ptr}/${escapeToken(k)}`;
        if (sub) walk(x, sub, childPtr, false);
        else if (typeof s.additionalProperties === "object") walk(x, s.additionalProperties, childPtr, false);
        else if (props && !s["x-kubernetes-preserve-unknown-fields"] && s.additionalProperties !== true) {
          out.push({ pointer: childPtr, code: "unknown-field", message: `${fieldPath(childPtr)}: field not declared in schema` });
        }
      }
      const defaulted = withDefaults(v, s) as JsonObject;
      for (const r of s.required ?? []) {
        if (top && skip.has(r)) continue;
        if (defaulted[r] === undefined || defaulted[r] === null) out.push({ pointer: ptr, code: "required", message: `${where === "<root>" ? "" : where}.${r}: required field is missing` });
      }
      if (s.minProperties !== undefined && Object.keys(v).length < s.minProperties) out.push({ pointer: ptr, code: "items", message: `${where}: needs at least ${s.minProperties} field(s)` });
      if (s.maxProperties !== undefined && Object.keys(v).length > s.maxProperties) out.push({ pointer: ptr, code: "items", message: `${where}: allows at most ${s.maxProperties} field(s)` });
    }
    for (const rule of s["x-kubernetes-validations"] ?? []) {
      const subject = withDefaults(v, s);
      const reads = selfPaths(rule.rule);
      const readsUnknown = reads.some((p) => {
        let cur: JsonValue | undefined = subject;
        for (const k of p) {
          if (cur === null || typeof cur !== "object" || Array.isArray(cur)) return false;
          cur = cur[k];
        }
        return containsUnknown(cur, isUnknown);
      });
      if (readsUnknown || rule.rule.includes("oldSelf")) continue;
      const program = celProgram(rule.rule);
      if (!program) continue;
      let result: unknown;
      try {
        result = program({ self: toCel(subject, s) });
      } catch {
        continue; // an evaluation error fluxguard's CEL may not share with the API server: not a verdict
      }
      if (result !== false) continue;
      // Point at the field the rule is about: the last field it reads that the object sets.
      let target = ptr;
      if (v !== null && typeof v === "object" && !Array.isArray(v)) {
        const present = Object.keys(v).filter((k) => reads.some((p) => p[0] === k));
        if (present.length) target = `${ptr}/${escapeToken(present[present.length - 1]!)}`;
      }
      out.push({ pointer: target, code: "rule", message: `${where}: ${rule.message ?? `failed rule: ${rule.rule}`}` });
    }
  };
  walk(value, schema, "", true);
  return out;
}
