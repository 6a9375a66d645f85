/**
 * What the monitor reads from Flux objects and their Events, as pure functions: readiness, and
 * the failures it counts (signature verification, fetch, reconciliation denied by RBAC or
 * admission), each with a stable identity so the same failure is counted once however often
 * it is seen (relists, restarts, a second replica, the condition and its Event).
 *
 * Flux facts followed (FLUX-FACTS.md; research/next-capabilities.md §1.5):
 * - source-controller sets `SourceVerified=False` with reasons InvalidCommitSignature,
 *   InvalidTagSignature, InvalidGitObject, InvalidVerificationMode or VerificationError, copies
 *   it onto `Ready` (summarize.SummarizeAndPatch), and emits a Warning Event with the same reason
 *   and message (`signature verification of commit '<sha>' failed: …`). The condition is deleted
 *   at the start of each reconcile and set again, so its lastTransitionTime moves with every
 *   attempt: a verification failure is identified by the revision it rejected, not by time.
 * - Fetch failures set `FetchFailed=True` (GitOperationFailed, AuthenticationFailed, …; OCI and
 *   Helm equivalents). Its lastTransitionTime holds while the failure lasts, so one episode is
 *   (object, reason, lastTransitionTime).
 * - kustomize-/helm-controller report an apply the API server refused as `Ready=False`
 *   (ReconciliationFailed, InstallFailed, …) with the API server's message:
 *   `… is forbidden: User "system:serviceaccount:NS:SA" cannot VERB resource "R" in API group "G" …`
 *   or an admission denial (`admission webhook "W" denied the request`,
 *   `ValidatingAdmissionPolicy 'P' with binding 'B' denied request`). A denial is identified by
 *   the revision attempted (`status.lastAttemptedRevision`): retries of the same revision are
 *   the same incident.
 */
import { createHash } from "node:crypto";
import { isFluxApiGroup } from "../core/flux.js";

/** A Flux kind the monitor watches: how to list it and how to name it. */
export interface WatchedKind {
  kind: string;
  group: string;
  version: string;
  plural: string;
  /** A source-controller kind (verification and fetch signals apply). */
  source?: boolean;
  /** A reconciler that applies to the cluster (denial signals apply). */
  applier?: boolean;
}

/** Every Flux kind with a Ready condition, Flux 2.9 + Flux Operator. */
export const FLUX_KINDS: readonly WatchedKind[] = [
  { kind: "GitRepository", group: "source.toolkit.fluxcd.io", version: "v1", plural: "gitrepositories", source: true },
  { kind: "OCIRepository", group: "source.toolkit.fluxcd.io", version: "v1", plural: "ocirepositories", source: true },
  { kind: "HelmRepository", group: "source.toolkit.fluxcd.io", version: "v1", plural: "helmrepositories", source: true },
  { kind: "HelmChart", group: "source.toolkit.fluxcd.io", version: "v1", plural: "helmcharts", source: true },
  { kind: "Bucket", group: "source.toolkit.fluxcd.io", version: "v1", plural: "buckets", source: true },
  { kind: "Kustomization", group: "kustomize.toolkit.fluxcd.io", version: "v1", plural: "kustomizations", applier: true },
  { kind: "HelmRelease", group: "helm.toolkit.fluxcd.io", version: "v2", plural: "helmreleases", applier: true },
  { kind: "ImageRepository", group: "image.toolkit.fluxcd.io", version: "v1", plural: "imagerepositories" },
  { kind: "ImagePolicy", group: "image.toolkit.fluxcd.io", version: "v1", plural: "imagepolicies" },
  { kind: "ImageUpdateAutomation", group: "image.toolkit.fluxcd.io", version: "v1", plural: "imageupdateautomations" },
  { kind: "Receiver", group: "notification.toolkit.fluxcd.io", version: "v1", plural: "receivers" },
  { kind: "FluxInstance", group: "fluxcd.controlplane.io", version: "v1", plural: "fluxinstances" },
  { kind: "ResourceSet", group: "fluxcd.controlplane.io", version: "v1", plural: "resourcesets", applier: true },
];

/** source-controller's verification reasons (api/v1/condition_types.go). */
export const VERIFICATION_REASONS: ReadonlySet<string> = new Set(["InvalidCommitSignature", "InvalidTagSignature", "InvalidGitObject", "InvalidVerificationMode", "VerificationError"]);

/** The few fields of a condition the monitor keeps. */
export interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
  /** Milliseconds since the epoch; NaN when absent or malformed. */
  lastTransitionTime: number;
}

/** The compact view of a Flux object the monitor stores (never the whole object). */
export interface ObjectView {
  uid: string;
  kind: string;
  namespace: string;
  name: string;
  suspended: boolean;
  ready: { status: "True" | "False" | "Unknown"; reason: string; since: number };
  /** The failures the object's status shows now. */
  failures: Failure[];
  /** `spec.verify.secretRef.name` of a Git or OCI source, in its namespace. */
  verifySecret: string | null;
}

export type Signal = "verification" | "fetch" | "denied";

/** One failure, with the identity that de-duplicates it. */
export interface Failure {
  signal: Signal;
  /** Stable across relists, restarts and replicas: the same failure always has the same key. */
  key: string;
  /** The labels of the counter series it adds to. */
  labels: Record<string, string>;
  /** When the failure happened according to the cluster (ms since the epoch). */
  at: number;
}

/** A 16-hex-digit digest, for identities built from free text. */
export function digest(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 16);
}

function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}

function obj(v: unknown): Record<string, unknown> | null {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
}

function time(v: unknown): number {
  return typeof v === "string" ? Date.parse(v) : NaN;
}

/** The conditions of an object; malformed entries are skipped, never thrown on. */
export function conditionsOf(o: unknown): Condition[] {
  const list = obj(obj(o)?.["status"])?.["conditions"];
  if (!Array.isArray(list)) return [];
  const out: Condition[] = [];
  for (const c of list) {
    const x = obj(c);
    if (!x || typeof x["type"] !== "string") continue;
    out.push({ type: x["type"], status: str(x["status"]), reason: str(x["reason"]), message: str(x["message"]).slice(0, 4096), lastTransitionTime: time(x["lastTransitionTime"]) });
  }
  return out;
}

/**
 * What a verification failure rejected: the commit SHA, tag or digest its message names, or a
 * digest of the message when it names none (InvalidVerificationMode, VerificationError).
 */
export function verificationSubject(message: string): string {
  const m =
    /(?:commit|tag|revision|artifact|digest)\s+'([^']+)'/.exec(message) ??
    /\b([0-9a-f]{40}|[0-9a-f]{64})\b/.exec(message) ??
    /(sha256:[0-9a-f]{64})/.exec(message);
  return m ? m[1]! : `msg:${digest(message)}`;
}

/** Whether Flux refused a signature, or could not verify at all. */
export type Verdict = "rejected" | "unverifiable";

/**
 * A cosign or notation failure that is about the verifier, not the artifact: the keys Secret,
 * the trust policy or the provider could not be set up (source-controller makeVerifiers), or
 * the registry could not be reached for the signatures.
 */
const OCI_VERIFIER_ERROR_RE =
  /public keys? secret|secrets? "[^"]*" not found|failed to get (?:the )?(?:secret|verifier|public keys?|keychain|credentials?)|trust ?policy (?:is not present|document|file)|failed to (?:load|read) (?:the )?(?:public )?keys?|failed to create (?:the )?(?:verifier|keychain)|unsupported (?:verification )?provider|no (?:public )?keys? found|context deadline exceeded|i\/o timeout|connection refused|no such host|TLS handshake timeout/i;

/**
 * The verdict of a verification failure (the `verdict` label of
 * fluxguard_verification_failures_total, which the critical alert selects):
 * - Git (source-controller gitrepository_controller.go verifySignature): InvalidCommitSignature,
 *   InvalidTagSignature and InvalidGitObject (an unsigned tag) are `rejected`;
 *   InvalidVerificationMode (the ref is not a tag) and VerificationError (the keys Secret
 *   cannot be read) are `unverifiable`.
 * - OCIRepository and HelmChart (cosign, notation): every failure has reason
 *   VerificationError with "failed to verify the signature using provider '…': <cause>"
 *   (ocirepository_controller.go; FLUX-FACTS §1.3), a missing signature as much as a missing
 *   key. It is `rejected` unless the cause names the verifier's own setup or the network
 *   (OCI_VERIFIER_ERROR_RE): when in doubt, the critical alert fires.
 */
export function verificationVerdict(kind: string, reason: string, message: string): Verdict {
  if (reason === "InvalidCommitSignature" || reason === "InvalidTagSignature" || reason === "InvalidGitObject") return "rejected";
  if (reason === "VerificationError" && (kind === "OCIRepository" || kind === "HelmChart")) {
    // The cause, without the references and URLs it quotes (an artifact or tag name must not
    // decide the verdict).
    const cause = message
      .replace(/^.*?failed to verify the signature using provider '[^']*':\s*/s, "")
      .replace(/'[^']*'|"https?:[^"]*"|\bhttps?:\/\/\S+/g, "''");
    return OCI_VERIFIER_ERROR_RE.test(cause) ? "unverifiable" : "rejected";
  }
  return "unverifiable";
}

function verificationFailure(kind: string, uid: string, namespace: string, name: string, reason: string, message: string, at: number): Failure {
  // The verdict is part of the identity: an OCI artifact the registry could not be asked about
  // (unverifiable) and then refused (rejected) has one reason and one digest, and the refusal
  // must still count.
  const verdict = verificationVerdict(kind, reason, message);
  return {
    signal: "verification",
    key: `verification/${uid}/${reason}/${verdict}/${verificationSubject(message)}`,
    labels: { kind, namespace, name, reason, verdict },
    at,
  };
}

/** One refused request parsed out of an apply error message. */
export interface Denial {
  mechanism: "rbac" | "admission";
  /** `namespace/serviceaccount`, or the user name for other identities; "" when the message names none. */
  identity: string;
  /** The Kubernetes kind refused (`ClusterRoleBinding`), or the resource (`clusterrolebindings.rbac.authorization.k8s.io`) when no kind is named. */
  kind: string;
  verb: string;
}

const FORBIDDEN_RE = /(?:([A-Z][A-Za-z0-9]*)\/[^\s]+ [^\n]*?)?is forbidden: User "([^"]+)" cannot ([a-z*]+) resource "([^"]+)" in API group "([^"]*)"/g;
const ADMISSION_RE = /(?:([A-Z][A-Za-z0-9]*)\/[^\s]+ [^\n]*?)?(admission webhook "[^"]+" denied the request|ValidatingAdmissionPolicy '[^']+' with binding '[^']+' denied request|denied the request)/g;

/** Turns `system:serviceaccount:ns:sa` into `ns/sa`. */
function identityOf(user: string): string {
  const m = /^system:serviceaccount:([^:]+):(.+)$/.exec(user);
  return m ? `${m[1]}/${m[2]}` : user;
}

/**
 * Every RBAC or admission refusal an apply error message reports. Messages list one line per
 * object that failed (`Kind/ns/name dry-run failed (Forbidden): …`); the kind comes from that
 * prefix when present, else from the resource in the API server's message.
 */
export function parseDenials(message: string, fallbackIdentity: string): Denial[] {
  const out: Denial[] = [];
  const seen = new Set<string>();
  const push = (d: Denial): void => {
    const k = JSON.stringify(d);
    if (!seen.has(k)) {
      seen.add(k);
      out.push(d);
    }
  };
  for (const line of message.split("\n")) {
    for (const m of line.matchAll(FORBIDDEN_RE)) {
      const resource = m[5] ? `${m[4]}.${m[5]}` : m[4]!;
      push({ mechanism: "rbac", identity: identityOf(m[2]!), kind: m[1] ?? resource, verb: m[3]! });
    }
    if (/is forbidden: User/.test(line)) continue;
    for (const m of line.matchAll(ADMISSION_RE)) {
      const verb = /\bdry-run failed\b|\bcreate\b/i.test(line) ? "create" : /\bupdate\b|\bpatch\b/i.test(line) ? "update" : "apply";
      push({ mechanism: "admission", identity: fallbackIdentity, kind: m[1] ?? "unknown", verb });
    }
  }
  return out;
}

/** The identity a reconciler applies as: its serviceAccountName, or the controller's own. */
export function reconcilerIdentity(kind: string, namespace: string, spec: Record<string, unknown> | null, fluxNamespace: string): string {
  const sa = str(spec?.["serviceAccountName"]);
  if (sa) return `${namespace}/${sa}`;
  return `${fluxNamespace}/${kind === "HelmRelease" ? "helm-controller" : kind === "ResourceSet" ? "flux-operator" : "kustomize-controller"}`;
}

/**
 * The compact view of one Flux object: readiness and the failures its status shows now.
 * Never throws: a malformed object yields a view with what could be read.
 */
export function viewObject(k: WatchedKind, o: unknown, fluxNamespace: string): ObjectView | null {
  const md = obj(obj(o)?.["metadata"]);
  const uid = str(md?.["uid"]);
  const name = str(md?.["name"]);
  if (!uid || !name) return null;
  const namespace = str(md?.["namespace"]);
  const spec = obj(obj(o)?.["spec"]);
  const conds = conditionsOf(o);
  const ready = conds.find((c) => c.type === "Ready");
  const status = ready?.status === "True" ? "True" : ready?.status === "False" ? "False" : "Unknown";
  const failures: Failure[] = [];
  if (k.source) {
    const verified = conds.find((c) => c.type === "SourceVerified");
    if (verified && verified.status === "False" && VERIFICATION_REASONS.has(verified.reason)) {
      failures.push(verificationFailure(k.kind, uid, namespace, name, verified.reason, verified.message, verified.lastTransitionTime));
    } else if (ready && ready.status === "False" && VERIFICATION_REASONS.has(ready.reason)) {
      failures.push(verificationFailure(k.kind, uid, namespace, name, ready.reason, ready.message, ready.lastTransitionTime));
    }
    const fetch = conds.find((c) => c.type === "FetchFailed" && c.status === "True");
    if (fetch && fetch.reason) {
      failures.push({
        signal: "fetch",
        key: `fetch/${uid}/${fetch.reason}/${Number.isNaN(fetch.lastTransitionTime) ? digest(fetch.message) : fetch.lastTransitionTime}`,
        labels: { kind: k.kind, namespace, name, reason: fetch.reason },
        at: fetch.lastTransitionTime,
      });
    }
  }
  if (k.applier && ready && ready.status === "False" && ready.message) {
    const identity = reconcilerIdentity(k.kind, namespace, spec, fluxNamespace);
    // One denial per revision attempted: Flux retries a refused revision every retryInterval,
    // and each retry is the same incident. Without a revision: per failed attempt.
    const revision = str(obj(obj(o)?.["status"])?.["lastAttemptedRevision"]);
    const attempt = revision ? `rev:${revision}` : `${Number.isNaN(ready.lastTransitionTime) ? "" : ready.lastTransitionTime}/${digest(ready.message)}`;
    for (const d of parseDenials(ready.message, identity)) {
      failures.push({
        signal: "denied",
        key: `denied/${uid}/${attempt}/${d.mechanism}/${d.kind}/${d.verb}/${d.identity}`,
        labels: { identity: d.identity, kind: d.kind, verb: d.verb, mechanism: d.mechanism },
        at: ready.lastTransitionTime,
      });
    }
  }
  const verifySecret = k.source ? str(obj(obj(spec?.["verify"])?.["secretRef"])?.["name"]) || null : null;
  return {
    uid,
    kind: k.kind,
    namespace,
    name,
    suspended: spec?.["suspend"] === true,
    ready: { status, reason: ready?.reason ?? "", since: ready?.lastTransitionTime ?? NaN },
    failures,
    verifySecret,
  };
}

/**
 * The verification failure a Warning Event reports, with the same identity as the condition
 * it accompanies (so seeing both counts once). Events expire (kube-apiserver --event-ttl, 1h)
 * and are aggregated through `count`; they matter for failures that came and went while no
 * replica was watching.
 */
export function eventFailures(e: unknown): Failure[] {
  const ev = obj(e);
  if (!ev || str(ev["type"]) !== "Warning") return [];
  const reason = str(ev["reason"]);
  if (!VERIFICATION_REASONS.has(reason)) return [];
  const io = obj(ev["involvedObject"]);
  const apiVersion = str(io?.["apiVersion"]);
  const kind = str(io?.["kind"]);
  const uid = str(io?.["uid"]);
  // Only Flux's objects (core/flux GROUP: the toolkit groups and the Flux Operator's).
  if (!isFluxApiGroup(apiVersion)) return [];
  if (!uid || !kind) return [];
  const at = time(ev["firstTimestamp"]) || time(ev["eventTime"]) || time(obj(ev["metadata"])?.["creationTimestamp"]);
  return [verificationFailure(kind, uid, str(io?.["namespace"]), str(io?.["name"]), reason, str(ev["message"]).slice(0, 4096), at)];
}
