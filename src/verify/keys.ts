/**
 * Trusted keys: armored or binary OpenPGP key files, directories of keys, `allowed_signers` and
 * `authorized_keys` files, and Flux verification Secret manifests with Flux's suffix rules
 * (`.asc` → PGP, `.sshpub` → SSH authorized_keys, anything else → PGP, for compatibility).
 *
 * A malformed key is a UsageError naming the file, the line or the Secret key. Public keys are
 * not secret, but key material is still never echoed: only names and fingerprints.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { basename, extname, join, relative, resolve } from "node:path";
import { UsageError } from "../core/errors.js";
import type { JsonValue } from "../core/types.js";
import { parseYamlFile } from "../loader/yaml.js";
import { readPgpKeys, type PgpKeyInfo } from "./openpgp.js";
import { parseSshPublicKeyText, SSH_KEY_TYPES, type SshPublicKey } from "./ssh.js";

interface KeyBase {
  /** Where the key came from: `keys/alice.asc`, `allowed_signers:3`, `secret.yaml: Secret ns/name key "a.asc"`. */
  source: string;
  /** The file it came from (relative to cwd), for policy `source` matching. */
  file: string;
  /** A display name: the primary user ID, the allowed_signers principals, or the key comment. */
  name: string;
  fingerprint: string;
}

export interface PgpTrustedKey extends KeyBase {
  type: "openpgp";
  pgp: PgpKeyInfo;
}

export interface SshTrustedKey extends KeyBase {
  type: "ssh";
  ssh: SshPublicKey;
  principals: string[];
  namespaces: string[] | null;
  validAfter: Date | null;
  validBefore: Date | null;
}

export type TrustedKey = PgpTrustedKey | SshTrustedKey;

export interface KeyRing {
  keys: TrustedKey[];
  warnings: string[];
}

export interface KeySources {
  /** Files or directories given with --keys. */
  paths: string[];
  /** Flux Secret manifests given with --keys-secret. */
  secrets: string[];
  cwd: string;
}

const SKIP_IN_DIR = /^(readme|license|notice|changelog)(\..*)?$|\.(md|txt|rst|sig|rev)$/i;

export async function loadKeyRing(src: KeySources): Promise<KeyRing> {
  const ring: KeyRing = { keys: [], warnings: [] };
  for (const p of src.paths) {
    const abs = resolve(src.cwd, p);
    let st;
    try {
      st = statSync(abs);
    } catch {
      throw new UsageError(`key path not found: ${p}`, "pass a key file, a directory of keys, or an allowed_signers file with --keys");
    }
    if (st.isDirectory()) {
      const files = walk(abs);
      if (files.length === 0) ring.warnings.push(`${p}: no key files in this directory`);
      for (const f of files) await loadKeyFile(f, display(src.cwd, f), ring);
    } else {
      await loadKeyFile(abs, display(src.cwd, abs), ring);
    }
  }
  for (const p of src.secrets) {
    const abs = resolve(src.cwd, p);
    let text: string;
    try {
      text = readFileSync(abs, "utf8");
    } catch {
      throw new UsageError(`Secret manifest not found: ${p}`, "pass a YAML file holding a Flux verification Secret with --keys-secret");
    }
    await loadSecret(text, display(src.cwd, abs), ring, true);
  }
  return ring;
}

function display(cwd: string, abs: string): string {
  const rel = relative(cwd, abs);
  return rel.startsWith("..") ? abs : rel;
}

function walk(dir: string, seen = new Set<string>()): string[] {
  const out: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch (e) {
    throw new UsageError(`cannot read key directory ${dir}: ${(e as NodeJS.ErrnoException).code ?? "error"}`);
  }
  for (const name of names) {
    if (name.startsWith(".") || SKIP_IN_DIR.test(name)) continue;
    const p = join(dir, name);
    let st;
    try {
      st = statSync(p);
    } catch {
      // A dangling link in a key directory holds no key: say which, clearly.
      throw new UsageError(`key path ${p} is a broken symbolic link (or unreadable)`, "remove it or point it at a key file");
    }
    if (st.isDirectory()) {
      const id = `${st.dev}:${st.ino}`;
      if (seen.has(id)) continue;
      seen.add(id);
      out.push(...walk(p, seen));
    } else if (st.isFile()) out.push(p);
  }
  return out;
}

async function loadKeyFile(abs: string, shown: string, ring: KeyRing): Promise<void> {
  let data: Buffer;
  try {
    data = readFileSync(abs);
  } catch (e) {
    throw new UsageError(`cannot read key file ${shown}: ${(e as Error).message}`);
  }
  const text = data.toString("latin1");
  const ext = extname(abs).toLowerCase();
  if (/-----BEGIN (OPENSSH|RSA|EC|DSA) PRIVATE KEY-----|-----BEGIN PRIVATE KEY-----/.test(text)) {
    throw new UsageError(`${shown}: this is a PRIVATE key`, "pass the public key (the .pub file) instead, and keep the private key out of the repository");
  }
  if (text.includes("-----BEGIN PGP") || (data.length > 0 && (data[0]! & 0x80) !== 0 && ext !== ".yaml" && ext !== ".yml")) {
    await addPgp(data, shown, shown, ring);
    return;
  }
  if (ext === ".yaml" || ext === ".yml" || ext === ".json" || /^\s*(apiVersion|kind)\s*:/m.test(text)) {
    await loadSecret(data.toString("utf8"), shown, ring, false);
    return;
  }
  addSshLines(data.toString("utf8"), shown, shown, ring, basename(abs) === "authorized_keys" ? "authorized_keys" : "auto");
}

async function addPgp(data: Buffer, source: string, file: string, ring: KeyRing, what = source): Promise<void> {
  let infos: PgpKeyInfo[];
  try {
    infos = await readPgpKeys(data);
  } catch (e) {
    throw new UsageError(`${what}: malformed OpenPGP key: ${(e as Error).message}`, "export a public key with `gpg --export --armor KEYID > key.asc`");
  }
  for (const info of infos) {
    ring.keys.push({ type: "openpgp", source, file, name: info.userIds[0] ?? `(no user ID) ${info.keyId}`, fingerprint: info.fingerprint, pgp: info });
    if (info.unusable) ring.warnings.push(`${source}: key ${info.keyId}: ${info.unusable}; signatures by it fail`);
  }
}

/** Splits a line into tokens, keeping double-quoted runs (options like namespaces="a,b") whole. */
function tokenize(line: string): string[] {
  const out: string[] = [];
  let cur = "";
  let quoted = false;
  for (const ch of line) {
    if (ch === '"') quoted = !quoted;
    if (!quoted && (ch === " " || ch === "\t")) {
      if (cur) out.push(cur);
      cur = "";
    } else cur += ch;
  }
  if (cur) out.push(cur);
  return out;
}

/** Splits an option list `a,b="x,y",c` on commas outside quotes. */
function splitOptions(s: string): string[] {
  const out: string[] = [];
  let cur = "";
  let quoted = false;
  for (const ch of s) {
    if (ch === '"') quoted = !quoted;
    if (ch === "," && !quoted) {
      out.push(cur);
      cur = "";
    } else cur += ch;
  }
  if (cur) out.push(cur);
  return out;
}

function unquote(s: string): string {
  return s.length >= 2 && s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1) : s;
}

/** ssh-keygen's YYYYMMDD[HHMM[SS]][Z] time format. */
function parseSshTime(v: string): Date | null {
  const m = /^(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(\d{2})?)?(Z)?$/.exec(v);
  if (!m) return null;
  const [y, mo, d, h = "0", mi = "0", s = "0"] = m.slice(1);
  const args = [Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)] as const;
  return m[7] ? new Date(Date.UTC(...args)) : new Date(...args);
}

const KEY_TYPES = new Set<string>(SSH_KEY_TYPES);
const isKeyType = (t: string | undefined): boolean => t !== undefined && (KEY_TYPES.has(t) || /^(ssh|ecdsa|sk)-[a-z0-9@.-]+$/.test(t));

/**
 * Reads authorized_keys / allowed_signers lines. `auto` tells the two apart per line: a key
 * type first is authorized_keys; a principal list before the key type is allowed_signers.
 */
function addSshLines(text: string, shown: string, file: string, ring: KeyRing, format: "auto" | "authorized_keys", labelPrefix?: string): void {
  const lines = text.split(/\r?\n/);
  let found = 0;
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith("#")) return;
    const where = labelPrefix ? `${labelPrefix} line ${i + 1}` : `${shown}:${i + 1}`;
    const tokens = tokenize(line);
    const typeAt = tokens.findIndex((t) => isKeyType(t));
    if (typeAt < 0 || typeAt > 2 || tokens[typeAt + 1] === undefined) {
      throw new UsageError(`${where}: not an SSH public key line (expected [principals] [options] <key-type> <base64> [comment])`, "see `man ssh-keygen`, section ALLOWED SIGNERS");
    }
    const type = tokens[typeAt]!;
    const comment = tokens.slice(typeAt + 2).join(" ");
    let principals: string[] = [];
    let optionText = "";
    if (typeAt === 2) {
      principals = unquote(tokens[0]!).split(",");
      optionText = tokens[1]!;
    } else if (typeAt === 1) {
      const t0 = tokens[0]!;
      const looksLikeOptions = format === "authorized_keys" || /^(cert-authority|namespaces=|valid-(after|before)=|no-|from=|command=|restrict|permit)/.test(t0);
      if (looksLikeOptions) optionText = t0;
      else principals = unquote(t0).split(",");
    }
    let namespaces: string[] | null = null;
    let validAfter: Date | null = null;
    let validBefore: Date | null = null;
    for (const opt of splitOptions(optionText)) {
      const eq = opt.indexOf("=");
      const k = (eq < 0 ? opt : opt.slice(0, eq)).toLowerCase();
      const v = eq < 0 ? "" : unquote(opt.slice(eq + 1));
      if (k === "namespaces") namespaces = v.split(",").map((x) => x.trim());
      else if (k === "valid-after" || k === "valid-before") {
        const d = parseSshTime(v);
        if (!d) throw new UsageError(`${where}: bad ${k} time '${v}' (expected YYYYMMDD[HHMM[SS]][Z])`);
        if (k === "valid-after") validAfter = d;
        else validBefore = d;
      } else if (k === "cert-authority") {
        throw new UsageError(`${where}: cert-authority keys (SSH certificates) are not supported`, "list the signers' own public keys instead");
      }
    }
    let key: SshPublicKey;
    try {
      key = parseSshPublicKeyText(type, tokens[typeAt + 1]!, comment);
    } catch (e) {
      throw new UsageError(`${where}: malformed ${type} key: ${(e as Error).message}`, "copy the whole line from the signer's .pub file");
    }
    if (key.unsupported) ring.warnings.push(`${where}: ${key.unsupported}; signatures by it fail`);
    found++;
    ring.keys.push({
      type: "ssh",
      source: labelPrefix ? `${labelPrefix} line ${i + 1}` : lines.filter((l) => l.trim() && !l.trim().startsWith("#")).length > 1 ? `${shown}:${i + 1}` : shown,
      file,
      name: principals.length ? principals.join(",") : comment || key.fingerprint,
      fingerprint: key.fingerprint,
      ssh: key,
      principals,
      namespaces,
      validAfter,
      validBefore,
    });
  });
  if (found === 0) throw new UsageError(`${labelPrefix ?? shown}: no keys in this file`, "a key file holds an armored OpenPGP key, SSH public key lines, or a Flux Secret");
}

const B64_RE = /^[A-Za-z0-9+/\s]*={0,2}\s*$/;

/**
 * A Flux verification Secret: every key of `data` (base64) and `stringData` (stringData wins, as
 * the API server merges it). `.sshpub` → SSH authorized_keys; `.asc` or anything else → PGP.
 */
async function loadSecret(text: string, shown: string, ring: KeyRing, mustBeSecret: boolean): Promise<void> {
  const parsed = parseYamlFile(shown, text);
  const err = parsed.errors[0];
  if (err) throw new UsageError(`${shown}:${err.line}:${err.column}: invalid YAML: ${err.message}`);
  let secrets = 0;
  for (const doc of parsed.documents) {
    const v = doc.value;
    if (typeof v !== "object" || v === null || Array.isArray(v) || v["kind"] !== "Secret") continue;
    secrets++;
    const meta = (typeof v["metadata"] === "object" && v["metadata"] !== null && !Array.isArray(v["metadata"]) ? v["metadata"] : {}) as Record<string, JsonValue>;
    const id = `${typeof meta["namespace"] === "string" ? `${meta["namespace"]}/` : ""}${typeof meta["name"] === "string" ? meta["name"] : "(unnamed)"}`;
    const entries = new Map<string, { value: Buffer; pointer: string }>();
    for (const field of ["data", "stringData"] as const) {
      const m = v[field];
      if (m === undefined || m === null) continue;
      if (typeof m !== "object" || Array.isArray(m)) {
        const at = doc.locate(`/${field}`);
        throw new UsageError(`${shown}:${at.line}:${at.column}: Secret ${id}: ${field} must be a mapping`);
      }
      for (const [k, val] of Object.entries(m)) {
        const pointer = `/${field}/${k.replace(/~/g, "~0").replace(/\//g, "~1")}`;
        if (typeof val !== "string") {
          const at = doc.locate(pointer);
          throw new UsageError(`${shown}:${at.line}:${at.column}: Secret ${id} key "${k}": the value must be a string`);
        }
        if (field === "data") {
          if (!B64_RE.test(val)) {
            const at = doc.locate(pointer);
            throw new UsageError(`${shown}:${at.line}:${at.column}: Secret ${id} key "${k}": data values must be base64`, "put plain text under stringData instead");
          }
          entries.set(k, { value: Buffer.from(val.replace(/\s+/g, ""), "base64"), pointer });
        } else entries.set(k, { value: Buffer.from(val, "utf8"), pointer });
      }
    }
    if (entries.size === 0) ring.warnings.push(`${shown}: Secret ${id} has no data`);
    for (const k of [...entries.keys()].sort()) {
      const { value, pointer } = entries.get(k)!;
      const at = doc.locate(pointer);
      const label = `${shown}: Secret ${id} key "${k}"`;
      const where = `${shown}:${at.line}:${at.column}: Secret ${id} key "${k}"`;
      if (k.endsWith(".sshpub")) {
        try {
          addSshLines(value.toString("utf8"), shown, shown, ring, "authorized_keys", label);
        } catch (e) {
          if (e instanceof UsageError) throw new UsageError(e.message.replace(label, where), e.hint);
          throw e;
        }
      } else {
        const note = k.endsWith(".asc") ? "" : " (keys without the .asc or .sshpub suffix are read as PGP, as Flux does)";
        try {
          await addPgp(value, label, shown, ring, where);
        } catch (e) {
          if (e instanceof UsageError) throw new UsageError(`${e.message}${note}`, e.hint);
          throw e;
        }
      }
    }
  }
  if (secrets === 0) {
    if (mustBeSecret) throw new UsageError(`${shown}: no Secret in this file`, "pass a manifest with kind: Secret (data or stringData holding *.asc / *.sshpub keys)");
    throw new UsageError(`${shown}: not a key file (YAML without a Secret)`, "pass armored OpenPGP keys, SSH public key lines, or a Flux Secret manifest");
  }
}

/**
 * The trusted keys of a live Flux verification Secret (`data`, base64 values), read with the
 * same suffix rules as a Secret manifest. `id` (`namespace/name`) names it in messages. Throws
 * a UsageError naming the Secret key when a key is malformed; never echoes key material.
 */
export async function keyRingFromSecretData(id: string, data: Record<string, string>): Promise<KeyRing> {
  const ring: KeyRing = { keys: [], warnings: [] };
  const [namespace, name] = id.includes("/") ? (id.split("/", 2) as [string, string]) : ["", id];
  const manifest = JSON.stringify({ apiVersion: "v1", kind: "Secret", metadata: { name, ...(namespace ? { namespace } : {}) }, data });
  await loadSecret(manifest, `Secret ${id}`, ring, true);
  return ring;
}

/** Every identity a key answers to in a policy: fingerprints, key IDs, emails, principals. */
export function keyIdentities(k: TrustedKey): { fingerprints: string[]; identities: string[] } {
  if (k.type === "openpgp") {
    const fps = new Set<string>();
    for (const s of k.pgp.subkeys) {
      fps.add(s.fingerprint);
      fps.add(s.keyId);
    }
    return { fingerprints: [...fps], identities: [...k.pgp.emails.map((e) => e.toLowerCase()), ...k.pgp.userIds] };
  }
  return { fingerprints: [k.fingerprint], identities: k.principals };
}

export function countByType(ring: KeyRing): { openpgp: number; ssh: number } {
  return { openpgp: ring.keys.filter((k) => k.type === "openpgp").length, ssh: ring.keys.filter((k) => k.type === "ssh").length };
}
