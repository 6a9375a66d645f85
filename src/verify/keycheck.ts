/**
 * `fluxguard keys check`: expired, revoked and soon-expiring keys, before they break a
 * reconciliation (the seed's "GPG key expired" failure mode).
 */
import type { KeyRing, TrustedKey } from "./keys.js";
import { VERSION } from "../core/version.js";
import { VERIFY_SCHEMA_VERSION } from "./report.js";

export type KeyStatus = "ok" | "expiring" | "expired" | "revoked" | "unusable";

export interface KeyEntry {
  source: string;
  type: "openpgp" | "ssh";
  name: string;
  fingerprint: string;
  /** OpenPGP primary key ID; absent for SSH. */
  keyId?: string;
  algorithm: string;
  created: string | null;
  /** When the key can no longer sign (ISO 8601); null: never. */
  expires: string | null;
  /** Whole days from now to `expires` (negative when past). */
  daysLeft: number | null;
  status: KeyStatus;
  message: string;
}

export interface KeysReport {
  schemaVersion: string;
  tool: { name: "fluxguard"; version: string };
  command: "keys check";
  warnDays: number;
  result: "pass" | "fail";
  summary: { keys: number; ok: number; expiring: number; expired: number; revoked: number; unusable: number };
  keys: KeyEntry[];
  warnings: string[];
}

const DAY = 86_400_000;

function daysBetween(now: Date, d: Date): number {
  return Math.floor((d.getTime() - now.getTime()) / DAY);
}

function classify(k: TrustedKey, now: Date, warnDays: number): Omit<KeyEntry, "source" | "type" | "name" | "fingerprint"> {
  const date = (d: Date | null): string | null => (d ? d.toISOString() : null);
  const timed = (expires: Date | null, what: string): Pick<KeyEntry, "expires" | "daysLeft" | "status" | "message"> => {
    if (!expires) return { expires: null, daysLeft: null, status: "ok", message: `${what} does not expire` };
    const days = daysBetween(now, expires);
    if (expires.getTime() <= now.getTime()) return { expires: date(expires), daysLeft: days, status: "expired", message: `${what} expired on ${expires.toISOString().slice(0, 10)}; signatures by it fail verification` };
    if (days < warnDays) return { expires: date(expires), daysLeft: days, status: "expiring", message: `${what} expires on ${expires.toISOString().slice(0, 10)}, in ${days} day${days === 1 ? "" : "s"}; extend it (gpg --quick-set-expire) and re-publish the public key` };
    return { expires: date(expires), daysLeft: days, status: "ok", message: `${what} expires on ${expires.toISOString().slice(0, 10)}` };
  };
  if (k.type === "ssh") {
    const base = { algorithm: k.ssh.type + (k.ssh.bits ? `/${k.ssh.bits}` : ""), created: null };
    if (k.ssh.unsupported) return { ...base, expires: null, daysLeft: null, status: "unusable", message: k.ssh.unsupported };
    if (k.validAfter && k.validAfter.getTime() > now.getTime()) {
      return { ...base, expires: date(k.validBefore), daysLeft: k.validBefore ? daysBetween(now, k.validBefore) : null, status: "unusable", message: `not valid before ${k.validAfter.toISOString()} (valid-after)` };
    }
    return { ...base, ...timed(k.validBefore, "the key (valid-before)") };
  }
  const p = k.pgp;
  const base = { keyId: p.keyId, algorithm: p.algorithm, created: date(p.created) };
  if (p.revoked) return { ...base, expires: date(p.expires), daysLeft: null, status: "revoked", message: `the key is revoked${p.revocationReason ? ` (${p.revocationReason})` : ""}; signatures by it fail verification` };
  if (p.unusable) return { ...base, expires: date(p.expires), daysLeft: null, status: "unusable", message: p.unusable };
  if (p.expires && p.expires.getTime() <= now.getTime()) return { ...base, ...timed(p.expires, "the key") };
  // The key can sign as long as one signing (sub)key is valid; the latest of them decides.
  const signing = p.subkeys.filter((s) => s.canSign && !s.revoked);
  if (signing.length === 0) return { ...base, expires: date(p.expires), daysLeft: null, status: "unusable", message: "the key has no valid signing (sub)key" };
  const cap = (d: Date | null): Date | null => (p.expires && (!d || d > p.expires) ? p.expires : d);
  const ends = signing.map((s) => cap(s.expires));
  const last = ends.includes(null) ? null : new Date(Math.max(...ends.map((d) => d!.getTime())));
  const what = signing.length === 1 && signing[0]!.primary ? "the key" : "the last valid signing key";
  return { ...base, ...timed(last, what) };
}

export function checkKeys(ring: KeyRing, opts: { warnDays: number; now?: Date }): KeysReport {
  const now = opts.now ?? new Date();
  const keys: KeyEntry[] = ring.keys.map((k) => ({ source: k.source, type: k.type, name: k.name, fingerprint: k.fingerprint, ...classify(k, now, opts.warnDays) }));
  const summary = { keys: keys.length, ok: 0, expiring: 0, expired: 0, revoked: 0, unusable: 0 };
  for (const k of keys) summary[k.status]++;
  return {
    schemaVersion: VERIFY_SCHEMA_VERSION,
    tool: { name: "fluxguard", version: VERSION },
    command: "keys check",
    warnDays: opts.warnDays,
    result: summary.ok === keys.length ? "pass" : "fail",
    summary,
    keys,
    warnings: [...ring.warnings],
  };
}
