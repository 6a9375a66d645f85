/**
 * Per-path signer policy (`--policy`, or `signers:` in .fluxguard.yaml).
 *
 *   version: 1
 *   groups:
 *     platform: [alice@example.com, "SHA256:…", 3AA5C34371567BD2]
 *     payments: [bob@example.com]
 *   rules:                          # first match wins
 *     - paths: ["clusters/*\/platform/**"]
 *       groups: [platform]
 *     - paths: ["apps/payments/**"]
 *       groups: [payments, platform]
 *   default: {groups: [platform]}   # required: `deny`, `any`, or {groups: [...]}
 *
 * Every error names the file, line and column.
 */
import { readFileSync } from "node:fs";
import { UsageError } from "../core/errors.js";
import type { JsonValue } from "../core/types.js";
import { parseYamlFile, type ParsedDocument } from "../loader/yaml.js";
import { keyIdentities, type TrustedKey } from "./keys.js";

export type Member = { kind: "fingerprint"; value: string } | { kind: "identity"; value: string };

export interface PolicyRule {
  index: number;
  paths: string[];
  groups: string[];
  matchers: RegExp[];
}

export interface SignerPolicy {
  file: string;
  groups: Map<string, Member[]>;
  rules: PolicyRule[];
  /** `deny`: unmatched paths always fail; `any`: any trusted key; else these groups. */
  default: "deny" | "any" | string[];
}

const TOP_KEYS = ["version", "groups", "rules", "default"];
const RULE_KEYS = ["paths", "groups", "description"];

/** Compiles a path glob: `*` within a segment, `**` across segments, `?` one character; `dir/` means `dir/**`. */
export function compileGlob(glob: string): RegExp {
  let g = glob;
  if (g.endsWith("/")) g += "**";
  let re = "";
  for (let i = 0; i < g.length; i++) {
    const c = g[i]!;
    if (c === "*") {
      if (g[i + 1] === "*") {
        i++;
        if (g[i + 1] === "/") {
          i++;
          re += "(?:.*/)?";
        } else re += ".*";
      } else re += "[^/]*";
    } else if (c === "?") re += "[^/]";
    else re += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

function globProblem(glob: string): string | null {
  if (glob === "") return "a path pattern is empty";
  if (glob.startsWith("/")) return `pattern '${glob}' starts with '/'; patterns are relative to the repository root, write '${glob.replace(/^\/+/, "")}'`;
  if (glob.split("/").some((s) => s === ".." || s === ".")) return `pattern '${glob}' has a '.' or '..' segment`;
  if (/\*\*\*/.test(glob)) return `pattern '${glob}' has '***'`;
  if (/[[\]{}!\\]/.test(glob)) return `pattern '${glob}' uses [ ] { } ! or \\; only *, ** and ? are supported`;
  return null;
}

function isFingerprint(s: string): boolean {
  return /^SHA256:[A-Za-z0-9+/]{43}$/.test(s) || /^(0x)?[0-9A-Fa-f]{16}$/.test(s) || /^[0-9A-Fa-f]{40}$/.test(s) || /^[0-9A-Fa-f]{64}$/.test(s);
}

export function loadPolicyFile(path: string, shown: string): SignerPolicy {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new UsageError(`policy file not found: ${shown}`, "pass a signer policy YAML with --policy (see docs/verify.md)");
  }
  const parsed = parseYamlFile(shown, text);
  const err = parsed.errors[0];
  if (err) throw new UsageError(`${shown}:${err.line}:${err.column}: invalid YAML: ${err.message}`);
  const doc = parsed.documents[0];
  if (!doc) throw new UsageError(`${shown}: the policy file is empty`, "see docs/verify.md for the policy format");
  if (parsed.documents.length > 1) {
    const at = parsed.documents[1]!.locate("");
    throw new UsageError(`${shown}:${at.line}:${at.column}: the policy must be a single YAML document`);
  }
  return parsePolicy(doc, "", shown);
}

/** Parses a policy at `base` (a JSON pointer) in a parsed document; used for .fluxguard.yaml `signers:` too. */
export function parsePolicy(doc: ParsedDocument, base: string, shown: string): SignerPolicy {
  const fail = (p: string, msg: string): never => {
    const at = doc.locate(base + p);
    throw new UsageError(`${shown}:${at.line}:${at.column}: ${msg}`, "see docs/verify.md, section \"Signer policy\"");
  };
  let v: JsonValue = doc.value;
  for (const tok of base.split("/").slice(1)) v = v !== null && typeof v === "object" && !Array.isArray(v) ? (v[tok] ?? null) : null;
  if (typeof v !== "object" || v === null || Array.isArray(v)) return fail("", "the policy must be a mapping with version, groups, rules and default");
  for (const k of Object.keys(v)) if (!TOP_KEYS.includes(k)) fail(`/${k}`, `unknown key '${k}' (expected one of: ${TOP_KEYS.join(", ")})`);
  if (v["version"] === undefined) fail("", "missing 'version: 1'");
  if (v["version"] !== 1) fail("/version", `unsupported policy version ${JSON.stringify(v["version"])} (expected 1)`);

  const groups = new Map<string, Member[]>();
  const g = v["groups"];
  if (g === undefined) fail("", "missing 'groups' (a mapping of group name to a list of keys)");
  if (typeof g !== "object" || g === null || Array.isArray(g)) return fail("/groups", "groups must be a mapping of group name to a list of keys");
  for (const [name, list] of Object.entries(g)) {
    const p = `/groups/${name}`;
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) fail(p, `group name '${name}' must be letters, digits, '.', '_' or '-'`);
    if (!Array.isArray(list) || list.length === 0) fail(p, `group '${name}' must be a non-empty list of key fingerprints, key IDs, emails or principals`);
    const members: Member[] = [];
    (list as JsonValue[]).forEach((m, i) => {
      if (typeof m === "number") fail(`${p}/${i}`, `group '${name}' entry ${i + 1} was read as a number; quote key IDs and fingerprints, e.g. "0x3AA5C34371567BD2"`);
      if (typeof m !== "string" || m.trim() === "") fail(`${p}/${i}`, `group '${name}' entry ${i + 1} must be a string (a fingerprint, key ID, email or principal)`);
      const s = (m as string).trim();
      members.push(isFingerprint(s) ? { kind: "fingerprint", value: s.replace(/^0x/, "").replace(/^(?!SHA256:)(.*)$/, (x) => x.toUpperCase()) } : { kind: "identity", value: s });
    });
    groups.set(name, members);
  }
  const checkGroups = (list: JsonValue | undefined, p: string): string[] => {
    if (!Array.isArray(list) || list.length === 0 || list.some((x) => typeof x !== "string")) return fail(p, "groups must be a non-empty list of group names");
    (list as string[]).forEach((n, i) => {
      if (!groups.has(n)) fail(`${p}/${i}`, `unknown group '${n}' (defined: ${[...groups.keys()].join(", ") || "none"})`);
    });
    return list as string[];
  };

  const rules: PolicyRule[] = [];
  const r = v["rules"];
  if (r === undefined) fail("", "missing 'rules' (a list of {paths, groups})");
  if (!Array.isArray(r)) return fail("/rules", "rules must be a list of {paths, groups}");
  r.forEach((rule, i) => {
    const p = `/rules/${i}`;
    if (typeof rule !== "object" || rule === null || Array.isArray(rule)) return fail(p, `rule ${i + 1} must be a mapping with paths and groups`);
    for (const k of Object.keys(rule)) if (!RULE_KEYS.includes(k)) fail(`${p}/${k}`, `unknown key '${k}' in rule ${i + 1} (expected ${RULE_KEYS.join(", ")})`);
    const paths = rule["paths"];
    if (!Array.isArray(paths) || paths.length === 0 || paths.some((x) => typeof x !== "string")) return fail(`${p}${paths === undefined ? "" : "/paths"}`, `rule ${i + 1}: paths must be a non-empty list of glob patterns`);
    (paths as string[]).forEach((glob, j) => {
      const problem = globProblem(glob);
      if (problem) fail(`${p}/paths/${j}`, problem);
    });
    if (rule["groups"] === undefined) fail(p, `rule ${i + 1}: missing groups`);
    const gs = checkGroups(rule["groups"], `${p}/groups`);
    rules.push({ index: i, paths: paths as string[], groups: gs, matchers: (paths as string[]).map(compileGlob) });
    return undefined;
  });

  const d = v["default"];
  let def: SignerPolicy["default"];
  if (d === undefined) return fail("", "missing 'default': say what applies to paths no rule matches (deny, any, or {groups: [...]})");
  if (d === "deny" || d === "any") def = d;
  else if (typeof d === "object" && d !== null && !Array.isArray(d)) {
    for (const k of Object.keys(d)) if (k !== "groups") fail(`/default/${k}`, `unknown key '${k}' in default (expected groups)`);
    def = checkGroups(d["groups"], "/default/groups");
  } else return fail("/default", "default must be deny, any, or {groups: [...]}");
  return { file: shown, groups, rules, default: def };
}

/** The groups a key belongs to. */
export function groupsOf(policy: SignerPolicy, key: TrustedKey): string[] {
  const ids = keyIdentities(key);
  const fps = new Set(ids.fingerprints.map((f) => f.toUpperCase()));
  const idents = new Set(ids.identities.map((s) => s.toLowerCase()));
  const out: string[] = [];
  for (const [name, members] of policy.groups) {
    if (members.some((m) => (m.kind === "fingerprint" ? (m.value.startsWith("SHA256:") ? key.fingerprint === m.value : fps.has(m.value)) : idents.has(m.value.toLowerCase())))) out.push(name);
  }
  return out;
}

/** Members that match no loaded key (likely typos): worth a warning. */
export function unmatchedMembers(policy: SignerPolicy, keys: TrustedKey[]): string[] {
  const out: string[] = [];
  for (const [name, members] of policy.groups) {
    for (const m of members) {
      const single: SignerPolicy = { ...policy, groups: new Map([[name, [m]]]) };
      if (!keys.some((k) => groupsOf(single, k).length > 0)) out.push(`${name}: ${m.value}`);
    }
  }
  return out;
}

export interface PathDecision {
  /** Rule number (1-based) or "default". */
  rule: number | "default";
  pattern: string | null;
  allowed: "deny" | "any" | string[];
}

export function decide(policy: SignerPolicy, path: string): PathDecision {
  for (const rule of policy.rules) {
    const i = rule.matchers.findIndex((m) => m.test(path));
    if (i >= 0) return { rule: rule.index + 1, pattern: rule.paths[i]!, allowed: rule.groups };
  }
  return { rule: "default", pattern: null, allowed: policy.default };
}

export function allows(decision: PathDecision, signerGroups: string[]): boolean {
  if (decision.allowed === "deny") return false;
  if (decision.allowed === "any") return true;
  return decision.allowed.some((g) => signerGroups.includes(g));
}
