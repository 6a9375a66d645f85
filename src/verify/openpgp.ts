/**
 * OpenPGP keys and detached signatures, through the `openpgp` package.
 *
 * Keys are read and their status (expiry, revocation, user IDs) is computed once. A signature
 * is checked cryptographically against the (sub)key its issuer names, then the key's status is
 * applied the way `git verify-commit` (through gpg) and Flux (through go-crypto) apply it: a
 * signature by a key that is expired or revoked now fails.
 */
import {
  enums,
  readKeys,
  readSignature,
  type PublicKey,
  type Key,
  type Subkey,
  type SignaturePacket,
} from "openpgp";

export interface PgpSubkeyInfo {
  keyId: string;
  fingerprint: string;
  primary: boolean;
  canSign: boolean;
  created: Date;
  expires: Date | null;
  revoked: boolean;
}

export interface PgpKeyInfo {
  key: PublicKey;
  /** Primary key fingerprint, upper-case hex. */
  fingerprint: string;
  /** Primary key ID, 16 upper-case hex digits (what Flux reports on success). */
  keyId: string;
  userIds: string[];
  emails: string[];
  algorithm: string;
  created: Date;
  /** When the primary key expires; null: never. */
  expires: Date | null;
  revoked: boolean;
  revocationReason: string | null;
  subkeys: PgpSubkeyInfo[];
  /** Why the key cannot be used at all (e.g. no user ID), or null. */
  unusable: string | null;
  /** Creation time of the newest self-signature (certification, binding, revocation). */
  newestSelfSignature: number;
  /** Per signing (sub)key ID: openpgp's validity verdict as of now (error message or null), computed once. */
  validNow: Map<string, Promise<string | null>>;
}

export type SigStatus =
  | "good"
  | "bad"
  | "unknown-key"
  | "expired-key"
  | "revoked-key"
  | "expired-signature"
  | "unusable-key"
  | "malformed"
  | "unsupported"
  | "unsigned";

export interface SigCheck {
  status: SigStatus;
  message: string;
  /** The issuer as written in the signature (PGP key ID / SSH fingerprint), when readable. */
  issuer: string | null;
  /** Index of the matching trusted key in the caller's list, when one matched. */
  keyIndex: number | null;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex").toUpperCase();

function isPrivate(k: Key): boolean {
  return k.isPrivate();
}

function infinityToNull(d: Date | number | null): Date | null {
  return d instanceof Date && Number.isFinite(d.getTime()) ? d : null;
}

/** Reads every public key in armored or binary OpenPGP data. Throws a readable Error. */
export async function readPgpKeys(data: Buffer): Promise<PgpKeyInfo[]> {
  const text = data.toString("latin1");
  if (/-----BEGIN PGP PRIVATE KEY BLOCK-----/.test(text)) throw new Error("this is a PRIVATE key block; export the public key with `gpg --export --armor KEYID`");
  let keys: Key[];
  if (text.includes("-----BEGIN PGP PUBLIC KEY BLOCK-----")) {
    const blocks = text.match(/-----BEGIN PGP PUBLIC KEY BLOCK-----[\s\S]*?-----END PGP PUBLIC KEY BLOCK-----/g);
    if (!blocks) throw new Error("truncated armor: no END PGP PUBLIC KEY BLOCK line");
    keys = [];
    for (const block of blocks) keys.push(...(await readKeys({ armoredKeys: block })));
  } else if (data.length > 0 && (data[0]! & 0x80) !== 0) {
    keys = await readKeys({ binaryKeys: new Uint8Array(data) });
  } else {
    throw new Error("not an OpenPGP public key (no BEGIN PGP PUBLIC KEY BLOCK armor)");
  }
  if (keys.length === 0) throw new Error("no OpenPGP key found");
  const out: PgpKeyInfo[] = [];
  for (const k of keys) {
    if (isPrivate(k)) throw new Error("this is a PRIVATE key; pass the public key only");
    out.push(await describeKey(k as PublicKey));
  }
  return out;
}

async function describeKey(key: PublicKey): Promise<PgpKeyInfo> {
  const userIds = key.getUserIDs();
  let unusable: string | null = null;
  if (userIds.length === 0) unusable = "the key has no user ID (gpg and Flux's go-crypto reject such keys)";
  else {
    try {
      await key.getPrimaryUser(undefined, undefined, undefined);
    } catch (e) {
      // Expired or revoked keys fail here too; those have their own status below.
      const msg = (e as Error).message;
      if (!/expired|revoked/i.test(msg)) unusable = `no valid self-signed user ID: ${msg}`;
    }
  }
  let revoked = false;
  let revocationReason: string | null = null;
  try {
    revoked = await key.isRevoked();
  } catch {
    revoked = false;
  }
  if (revoked) {
    for (const sig of key.revocationSignatures) {
      if (sig.reasonForRevocationString) revocationReason = sig.reasonForRevocationString;
    }
  }
  let expires: Date | null = null;
  try {
    expires = infinityToNull(await key.getExpirationTime());
  } catch {
    expires = null;
  }
  // getExpirationTime() needs a currently valid user; fall back to the self-signatures.
  if (expires === null) expires = rawExpiry(key);
  const subkeys: PgpSubkeyInfo[] = [
    {
      keyId: key.getKeyID().toHex().toUpperCase(),
      fingerprint: key.getFingerprint().toUpperCase(),
      primary: true,
      canSign: primaryCanSign(key),
      created: key.getCreationTime(),
      expires,
      revoked,
    },
  ];
  for (const sk of key.getSubkeys()) subkeys.push(await describeSubkey(key, sk));
  const emails = userIds.map((u) => /<([^>]+)>/.exec(u)?.[1] ?? (u.includes("@") ? u.trim() : "")).filter(Boolean);
  const algo = key.getAlgorithmInfo();
  return {
    key,
    fingerprint: key.getFingerprint().toUpperCase(),
    keyId: key.getKeyID().toHex().toUpperCase(),
    userIds,
    emails,
    algorithm: algo.curve ? `${algo.algorithm}/${algo.curve}` : `${algo.algorithm}${algo.bits ? `/${algo.bits}` : ""}`,
    created: key.getCreationTime(),
    expires,
    revoked,
    revocationReason,
    subkeys,
    unusable,
    newestSelfSignature: newestSelfSignature(key),
    validNow: new Map(),
  };
}

function newestSelfSignature(key: PublicKey): number {
  const sigs = [
    ...key.users.flatMap((u) => [...u.selfCertifications, ...u.revocationSignatures]),
    ...directSignatures(key),
    ...key.revocationSignatures,
    ...key.getSubkeys().flatMap((sk) => [...sk.bindingSignatures, ...sk.revocationSignatures]),
  ];
  return Math.max(0, ...sigs.map((s) => s.created?.getTime() ?? 0));
}

/** Expiry from the newest self-certification, without requiring it to be valid now. */
function rawExpiry(key: PublicKey): Date | null {
  let best: SignaturePacket | null = null;
  for (const u of key.users) {
    for (const s of u.selfCertifications) if (!best || (s.created && best.created && s.created > best.created)) best = s;
  }
  for (const s of directSignatures(key)) if (!best || (s.created && best.created && s.created > best.created)) best = s;
  if (!best || best.keyNeverExpires !== false || !best.keyExpirationTime) return null;
  return new Date(key.getCreationTime().getTime() + best.keyExpirationTime * 1000);
}

/** Direct-key signatures (untyped in openpgp's declarations). */
function directSignatures(key: PublicKey): SignaturePacket[] {
  return (key as unknown as { directSignatures?: SignaturePacket[] }).directSignatures ?? [];
}

function flagsAllowSigning(sig: SignaturePacket | undefined): boolean {
  if (!sig || !sig.keyFlags || sig.keyFlags.length === 0) return true; // no flags: gpg allows
  return (sig.keyFlags[0]! & enums.keyFlags.signData) !== 0;
}

function primaryCanSign(key: PublicKey): boolean {
  const sigs = [...key.users.flatMap((u) => u.selfCertifications), ...directSignatures(key)];
  if (sigs.length === 0) return true;
  return sigs.some((s) => flagsAllowSigning(s));
}

async function describeSubkey(key: PublicKey, sk: Subkey): Promise<PgpSubkeyInfo> {
  const binding = sk.bindingSignatures[sk.bindingSignatures.length - 1];
  let expires: Date | null = null;
  try {
    expires = infinityToNull(await sk.getExpirationTime());
  } catch {
    if (binding && binding.keyNeverExpires === false && binding.keyExpirationTime) {
      expires = new Date(sk.getCreationTime().getTime() + binding.keyExpirationTime * 1000);
    }
  }
  let revoked = false;
  try {
    revoked = binding ? await sk.isRevoked(binding, key.keyPacket) : false;
  } catch {
    revoked = false;
  }
  return {
    keyId: sk.getKeyID().toHex().toUpperCase(),
    fingerprint: sk.getFingerprint().toUpperCase(),
    primary: false,
    canSign: flagsAllowSigning(binding),
    created: sk.getCreationTime(),
    expires,
    revoked,
  };
}

export interface PgpCandidate {
  info: PgpKeyInfo;
  index: number;
}

/**
 * Verifies a detached OpenPGP signature over `payload` against the trusted keys.
 * Never throws: every outcome is a status with a message.
 */
export async function verifyPgp(signature: Buffer, payload: Buffer, keys: PgpCandidate[], now: Date): Promise<SigCheck> {
  const armored = signature.toString("latin1");
  if (!/-----END PGP SIGNATURE-----/.test(armored)) {
    return { status: "malformed", message: "truncated OpenPGP armor: no END PGP SIGNATURE line", issuer: null, keyIndex: null };
  }
  let packets: SignaturePacket[];
  try {
    const sig = await readSignature({ armoredSignature: armored });
    packets = [...sig.packets];
  } catch (e) {
    return { status: "malformed", message: `unreadable OpenPGP signature: ${(e as Error).message}`, issuer: null, keyIndex: null };
  }
  if (packets.length === 0) return { status: "malformed", message: "the OpenPGP armor holds no signature packet", issuer: null, keyIndex: null };
  let firstIssuer: string | null = null;
  for (const packet of packets) {
    const issuerId = packet.issuerKeyID.toHex().toUpperCase();
    const issuerFpr = packet.issuerFingerprint ? hex(packet.issuerFingerprint) : null;
    firstIssuer ??= issuerFpr ?? issuerId;
    for (const cand of keys) {
      const sub = cand.info.subkeys.find((s) => (issuerFpr ? s.fingerprint === issuerFpr : s.keyId === issuerId));
      if (!sub) continue;
      return checkWithKey(packet, payload, cand, sub, now);
    }
  }
  const shown = firstIssuer ?? "unknown";
  return { status: "unknown-key", message: `no trusted OpenPGP key for key ID ${shown.slice(-16)}`, issuer: shown, keyIndex: null };
}

async function checkWithKey(packet: SignaturePacket, payload: Buffer, cand: PgpCandidate, sub: PgpSubkeyInfo, now: Date): Promise<SigCheck> {
  const issuer = sub.keyId;
  const base = { issuer, keyIndex: cand.index };
  const keyPacket = sub.primary ? cand.info.key.keyPacket : cand.info.key.getSubkeys().find((s) => s.getKeyID().toHex().toUpperCase() === sub.keyId)?.keyPacket;
  if (!keyPacket) return { status: "unknown-key", message: `key ${issuer} not found in its key ring`, ...base };
  const sigType = packet.signatureType === enums.signature.text ? enums.signature.text : enums.signature.binary;
  if (packet.signatureType !== enums.signature.binary && packet.signatureType !== enums.signature.text) {
    return { status: "bad", message: `not a data signature (OpenPGP signature type ${packet.signatureType})`, ...base };
  }
  const data = { text: null, getBytes: () => new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength) };
  try {
    await packet.verify(keyPacket, sigType, data, now, true);
  } catch (e) {
    const msg = (e as Error).message;
    if (/expired/i.test(msg)) return { status: "expired-signature", message: `the signature has expired (${msg})`, ...base };
    return { status: "bad", message: `BAD signature from key ${issuer}: ${msg}`, ...base };
  }
  const who = cand.info.userIds[0] ?? cand.info.keyId;
  if (cand.info.unusable) return { status: "unusable-key", message: `key ${cand.info.keyId}: ${cand.info.unusable}`, ...base };
  if (cand.info.revoked || sub.revoked) {
    const why = cand.info.revocationReason ? ` (${cand.info.revocationReason})` : "";
    return { status: "revoked-key", message: `good signature, but key ${sub.primary ? cand.info.keyId : `${cand.info.keyId} (subkey ${sub.keyId})`} of ${who} is revoked${why}`, ...base };
  }
  const expired = [cand.info.expires, sub.expires].find((d) => d !== null && d.getTime() <= now.getTime());
  if (expired) {
    return { status: "expired-key", message: `good signature, but key ${cand.info.keyId} of ${who} expired on ${expired.toISOString().slice(0, 10)}`, ...base };
  }
  if (!sub.canSign) return { status: "unusable-key", message: `key ${sub.keyId} is not flagged for signing`, ...base };
  if (packet.created && packet.created.getTime() < sub.created.getTime()) {
    return { status: "bad", message: `the signature predates key ${sub.keyId} (made ${packet.created.toISOString()})`, ...base };
  }
  // Is the key valid for signing at the signature's time? When the signature is newer than every
  // self-signature, openpgp sees the same self-signatures then as now, and expiry and revocation
  // were checked above: the answer as of now, computed once per key, is the answer.
  const validity = async (at: Date): Promise<string | null> => {
    try {
      await cand.info.key.getSigningKey(keyPacket.getKeyID(), at);
      return null;
    } catch (e) {
      return (e as Error).message;
    }
  };
  let invalid: string | null;
  if (packet.created && packet.created.getTime() >= cand.info.newestSelfSignature) {
    let cached = cand.info.validNow.get(sub.keyId);
    if (!cached) {
      cached = validity(now);
      cand.info.validNow.set(sub.keyId, cached);
    }
    invalid = await cached;
  } else invalid = await validity(packet.created ?? now);
  if (invalid !== null) return { status: "unusable-key", message: `key ${sub.keyId} is not valid for signing: ${invalid}`, ...base };
  return { status: "good", message: `good signature from ${who}`, ...base };
}
