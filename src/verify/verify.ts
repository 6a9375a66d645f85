/**
 * The verify engine: Flux's HEAD / Tag / TagAndHEAD modes with Flux's semantics, plus what Flux
 * does not do: every commit of a range (merges included), a per-path signer policy, and key
 * expiry and revocation as their own reasons.
 */
import { VERSION } from "../core/version.js";
import { countByType, type KeyRing, type TrustedKey } from "./keys.js";
import { GitError, GitRepo } from "./git.js";
import { parseCommit, parseTag, signatureType, type ParsedCommit, type ParsedTag, type Person, type SignatureType } from "./objects.js";
import { verifyPgp, type PgpCandidate, type SigCheck, type SigStatus } from "./openpgp.js";
import { allows, decide, groupsOf, unmatchedMembers, type SignerPolicy } from "./policy.js";
import { VERIFY_SCHEMA_VERSION, type Mode, type ObjectVerdict, type PolicyViolation, type Reason, type Signer, type VerifyReport } from "./report.js";
import { verifySsh, type SshCandidate } from "./ssh.js";

export interface VerifyOptions {
  /** Absolute path of the repository. */
  repoDir: string;
  /** How to show the repository in the report. */
  repoShown: string;
  keyring: KeyRing;
  keySources: string[];
  mode: Mode;
  /** The ref Flux would check out (branch, tag, commit); default HEAD. Ignored with a range. */
  ref: string | null;
  /** `A..B` (commits reachable from B and not from A) or `B` (all history of B). */
  range: string | null;
  policy: SignerPolicy | null;
  now?: Date;
  /** Progress callback (commits verified so far, total). */
  progress?: (done: number, total: number) => void;
}

/** Parses a mode as Flux's API accepts it (`head` is the legacy spelling of `HEAD`). */
export function parseMode(s: string): Mode | null {
  if (s === "HEAD" || s === "head") return "HEAD";
  if (s === "Tag" || s === "TagAndHEAD") return s;
  return null;
}

export function parseRange(range: string): { base: string | null; tip: string } {
  if (range.includes("...")) throw new GitError(`--range '${range}': symmetric ranges (A...B) are not supported`, "use A..B: the commits reachable from B and not from A");
  const parts = range.split("..");
  if (parts.length > 2 || parts.some((p) => p.startsWith("-"))) throw new GitError(`--range '${range}' is not A..B`);
  if (parts.length === 1) return { base: null, tip: parts[0]! };
  if (parts[1] === "") throw new GitError(`--range '${range}' has no end`, "write A..B, e.g. origin/main..HEAD");
  return { base: parts[0] === "" ? null : parts[0]!, tip: parts[1]! };
}

interface Trust {
  pgp: PgpCandidate[];
  ssh: SshCandidate[];
  keys: TrustedKey[];
}

function trustOf(ring: KeyRing): Trust {
  const pgp: PgpCandidate[] = [];
  const ssh: SshCandidate[] = [];
  ring.keys.forEach((k, index) => {
    if (k.type === "openpgp") pgp.push({ info: k.pgp, index });
    else ssh.push({ key: k.ssh, index, namespaces: k.namespaces });
  });
  return { pgp, ssh, keys: ring.keys };
}

/** Checks one signature against the trusted keys. Never throws. */
export async function checkSignature(sig: Buffer | null, payload: Buffer, trust: Trust, now: Date, signedAt: number | null): Promise<{ type: SignatureType | null; check: SigCheck }> {
  if (sig === null) return { type: null, check: { status: "unsigned", message: "not signed", issuer: null, keyIndex: null } };
  const type = signatureType(sig);
  switch (type) {
    case "openpgp":
      if (trust.pgp.length === 0) {
        return { type, check: { status: "unknown-key", message: "PGP signature detected but no PGP public keys are trusted (keys with .asc suffix)", issuer: null, keyIndex: null } };
      }
      return { type, check: await verifyPgp(sig, payload, trust.pgp, now) };
    case "ssh": {
      if (trust.ssh.length === 0) {
        return { type, check: { status: "unknown-key", message: "SSH signature detected but no SSH public keys are trusted (keys with .sshpub suffix)", issuer: null, keyIndex: null } };
      }
      const check = verifySsh(sig, payload, trust.ssh);
      if (check.status === "good" && check.keyIndex !== null) {
        const k = trust.keys[check.keyIndex];
        if (k && k.type === "ssh") {
          if (k.validBefore && now.getTime() >= k.validBefore.getTime()) {
            return { type, check: { ...check, status: "expired-key", message: `good signature, but SSH key ${k.fingerprint} expired on ${k.validBefore.toISOString().slice(0, 10)} (valid-before)` } };
          }
          if (k.validAfter && (now.getTime() < k.validAfter.getTime() || (signedAt !== null && signedAt * 1000 < k.validAfter.getTime()))) {
            return { type, check: { ...check, status: "unusable-key", message: `SSH key ${k.fingerprint} is only valid after ${k.validAfter.toISOString()} (valid-after)` } };
          }
        }
      }
      return { type, check };
    }
    case "x509":
      return { type, check: { status: "unsupported", message: "unsupported signature type: x509 (gitsign / S/MIME); Flux cannot verify it either", issuer: null, keyIndex: null } };
    case "unknown":
      return { type, check: { status: "malformed", message: "unsupported signature type: the signature header holds no recognizable OpenPGP or SSH signature", issuer: null, keyIndex: null } };
  }
}

function reasonFor(kind: "commit" | "tag", status: SigStatus, inRange: boolean): Reason {
  switch (status) {
    case "good":
      return "Succeeded";
    case "unsigned":
      return kind === "tag" ? "InvalidGitObject" : inRange ? "UnsignedCommitInRange" : "InvalidCommitSignature";
    case "expired-key":
      return "KeyExpired";
    case "revoked-key":
      return "KeyRevoked";
    case "unsupported":
      return "UnsupportedSignatureType";
    default:
      return kind === "tag" ? "InvalidTagSignature" : "InvalidCommitSignature";
  }
}

/** What Flux's source-controller reports for an object it verifies. */
function fluxReasonFor(kind: "commit" | "tag", status: SigStatus): Reason {
  if (status === "good") return "Succeeded";
  if (kind === "tag") return status === "unsigned" ? "InvalidGitObject" : "InvalidTagSignature";
  return "InvalidCommitSignature";
}

function isoTime(p: Person | null): string | null {
  return p ? new Date(p.time * 1000).toISOString() : null;
}

function person(p: Person | null): string | null {
  return p ? `${p.name} <${p.email}>` : null;
}

function signerOf(trust: Trust, check: SigCheck, policy: SignerPolicy | null): Signer | null {
  if (check.keyIndex === null) return null;
  const k = trust.keys[check.keyIndex];
  if (!k) return null;
  const s: Signer = { name: k.name, fingerprint: k.fingerprint, keyId: k.type === "openpgp" ? (check.issuer ?? k.pgp.keyId) : k.fingerprint, source: k.source };
  if (policy) s.groups = groupsOf(policy, k);
  return s;
}

function failureMessage(kind: "commit" | "tag", id: string, check: SigCheck): string {
  if (kind === "tag" && check.status === "unsigned") return `cannot verify signature of tag '${id}' since it is not signed`;
  if (kind === "commit" && check.status === "unsigned") return `commit ${id.slice(0, 12)} is not signed`;
  return `signature verification of ${kind} '${id}' failed: ${check.message}`;
}

export async function runVerify(opts: VerifyOptions): Promise<VerifyReport> {
  const now = opts.now ?? new Date();
  const trust = trustOf(opts.keyring);
  const repo = GitRepo.open(opts.repoDir, opts.repoShown);
  const warnings = [...opts.keyring.warnings];
  if (opts.policy) for (const m of unmatchedMembers(opts.policy, opts.keyring.keys)) warnings.push(`policy group ${m} matches no trusted key`);
  const report: VerifyReport = {
    schemaVersion: VERIFY_SCHEMA_VERSION,
    tool: { name: "fluxguard", version: VERSION },
    command: "verify",
    repository: opts.repoShown,
    mode: opts.mode,
    ref: opts.range ? null : (opts.ref ?? "HEAD"),
    range: opts.range,
    policy: opts.policy?.file ?? null,
    keys: { ...countByType(opts.keyring), sources: opts.keySources },
    result: "pass",
    reason: "Succeeded",
    message: "",
    summary: { commits: 0, tags: 0, passed: 0, failed: 0, byReason: {} },
    objects: [],
    warnings,
  };
  try {
    const { base, tip } = opts.range ? parseRange(opts.range) : { base: null, tip: opts.ref ?? "HEAD" };
    const tipCommit = repo.resolve(tip, "commit");
    const baseCommit = base ? repo.resolve(base, "commit") : null;

    if (opts.mode === "Tag" || opts.mode === "TagAndHEAD") {
      const full = repo.symbolicFullName(tip);
      const tagOid = full?.startsWith("refs/tags/") ? repo.resolve(full) : null;
      const tagObj = tagOid ? await repo.readObject(tagOid) : null;
      if (!full?.startsWith("refs/tags/") || !tagObj || tagObj.type !== "tag") {
        const why = !full?.startsWith("refs/tags/")
          ? `'${tip}' is not a tag`
          : `'${tip}' is a lightweight tag: it has no tag object that could carry a signature`;
        report.result = "fail";
        report.reason = "InvalidVerificationMode";
        report.message = `cannot verify tag object's signature if a tag reference is not specified (${why}; mode ${opts.mode})`;
        return report;
      }
      const tag = parseTag(tagObj.oid, tagObj.data);
      report.objects.push(await verdictForTag(tag, full.slice("refs/tags/".length), trust, now, opts.policy));
    }

    let commitList: { oid: string; parents: string[] }[];
    if (opts.range) commitList = await repo.revList(tipCommit, baseCommit);
    else if (opts.mode === "Tag") commitList = [];
    else commitList = [{ oid: tipCommit, parents: [] }];
    if (opts.range && commitList.length === 0) warnings.push(`the range ${opts.range} holds no commits`);

    const changed = opts.policy && commitList.length ? await repo.changedPaths(await withParents(repo, commitList)) : null;
    const CHUNK = 512;
    for (let i = 0; i < commitList.length; i += CHUNK) {
      const slice = commitList.slice(i, i + CHUNK);
      const objs = await Promise.all(slice.map((c) => repo.readObject(c.oid)));
      // Verified concurrently: openpgp's WebCrypto calls run on libuv's thread pool.
      const verdicts = await Promise.all(
        objs.map((obj) => {
          if (obj.type !== "commit") throw new GitError(`object ${obj.oid} is a ${obj.type}, not a commit`);
          const commit = parseCommit(obj.oid, obj.data);
          const fluxChecks = obj.oid === tipCommit && opts.mode !== "Tag";
          return verdictForCommit(commit, trust, now, Boolean(opts.range), fluxChecks, opts.policy, changed?.get(obj.oid) ?? null);
        }),
      );
      report.objects.push(...verdicts);
      opts.progress?.(Math.min(i + CHUNK, commitList.length), commitList.length);
    }
  } finally {
    repo.close();
  }
  summarize(report);
  return report;
}

/** rev-list gives parents; HEAD mode gives none, so read them for the diff. */
async function withParents(repo: GitRepo, list: { oid: string; parents: string[] }[]): Promise<{ oid: string; parents: string[] }[]> {
  if (list.length !== 1 || list[0]!.parents.length) return list;
  const obj = await repo.readObject(list[0]!.oid);
  return [{ oid: obj.oid, parents: parseCommit(obj.oid, obj.data).parents }];
}

async function verdictForTag(tag: ParsedTag, name: string, trust: Trust, now: Date, policy: SignerPolicy | null): Promise<ObjectVerdict> {
  const base = {
    type: "tag" as const,
    oid: tag.oid,
    name,
    subject: tag.subject,
    author: person(tag.tagger),
    date: isoTime(tag.tagger),
  };
  if (tag.malformed) {
    return {
      ...base,
      signature: { type: tag.signature ? signatureType(tag.signature) : null, status: "malformed", issuer: null, message: tag.malformed },
      signer: null,
      verdict: "fail",
      reason: "InvalidGitObject",
      message: `invalid tag object ${tag.oid}: ${tag.malformed}`,
      fluxReason: "InvalidGitObject",
    };
  }
  const { type, check } = await checkSignature(tag.signature, tag.payload, trust, now, tag.tagger?.time ?? null);
  const reason = reasonFor("tag", check.status, false);
  return {
    ...base,
    signature: { type, status: check.status, issuer: check.issuer, message: check.message },
    signer: signerOf(trust, check, policy),
    verdict: reason === "Succeeded" ? "pass" : "fail",
    reason,
    message: reason === "Succeeded" ? `verified signature of tag '${name}': ${check.message}` : failureMessage("tag", name, check),
    fluxReason: fluxReasonFor("tag", check.status),
  };
}

async function verdictForCommit(
  commit: ParsedCommit,
  trust: Trust,
  now: Date,
  inRange: boolean,
  fluxChecks: boolean,
  policy: SignerPolicy | null,
  changed: { parent: string | null; paths: string[] }[] | null,
): Promise<ObjectVerdict> {
  const base = {
    type: "commit" as const,
    oid: commit.oid,
    subject: commit.subject,
    author: person(commit.author),
    date: isoTime(commit.committer),
    parents: commit.parents,
  };
  if (commit.malformed) {
    return {
      ...base,
      signature: { type: commit.signature ? signatureType(commit.signature) : null, status: "malformed", issuer: null, message: commit.malformed },
      signer: null,
      verdict: "fail",
      reason: "InvalidGitObject",
      message: `invalid commit object ${commit.oid}: ${commit.malformed}`,
      fluxReason: fluxChecks ? "InvalidCommitSignature" : null,
    };
  }
  const { type, check } = await checkSignature(commit.signature, commit.payload, trust, now, commit.committer?.time ?? null);
  let reason = reasonFor("commit", check.status, inRange);
  const signer = signerOf(trust, check, policy);
  let message = reason === "Succeeded" ? `verified signature of commit '${commit.oid}': ${check.message}` : failureMessage("commit", commit.oid, check);
  const v: ObjectVerdict = {
    ...base,
    signature: { type, status: check.status, issuer: check.issuer, message: check.message },
    signer,
    verdict: "pass",
    reason,
    message,
    fluxReason: fluxChecks ? fluxReasonFor("commit", check.status) : null,
  };
  if (policy && changed && check.status === "good") {
    const violations = policyViolations(policy, changed, signer?.groups ?? []);
    const changedPaths = new Set(changed.flatMap((c) => c.paths)).size;
    v.policy = { changedPaths, violations };
    if (reason === "Succeeded" && violations.length) {
      reason = "SignerNotAllowedForPath";
      message = `${signer?.name ?? "the signer"} (groups: ${signer?.groups?.join(", ") || "none"}) may not change ${violations.length} path${violations.length === 1 ? "" : "s"} of commit ${commit.oid.slice(0, 12)}`;
    }
  }
  v.reason = reason;
  v.message = message;
  v.verdict = reason === "Succeeded" ? "pass" : "fail";
  return v;
}

function policyViolations(policy: SignerPolicy, changed: { parent: string | null; paths: string[] }[], groups: string[]): PolicyViolation[] {
  const byPath = new Map<string, PolicyViolation>();
  for (const { parent, paths } of changed) {
    for (const path of paths) {
      const existing = byPath.get(path);
      if (existing) {
        existing.parents.push(parent);
        continue;
      }
      const d = decide(policy, path);
      if (allows(d, groups)) continue;
      byPath.set(path, { path, parents: [parent], rule: d.rule, pattern: d.pattern, allowedGroups: d.allowed === "any" ? [] : d.allowed });
    }
  }
  return [...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

function summarize(report: VerifyReport): void {
  const s = report.summary;
  for (const o of report.objects) {
    if (o.type === "commit") s.commits++;
    else s.tags++;
    if (o.verdict === "pass") s.passed++;
    else {
      s.failed++;
      s.byReason[o.reason] = (s.byReason[o.reason] ?? 0) + 1;
    }
  }
  if (report.reason === "InvalidVerificationMode") return;
  const firstFail = report.objects.find((o) => o.verdict === "fail");
  if (firstFail) {
    report.result = "fail";
    report.reason = firstFail.reason;
    const counts = Object.entries(s.byReason)
      .map(([r, n]) => `${r} ${n}`)
      .join(", ");
    report.message = `${s.failed} of ${report.objects.length} object${report.objects.length === 1 ? "" : "s"} failed verification (${counts})`;
  } else {
    const what = [s.tags ? `${s.tags} tag${s.tags === 1 ? "" : "s"}` : "", `${s.commits} commit${s.commits === 1 ? "" : "s"}`].filter(Boolean).join(" and ");
    report.message = `verified ${what}`;
  }
}
