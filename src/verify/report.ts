/** The `fluxguard verify` report: what the text and JSON outputs print (schemas/verify-report.schema.json). */
import type { SigStatus } from "./openpgp.js";
import type { SignatureType } from "./objects.js";

export const VERIFY_SCHEMA_VERSION = "1.0";

/** Flux's reasons (source-controller) where they overlap, then ours. */
export const REASONS = [
  "Succeeded",
  "InvalidCommitSignature",
  "InvalidTagSignature",
  "InvalidGitObject",
  "InvalidVerificationMode",
  "UnsignedCommitInRange",
  "SignerNotAllowedForPath",
  "KeyExpired",
  "KeyRevoked",
  "UnsupportedSignatureType",
] as const;
export type Reason = (typeof REASONS)[number];

export type Mode = "HEAD" | "Tag" | "TagAndHEAD";

export interface PolicyViolation {
  path: string;
  /** The parents the path differs from (null: a root commit, against the empty tree). */
  parents: (string | null)[];
  /** Rule number (1-based) that matched, or "default". */
  rule: number | "default";
  pattern: string | null;
  /** Groups allowed there; "deny" when the default denies. */
  allowedGroups: string[] | "deny";
}

export interface Signer {
  name: string;
  /** Full fingerprint: OpenPGP primary key fingerprint (hex) or SSH `SHA256:…`. */
  fingerprint: string;
  /** OpenPGP: the (sub)key ID that signed; SSH: the fingerprint again. */
  keyId: string;
  /** Where the trusted key came from. */
  source: string;
  groups?: string[];
}

export interface ObjectVerdict {
  type: "commit" | "tag";
  oid: string;
  /** For tags: the tag name. */
  name?: string;
  subject: string;
  author: string | null;
  /** Commit: committer time; tag: tagger time (ISO 8601, as recorded in the object). */
  date: string | null;
  parents?: string[];
  signature: {
    type: SignatureType | null;
    status: SigStatus;
    /** The issuer as written in the signature, when it could be read. */
    issuer: string | null;
    message: string;
  };
  signer: Signer | null;
  verdict: "pass" | "fail";
  reason: Reason;
  message: string;
  /** Flux's reason for this object, when Flux verifies it (HEAD commit, tag); null when Flux does not look at it. */
  fluxReason: Reason | null;
  policy?: { changedPaths: number; violations: PolicyViolation[] };
}

export interface VerifyReport {
  schemaVersion: string;
  tool: { name: "fluxguard"; version: string };
  command: "verify";
  repository: string;
  mode: Mode;
  ref: string | null;
  range: string | null;
  policy: string | null;
  keys: { openpgp: number; ssh: number; sources: string[] };
  result: "pass" | "fail";
  /** `Succeeded`, or the reason of the first failure. */
  reason: Reason;
  message: string;
  summary: { commits: number; tags: number; passed: number; failed: number; byReason: Partial<Record<Reason, number>> };
  objects: ObjectVerdict[];
  warnings: string[];
}
