/**
 * SOPS, as kustomize-controller decrypts it: what is encrypted is a *value* (`ENC[…]`), not a
 * file with a `sops:` block. `sops --encrypt` writes its metadata even when `encrypted_regex`
 * (or `encrypted_suffix`, `unencrypted_regex`…) selects no key, and then every value stays in
 * the clear: a Helm values file encrypted with the Secret rule `^(data|stringData)$` has
 * neither key. Every check of "is this encrypted" asks this module.
 *
 * Values are read here to tell clear from encrypted; callers get them only to classify them
 * (references, public material) and must never print them.
 */
import { parseAllDocuments } from "yaml";
import type { JsonValue } from "./types.js";

/**
 * Whether one value is SOPS ciphertext: `ENC[AES256_GCM,data:…,iv:…,tag:…,type:str]`, the form
 * sops writes for every encrypted leaf in YAML, JSON, dotenv and INI files (getsops/sops
 * `aes/cipher.go`).
 */
export function isSopsEncryptedValue(v: string): boolean {
  return /^ENC\[[A-Z0-9_]+,/.test(v.trim());
}

/** A value outside the SOPS metadata that is not encrypted. `value` is for classification only: never print it. */
export interface ClearValue {
  /** Dotted path of the leaf (`server.adminPassword`, or the dotenv/INI key). */
  path: string;
  /** The last key of the path. */
  key: string;
  value: string;
}

export interface SopsFileStatus {
  /** Whether the text carries SOPS metadata: a top-level `sops` mapping (YAML, JSON), `sops_*` keys (dotenv) or a `[sops]` section (INI). */
  metadata: boolean;
  /** Whether the content could be read leaf by leaf; false means "not assessed", never "encrypted". */
  parsed: boolean;
  /** How many leaf values outside the metadata are `ENC[…]`. */
  encrypted: number;
  /** Leaf values outside the metadata that are in the clear (empty strings and nulls left out). */
  clear: ClearValue[];
  /** The metadata's `encrypted_regex` (or another key selector), for messages; null when absent. */
  selector: string | null;
}

const SELECTORS = ["encrypted_regex", "encrypted_suffix", "unencrypted_regex", "unencrypted_suffix", "encrypted_comment_regex", "unencrypted_comment_regex"];

/**
 * Reads a file as sops would have written it (YAML, possibly several documents, JSON, dotenv or
 * INI) and tells which values are encrypted. A file is encrypted only as far as its values
 * are: metadata with no `ENC[…]` value means nothing was encrypted.
 */
export function sopsFileStatus(text: string): SopsFileStatus {
  if (/(^|\n)\s*sops_[a-z_]+=/.test(text) && !/(^|\n)sops:\s*(\n|$)/.test(text)) return dotenvStatus(text);
  if (/(^|\n)\[sops\]\s*(\n|$)/.test(text)) return iniStatus(text);
  const out: SopsFileStatus = { metadata: false, parsed: true, encrypted: 0, clear: [], selector: null };
  let docs;
  try {
    docs = parseAllDocuments(text, { prettyErrors: false });
  } catch {
    return { ...out, metadata: /(^|\n)sops:\s*\n/.test(text) || /"sops"\s*:\s*\{/.test(text), parsed: false };
  }
  const list = Array.isArray(docs) ? docs : [docs];
  for (const doc of list) {
    if (doc.errors.length > 0) return { ...out, metadata: out.metadata || /(^|\n)sops:\s*\n/.test(text) || /"sops"\s*:\s*\{/.test(text), parsed: false };
    let js: unknown;
    try {
      js = doc.toJS({ maxAliasCount: 100 });
    } catch {
      return { ...out, parsed: false };
    }
    if (js === null || typeof js !== "object" || Array.isArray(js)) {
      if (typeof js === "string" && js.trim() !== "") out.clear.push({ path: "", key: "", value: js });
      continue;
    }
    const top = js as Record<string, JsonValue>;
    const meta = top["sops"];
    if (meta !== null && typeof meta === "object" && !Array.isArray(meta)) {
      out.metadata = true;
      for (const s of SELECTORS) {
        const v = meta[s];
        if (typeof v === "string" && v !== "") out.selector ??= `${s} ${v}`;
      }
    }
    for (const [k, v] of Object.entries(top)) if (k !== "sops") walk(v, k, k, out);
  }
  return out;
}

function walk(v: JsonValue, path: string, key: string, out: SopsFileStatus): void {
  if (v === null) return;
  if (Array.isArray(v)) return v.forEach((x, i) => walk(x, `${path}[${i}]`, key, out));
  if (typeof v === "object") {
    for (const [k, x] of Object.entries(v)) walk(x, `${path}.${k}`, k, out);
    return;
  }
  const s = String(v);
  if (typeof v === "string" && isSopsEncryptedValue(s)) out.encrypted++;
  else if (s.trim() !== "") out.clear.push({ path, key, value: s });
}

function dotenvStatus(text: string): SopsFileStatus {
  const out: SopsFileStatus = { metadata: true, parsed: true, encrypted: 0, clear: [], selector: null };
  for (const line of text.split("\n")) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$/.exec(line);
    if (!m) continue;
    const key = m[1]!;
    const value = m[2]!.replace(/^["']|["']$/g, "");
    if (key.startsWith("sops_")) {
      if (SELECTORS.includes(key.slice(5)) && value !== "") out.selector ??= `${key.slice(5)} ${value}`;
      continue;
    }
    if (isSopsEncryptedValue(value)) out.encrypted++;
    else if (value.trim() !== "") out.clear.push({ path: key, key, value });
  }
  return out;
}

function iniStatus(text: string): SopsFileStatus {
  const out: SopsFileStatus = { metadata: true, parsed: true, encrypted: 0, clear: [], selector: null };
  let section = "";
  for (const line of text.split("\n")) {
    const sec = /^\s*\[([^\]]*)\]\s*$/.exec(line);
    if (sec) {
      section = sec[1]!.trim();
      continue;
    }
    const m = /^\s*([^=;#\s][^=]*?)\s*=\s*(.*)$/.exec(line);
    if (!m) continue;
    const key = m[1]!;
    const value = m[2]!.trim();
    if (section === "sops") {
      if (SELECTORS.includes(key) && value !== "") out.selector ??= `${key} ${value}`;
      continue;
    }
    if (isSopsEncryptedValue(value)) out.encrypted++;
    else if (value !== "") out.clear.push({ path: section ? `${section}.${key}` : key, key, value });
  }
  return out;
}
