/**
 * Commit and tag parsing, and extraction of the signed payload exactly as git does it
 * (commit.c `parse_buffer_signed_by_header`, gpg-interface.c `parse_signed_buffer`), so that a
 * verdict here is a verdict on the same bytes `git verify-commit` checks.
 */

export type SignatureType = "openpgp" | "ssh" | "x509" | "unknown";

export interface Person {
  name: string;
  email: string;
  /** Seconds since the epoch, as recorded. */
  time: number;
}

export interface ParsedCommit {
  kind: "commit";
  oid: string;
  tree: string | null;
  parents: string[];
  author: Person | null;
  committer: Person | null;
  subject: string;
  /** The signature (armored text) or null when unsigned. */
  signature: Buffer | null;
  /** The bytes the signature covers. */
  payload: Buffer;
  /** Why the object is malformed, if it is. */
  malformed: string | null;
}

export interface ParsedTag {
  kind: "tag";
  oid: string;
  object: string | null;
  objectType: string | null;
  tagName: string | null;
  tagger: Person | null;
  subject: string;
  signature: Buffer | null;
  payload: Buffer;
  malformed: string | null;
}

const SIG_HEADER = "gpgsig";

/** Git's signature markers (gpg-interface.c `sigs` tables). */
const MARKERS: { prefix: string; type: SignatureType }[] = [
  { prefix: "-----BEGIN PGP SIGNATURE-----", type: "openpgp" },
  { prefix: "-----BEGIN PGP MESSAGE-----", type: "openpgp" },
  { prefix: "-----BEGIN SIGNED MESSAGE-----", type: "x509" },
  { prefix: "-----BEGIN SSH SIGNATURE-----", type: "ssh" },
];

/** The signature type from its first line, as git's `get_format_by_sig` and Flux's `SignatureType` see it. */
export function signatureType(sig: Buffer | string): SignatureType {
  const head = (typeof sig === "string" ? sig : sig.subarray(0, 64).toString("latin1")).replace(/^\s+/, "");
  for (const m of MARKERS) if (head.startsWith(m.prefix)) return m.type;
  return "unknown";
}

function startsWithMarker(buf: Buffer, at: number): boolean {
  for (const m of MARKERS) {
    if (buf.length - at >= m.prefix.length && buf.toString("latin1", at, at + m.prefix.length) === m.prefix) return true;
  }
  return false;
}

/** Splits the object into header lines (raw, with their newline) and the message. */
function headerEnd(buf: Buffer): number {
  let at = 0;
  while (at < buf.length) {
    if (buf[at] === 10) return at; // the blank line
    const nl = buf.indexOf(10, at);
    if (nl < 0) return buf.length;
    at = nl + 1;
  }
  return buf.length;
}

function parsePerson(v: string): Person | null {
  const m = /^(.*?) ?<([^>]*)> (\d+)(?: [+-]\d{4})?$/.exec(v);
  if (!m) return null;
  return { name: m[1]!, email: m[2]!, time: Number(m[3]) };
}

function subjectOf(message: string): string {
  const line = message.split("\n").find((l) => l.trim() !== "") ?? "";
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

/**
 * A commit: the payload is the object without its signature header (and without any other
 * `gpgsig*` header), the signature is that header's value. The header is `gpgsig` in a SHA-1
 * repository and `gpgsig-sha256` in a SHA-256 one, as git chooses it.
 */
export function parseCommit(oid: string, data: Buffer): ParsedCommit {
  const header = oid.length === 64 ? "gpgsig-sha256" : SIG_HEADER;
  const payloadParts: Buffer[] = [];
  const sigParts: Buffer[] = [];
  let inSignature = false;
  let otherSignature = false;
  let sawSignature = false;
  let line = 0;
  while (line < data.length) {
    const nlAt = data.indexOf(10, line);
    let next = nlAt < 0 ? data.length : nlAt + 1;
    let sigStart = -1;
    if (inSignature && data[line] === 0x20) sigStart = line + 1;
    else if (data.toString("latin1", line, line + header.length + 1) === `${header} `) {
      sigStart = line + header.length + 1;
      otherSignature = false;
    } else if (data.toString("latin1", line, line + SIG_HEADER.length) === SIG_HEADER) otherSignature = true;
    else if (otherSignature && data[line] !== 0x20) otherSignature = false;
    if (sigStart >= 0) {
      sigParts.push(data.subarray(sigStart, next));
      sawSignature = true;
      inSignature = true;
    } else {
      if (data[line] === 10) next = data.length; // the message: everything that is left
      if (!otherSignature) payloadParts.push(data.subarray(line, next));
      inSignature = false;
    }
    line = next;
  }
  const end = headerEnd(data);
  const headers = data.toString("utf8", 0, end).split("\n");
  let tree: string | null = null;
  const parents: string[] = [];
  let author: Person | null = null;
  let committer: Person | null = null;
  for (const h of headers) {
    if (h.startsWith(" ")) continue;
    const sp = h.indexOf(" ");
    const key = sp < 0 ? h : h.slice(0, sp);
    const value = sp < 0 ? "" : h.slice(sp + 1);
    if (key === "tree" && tree === null) tree = value;
    else if (key === "parent") parents.push(value);
    else if (key === "author" && author === null) author = parsePerson(value);
    else if (key === "committer" && committer === null) committer = parsePerson(value);
  }
  let malformed: string | null = null;
  if (!tree || !/^[0-9a-f]{40,64}$/.test(tree)) malformed = "the commit has no valid tree header";
  else if (parents.some((p) => !/^[0-9a-f]{40,64}$/.test(p))) malformed = "the commit has an invalid parent header";
  else if (!committer) malformed = "the commit has no valid committer header";
  return {
    kind: "commit",
    oid,
    tree,
    parents,
    author,
    committer,
    subject: subjectOf(data.toString("utf8", Math.min(end + 1, data.length))),
    signature: sawSignature ? Buffer.concat(sigParts) : null,
    payload: Buffer.concat(payloadParts),
    malformed,
  };
}

/** Removes `gpgsig*` headers from a tag payload (gpg-interface.c `remove_signature`). */
function stripSigHeaders(buf: Buffer): Buffer {
  const end = headerEnd(buf);
  const parts: Buffer[] = [];
  let line = 0;
  let inSig = false;
  while (line < end) {
    const nl = buf.indexOf(10, line);
    const next = nl < 0 || nl >= end ? end : nl + 1;
    const isSig = buf.toString("latin1", line, line + SIG_HEADER.length) === SIG_HEADER;
    if (isSig) inSig = true;
    else if (inSig && buf[line] === 0x20) inSig = true;
    else inSig = false;
    if (!inSig) parts.push(buf.subarray(line, next));
    line = next;
  }
  parts.push(buf.subarray(end));
  return Buffer.concat(parts);
}

/**
 * A tag: the signature is appended to the message; it starts at the LAST line that begins with
 * a signature marker, and the payload is everything before it.
 */
export function parseTag(oid: string, data: Buffer): ParsedTag {
  let match = data.length;
  let at = 0;
  while (at < data.length) {
    if (startsWithMarker(data, at)) match = at;
    const nl = data.indexOf(10, at);
    at = nl < 0 ? data.length : nl + 1;
  }
  const signed = match !== data.length;
  const end = headerEnd(data);
  const headers = data.toString("utf8", 0, end).split("\n");
  let object: string | null = null;
  let objectType: string | null = null;
  let tagName: string | null = null;
  let tagger: Person | null = null;
  for (const h of headers) {
    const sp = h.indexOf(" ");
    const key = sp < 0 ? h : h.slice(0, sp);
    const value = sp < 0 ? "" : h.slice(sp + 1);
    if (key === "object" && object === null) object = value;
    else if (key === "type" && objectType === null) objectType = value;
    else if (key === "tag" && tagName === null) tagName = value;
    else if (key === "tagger" && tagger === null) tagger = parsePerson(value);
  }
  let malformed: string | null = null;
  if (!object || !/^[0-9a-f]{40,64}$/.test(object)) malformed = "the tag has no valid object header";
  else if (!objectType) malformed = "the tag has no type header";
  else if (!tagName) malformed = "the tag has no tag header";
  const messageEnd = signed ? match : data.length;
  return {
    kind: "tag",
    oid,
    object,
    objectType,
    tagName,
    tagger,
    subject: subjectOf(data.toString("utf8", Math.min(end + 1, messageEnd), messageEnd)),
    signature: signed ? Buffer.from(data.subarray(match)) : null,
    payload: signed ? stripSigHeaders(data.subarray(0, match)) : data,
    malformed,
  };
}
