/**
 * SSH public keys and `sshsig` signatures (OpenSSH PROTOCOL.sshsig), over node:crypto.
 * Supported: ssh-ed25519, ecdsa-sha2-nistp256/384/521, RSA with rsa-sha2-256/512.
 * Git signs with the namespace `git`; anything else is rejected.
 */
import { createHash, createPublicKey, verify as cryptoVerify, type KeyObject } from "node:crypto";
import type { SigCheck } from "./openpgp.js";

export const SSH_KEY_TYPES = [
  "ssh-ed25519",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "ssh-rsa",
  "sk-ssh-ed25519@openssh.com",
  "sk-ecdsa-sha2-nistp256@openssh.com",
  "ssh-dss",
] as const;

const SUPPORTED_KEY_TYPES = new Set(["ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa"]);

export interface SshPublicKey {
  type: string;
  blob: Buffer;
  /** `SHA256:<base64>` as ssh-keygen -l prints it. */
  fingerprint: string;
  comment: string;
  /** RSA modulus size, for display. */
  bits: number | null;
  keyObject: KeyObject | null;
  /** Why this key cannot verify anything, if so. */
  unsupported: string | null;
}

/** A reader for SSH wire-format fields. */
class Reader {
  private at = 0;
  constructor(private readonly buf: Buffer) {}
  done(): boolean {
    return this.at >= this.buf.length;
  }
  uint32(): number {
    if (this.at + 4 > this.buf.length) throw new Error("truncated data");
    const v = this.buf.readUInt32BE(this.at);
    this.at += 4;
    return v;
  }
  bytes(n: number): Buffer {
    if (n < 0 || this.at + n > this.buf.length) throw new Error("truncated data");
    const v = this.buf.subarray(this.at, this.at + n);
    this.at += n;
    return v;
  }
  string(): Buffer {
    return this.bytes(this.uint32());
  }
  text(): string {
    return this.string().toString("latin1");
  }
}

function sshString(b: Buffer | string): Buffer {
  const body = typeof b === "string" ? Buffer.from(b, "latin1") : b;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}

const b64url = (b: Buffer): string => b.toString("base64url");

function stripMpint(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  return b.subarray(i);
}

const CURVES: Record<string, { crv: string; size: number; hash: string; name: string }> = {
  "ecdsa-sha2-nistp256": { crv: "P-256", size: 32, hash: "sha256", name: "nistp256" },
  "ecdsa-sha2-nistp384": { crv: "P-384", size: 48, hash: "sha384", name: "nistp384" },
  "ecdsa-sha2-nistp521": { crv: "P-521", size: 66, hash: "sha512", name: "nistp521" },
};

export function sshFingerprint(blob: Buffer): string {
  return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

/** Parses a public key blob (the base64 part of a .pub line, decoded). Throws a readable Error. */
export function parseSshKeyBlob(blob: Buffer, comment = ""): SshPublicKey {
  const r = new Reader(blob);
  const type = r.text();
  const base = { type, blob, fingerprint: sshFingerprint(blob), comment, bits: null as number | null };
  if (!SUPPORTED_KEY_TYPES.has(type)) {
    return { ...base, keyObject: null, unsupported: `unsupported SSH key type ${type}` };
  }
  let keyObject: KeyObject;
  let bits: number | null = null;
  if (type === "ssh-ed25519") {
    const pk = r.string();
    if (pk.length !== 32) throw new Error("bad ssh-ed25519 key length");
    keyObject = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: b64url(pk) }, format: "jwk" });
  } else if (type === "ssh-rsa") {
    const e = stripMpint(r.string());
    const n = stripMpint(r.string());
    bits = n.length * 8 - Math.clz32(n[0] ?? 0) + 24;
    if (bits < 1024) throw new Error(`RSA key too small (${bits} bits)`);
    keyObject = createPublicKey({ key: { kty: "RSA", n: b64url(n), e: b64url(e) }, format: "jwk" });
  } else {
    const curve = CURVES[type]!;
    const name = r.text();
    if (name !== curve.name) throw new Error(`curve ${name} does not match key type ${type}`);
    const q = r.string();
    if (q.length !== 1 + 2 * curve.size || q[0] !== 4) throw new Error("bad ECDSA point (expected an uncompressed point)");
    keyObject = createPublicKey({
      key: { kty: "EC", crv: curve.crv, x: b64url(q.subarray(1, 1 + curve.size)), y: b64url(q.subarray(1 + curve.size)) },
      format: "jwk",
    });
  }
  if (!r.done()) throw new Error("trailing bytes after the key");
  return { ...base, bits, keyObject, unsupported: null };
}

/** Parses `type base64 [comment]` (the tail of an authorized_keys / allowed_signers line). */
export function parseSshPublicKeyText(type: string, b64: string, comment: string): SshPublicKey {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) throw new Error("the key is not valid base64");
  const blob = Buffer.from(b64, "base64");
  const key = parseSshKeyBlob(blob, comment);
  if (key.type !== type) throw new Error(`the line says ${type} but the key inside is ${key.type}`);
  return key;
}

export interface SshSignature {
  publicKey: Buffer;
  namespace: string;
  hashAlgorithm: string;
  sigFormat: string;
  sigBytes: Buffer;
  reserved: Buffer;
}

/** Parses an armored `-----BEGIN SSH SIGNATURE-----` block. Throws a readable Error. */
export function parseSshSignature(armored: string): SshSignature {
  const m = /-----BEGIN SSH SIGNATURE-----\r?\n([\s\S]*?)-----END SSH SIGNATURE-----/.exec(armored);
  if (!m) throw new Error("truncated SSH signature armor: no END SSH SIGNATURE line");
  const body = m[1]!.replace(/\s+/g, "");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body)) throw new Error("the SSH signature armor is not valid base64");
  const r = new Reader(Buffer.from(body, "base64"));
  if (r.bytes(6).toString("latin1") !== "SSHSIG") throw new Error("not an sshsig blob (bad magic)");
  const version = r.uint32();
  if (version !== 1) throw new Error(`unsupported sshsig version ${version}`);
  const publicKey = r.string();
  const namespace = r.text();
  const reserved = r.string();
  const hashAlgorithm = r.text();
  const sig = new Reader(r.string());
  const sigFormat = sig.text();
  const sigBytes = sig.string();
  return { publicKey, namespace, hashAlgorithm, sigFormat, sigBytes, reserved };
}

function ecdsaToP1363(sigBytes: Buffer, size: number): Buffer {
  const r = new Reader(sigBytes);
  const rr = stripMpint(r.string());
  const ss = stripMpint(r.string());
  if (rr.length > size || ss.length > size) throw new Error("bad ECDSA signature");
  return Buffer.concat([Buffer.alloc(size - rr.length), rr, Buffer.alloc(size - ss.length), ss]);
}

export interface SshCandidate {
  key: SshPublicKey;
  index: number;
  /** allowed_signers namespaces="..." patterns, or null (any). */
  namespaces: string[] | null;
}

function matchPattern(pattern: string, value: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`);
  return re.test(value);
}

/** Verifies an sshsig over `payload` with namespace `git`. Never throws. */
export function verifySsh(signature: Buffer, payload: Buffer, keys: SshCandidate[], namespace = "git"): SigCheck {
  let sig: SshSignature;
  try {
    sig = parseSshSignature(signature.toString("latin1"));
  } catch (e) {
    return { status: "malformed", message: `unreadable SSH signature: ${(e as Error).message}`, issuer: null, keyIndex: null };
  }
  const issuer = sshFingerprint(sig.publicKey);
  if (sig.namespace !== namespace) {
    return { status: "bad", message: `SSH signature namespace is '${sig.namespace}', expected '${namespace}'`, issuer, keyIndex: null };
  }
  const cand = keys.find((k) => k.key.blob.equals(sig.publicKey));
  if (!cand) return { status: "unknown-key", message: `no trusted SSH key ${issuer}`, issuer, keyIndex: null };
  const base = { issuer, keyIndex: cand.index };
  if (cand.namespaces && !cand.namespaces.some((p) => matchPattern(p, namespace))) {
    return { status: "unusable-key", message: `key ${issuer} is not allowed for namespace '${namespace}' (namespaces="${cand.namespaces.join(",")}")`, ...base };
  }
  const key = cand.key;
  if (!key.keyObject) return { status: "unsupported", message: key.unsupported ?? `unsupported SSH key type ${key.type}`, ...base };
  if (sig.hashAlgorithm !== "sha256" && sig.hashAlgorithm !== "sha512") {
    return { status: "bad", message: `unsupported sshsig hash algorithm '${sig.hashAlgorithm}'`, ...base };
  }
  const digest = createHash(sig.hashAlgorithm).update(payload).digest();
  const signed = Buffer.concat([Buffer.from("SSHSIG", "latin1"), sshString(namespace), sshString(sig.reserved), sshString(sig.hashAlgorithm), sshString(digest)]);
  let ok = false;
  try {
    if (key.type === "ssh-ed25519") {
      if (sig.sigFormat !== "ssh-ed25519") return { status: "bad", message: `signature format ${sig.sigFormat} does not match key type ${key.type}`, ...base };
      ok = cryptoVerify(null, signed, key.keyObject, sig.sigBytes);
    } else if (key.type === "ssh-rsa") {
      const hash = sig.sigFormat === "rsa-sha2-512" ? "sha512" : sig.sigFormat === "rsa-sha2-256" ? "sha256" : null;
      if (!hash) return { status: "bad", message: `RSA signature format ${sig.sigFormat} is not allowed (SHA-1); re-sign with rsa-sha2-512`, ...base };
      ok = cryptoVerify(hash, signed, key.keyObject, sig.sigBytes);
    } else {
      const curve = CURVES[key.type]!;
      if (sig.sigFormat !== key.type) return { status: "bad", message: `signature format ${sig.sigFormat} does not match key type ${key.type}`, ...base };
      ok = cryptoVerify(curve.hash, signed, { key: key.keyObject, dsaEncoding: "ieee-p1363" }, ecdsaToP1363(sig.sigBytes, curve.size));
    }
  } catch (e) {
    return { status: "bad", message: `BAD SSH signature: ${(e as Error).message}`, ...base };
  }
  if (!ok) return { status: "bad", message: `BAD SSH signature from key ${issuer}`, ...base };
  return { status: "good", message: `good SSH signature from ${issuer}`, ...base };
}
