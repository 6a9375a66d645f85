/**
 * What credentials look like in Git: Secret values, kustomize secretGenerator inputs, SOPS
 * markers and credential-like keys. Values are inspected here and never leave this module:
 * callers get key names, never contents.
 */
import { asObject } from "../../core/flux.js";
import { isSopsEncryptedValue, sopsFileStatus, type SopsFileStatus } from "../../core/sops.js";
import type { FleetModel, ModelObject } from "../../core/model.js";
import type { JsonObject } from "../../core/types.js";
import { substitutionLiteral } from "../../core/envsubst.js";
import { isExternalReference } from "../util.js";

/** Keys that hold Git or registry credentials (FLUX-FACTS.md §7, `flux create secret`). */
const CRITICAL_KEYS = new Set(["identity", "password", "bearertoken", "token", ".dockerconfigjson", ".dockercfg", "ssh-privatekey", "githubappprivatekey", "sops.asc", "age.agekey"]);

export function isCriticalKey(key: string): boolean {
  const k = key.toLowerCase();
  return CRITICAL_KEYS.has(k) || k.endsWith(".agekey") || /(^|[._-])(password|token)$/.test(k);
}

/** Public material that may sit in Git in the clear: verification keys, CAs, host keys. */
export function isPublicMaterial(key: string, value: string): boolean {
  if (/PRIVATE KEY/.test(value)) return false;
  const k = key.toLowerCase();
  if (/\.(pub|asc|sshpub|crt|cert|pem)$/.test(k) || ["known_hosts", "ca", "cafile", "ca.crt", "tls.crt", "trustpolicy.json", "trusted_root.json", "identity.pub", "caFile"].includes(k)) return true;
  const t = value.trim();
  return (
    /^-----BEGIN (CERTIFICATE|PUBLIC KEY|PGP PUBLIC KEY BLOCK)-----/.test(t) ||
    /^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-[a-z0-9]+|sk-ssh-ed25519@openssh\.com) [A-Za-z0-9+/=]+( .*)?$/.test(t)
  );
}

/** Whether one value is SOPS ciphertext (the model's one answer, src/core/sops.ts). */
export const isSopsValue = isSopsEncryptedValue;

/**
 * Whether a generator input file holds secrets in the clear. A file with sops metadata is
 * encrypted only as far as its values are `ENC[…]`: with none, nothing is; with some, a
 * credential-named key left in the clear still is plain text. `plaintext: null` when the
 * file could not be read value by value (not assessed). `note` says why, for messages; it
 * never holds a value.
 */
export function fileSecrecy(key: string, file: string, text: string): { plaintext: boolean | null; note?: string } {
  const st = sopsFileStatus(text);
  if (!st.metadata) return { plaintext: text.trim() !== "" && !isExternalReference(text) && !isPublicMaterial(key, text) };
  if (!st.parsed) return { plaintext: null };
  return sopsVerdict(file, st);
}

function sopsVerdict(file: string, st: SopsFileStatus): { plaintext: boolean; note?: string; clear: string[] } {
  const selector = st.selector ? ` (${st.selector} selects none of its keys)` : "";
  const secretLike = st.clear.filter((c) => !isExternalReference(c.value) && !isPublicMaterial(c.key, c.value));
  if (st.encrypted === 0 && secretLike.length > 0) {
    return { plaintext: true, note: `${file} has sops metadata but no ENC[...] value${selector}: nothing in it is encrypted`, clear: secretLike.map((c) => c.key) };
  }
  const creds = secretLike.filter((c) => isCredentialKey(c.key) && isLiteralCredential(c.key, c.value));
  if (creds.length > 0) {
    const paths = creds.map((c) => c.path);
    return { plaintext: true, note: `${file} has sops metadata, but ${paths.join(", ")} ${paths.length === 1 ? "is" : "are"} not encrypted`, clear: creds.map((c) => c.key) };
  }
  return { plaintext: false, clear: [] };
}

function decode(v: string): string {
  try {
    return Buffer.from(v, "base64").toString("utf8");
  } catch {
    return "";
  }
}

export interface SecretEntry {
  field: "data" | "stringData";
  key: string;
  /** Whether the value is in the clear (not SOPS, not a reference, not public material, not empty). */
  plaintext: boolean;
  /** The clear text is the literal of a substitution expression (`${VAR:=literal}`). */
  substitutionDefault: boolean;
}

/** The keys of a Secret and which of them are plain text. */
export function secretEntries(o: JsonObject): SecretEntry[] {
  const out: SecretEntry[] = [];
  for (const field of ["data", "stringData"] as const) {
    for (const [key, raw] of Object.entries(asObject(o[field]) ?? {})) {
      const v = typeof raw === "string" ? raw : raw === null ? "" : JSON.stringify(raw);
      const clear = field === "data" && !isSopsValue(v) ? decode(v) : v;
      const literal = substitutionLiteral(clear);
      const judged = literal ?? clear;
      const plaintext = v.trim() !== "" && !isSopsValue(v) && !isExternalReference(clear) && !isPublicMaterial(key, judged);
      out.push({ field, key, plaintext, substitutionDefault: literal !== null });
    }
  }
  return out;
}

export interface GeneratorEntry {
  pointer: string;
  key: string;
  /** null: the input could not be read (not assessed). */
  plaintext: boolean | null;
  /** Why a file with sops metadata is still plain text (never a value). */
  note?: string;
}

/** Keys of a secretGenerator entry's inputs, and whether each is plain text. */
export function generatorEntries(gen: JsonObject, read: ((ref: string) => string | null) | undefined): GeneratorEntry[] {
  const out: GeneratorEntry[] = [];
  const list = (f: string): unknown[] => (Array.isArray(gen[f]) ? (gen[f] as unknown[]) : []);
  list("literals").forEach((l, i) => {
    if (typeof l !== "string") return;
    const eq = l.indexOf("=");
    const key = eq < 0 ? l : l.slice(0, eq);
    const value = eq < 0 ? "" : l.slice(eq + 1);
    out.push({ pointer: `/literals/${i}`, key, plaintext: value.trim() !== "" && !isExternalReference(value) && !isPublicMaterial(key, value) });
  });
  list("files").forEach((f, i) => {
    if (typeof f !== "string") return;
    const eq = f.indexOf("=");
    const file = eq < 0 ? f : f.slice(eq + 1);
    const key = eq < 0 ? (file.split("/").pop() ?? file) : f.slice(0, eq);
    const text = read?.(file) ?? null;
    const verdict = text === null ? { plaintext: null } : fileSecrecy(key, file, text);
    out.push({ pointer: `/files/${i}`, key, ...verdict });
  });
  const envs = [...list("envs"), ...(typeof gen["env"] === "string" ? [gen["env"]] : [])];
  envs.forEach((e, i) => {
    if (typeof e !== "string") return;
    const text = read?.(e) ?? null;
    const ptr = i < list("envs").length ? `/envs/${i}` : "/env";
    if (text === null) return void out.push({ pointer: ptr, key: e, plaintext: null });
    // A sops-encrypted dotenv file is encrypted only where its values are ENC[...].
    const st = sopsFileStatus(text);
    const verdict = st.metadata && st.parsed ? sopsVerdict(e, st) : null;
    for (const line of text.split("\n")) {
      const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$/.exec(line);
      if (!m || m[1]!.startsWith("sops_")) continue;
      const v = m[2]!.replace(/^["']|["']$/g, "");
      const plaintext = !st.metadata ? v.trim() !== "" && !isSopsValue(v) && !isExternalReference(v) : verdict ? verdict.clear.includes(m[1]!) : null;
      out.push({ pointer: ptr, key: m[1]!, plaintext, ...(plaintext && verdict?.note ? { note: verdict.note } : {}) });
    }
  });
  return out;
}

const secretIndex = new WeakMap<FleetModel, Map<string, ModelObject[]>>();

/** The model's Secret objects (effective, then as in files) by name, in model order; built once per model. */
function secretsByName(model: FleetModel): Map<string, ModelObject[]> {
  let idx = secretIndex.get(model);
  if (idx) return idx;
  idx = new Map();
  for (const m of [...model.objects, ...model.fileObjects]) {
    if (m.object.kind !== "Secret") continue;
    const list = idx.get(m.object.metadata.name);
    if (list) list.push(m);
    else idx.set(m.object.metadata.name, [m]);
  }
  secretIndex.set(model, idx);
  return idx;
}

/** The keys a Secret of that name would have, from a Secret object in the repository or a secretGenerator. */
export function secretKeys(model: FleetModel, namespace: string, name: string, near?: ModelObject): { keys: string[]; where: ModelObject | null } | null {
  const pool = (secretsByName(model).get(name) ?? []).filter((m) => (m.object.metadata.namespace ?? namespace) === namespace);
  const obj = pool.find((m) => near === undefined || m.clusterId === near.clusterId) ?? pool[0];
  if (obj) return { keys: secretEntries(obj.object as unknown as JsonObject).map((e) => e.key), where: obj };
  for (const kf of model.kustomizeFiles) {
    for (const g of Array.isArray(kf.config["secretGenerator"]) ? kf.config["secretGenerator"] : []) {
      const gen = asObject(g);
      if (!gen || gen["name"] !== name) continue;
      return { keys: generatorEntries(gen, kf.readInput?.bind(kf)).map((e) => e.key), where: null };
    }
  }
  return null;
}

/** A key that names a credential in Helm values or substitution variables. */
export function isCredentialKey(key: string): boolean {
  const k = key.toLowerCase().replace(/[^a-z0-9]/g, "");
  if (k.includes("existing") || /(secretname|secretref|secretkeyref|keyname)$/.test(k)) return false;
  return /(password|passwd|passphrase|token|apikey|apisecret|secretkey|secretaccesskey|privatekey|clientsecret|secret)$/.test(k);
}

/** A value that is a literal credential, not a reference or a placeholder. */
export function isLiteralCredential(key: string, v: unknown): boolean {
  if (typeof v !== "string") return false;
  const t = v.trim();
  if (t.length < 4 || /^(true|false|null|none|yes|no)$/i.test(t) || isExternalReference(t) || t.startsWith("/")) return false;
  // `secret: my-app-secret` names a Secret more often than it holds one.
  const k = key.toLowerCase().replace(/[^a-z0-9]/g, "");
  if (/secret$/.test(k) && !/(clientsecret|apisecret)$/.test(k) && /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(t) && t.includes("-")) return false;
  return true;
}
