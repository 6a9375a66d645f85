import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { FailureLedger } from "./ledger.js";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { buildMetrics, CHUNK_CHARS, escapeLabelValue, writeExposition, type MonitorMetrics } from "./metrics.js";
import type { MonitorView } from "./monitor.js";
import { eventFailures, FLUX_KINDS, parseDenials, verificationSubject, verificationVerdict, viewObject, type Failure, type ObjectView } from "./signals.js";

const GIT = FLUX_KINDS.find((k) => k.kind === "GitRepository")!;
const KS = FLUX_KINDS.find((k) => k.kind === "Kustomization")!;
const SHA = "0123456789abcdef0123456789abcdef01234567";
const SHA2 = "89abcdef0123456789abcdef0123456789abcdef";

/** A GitRepository as source-controller 1.9 writes it after rejecting an unsigned commit. */
function rejected(sha: string, ltt: string, uid = "uid-git-1"): unknown {
  const message = `signature verification of commit '${sha}' failed: unsupported signature type: empty`;
  return {
    apiVersion: "source.toolkit.fluxcd.io/v1",
    kind: "GitRepository",
    metadata: { name: "apps", namespace: "flux-system", uid },
    spec: { url: "https://example.invalid/apps.git", verify: { mode: "HEAD", secretRef: { name: "signers" } } },
    status: {
      conditions: [
        { type: "Ready", status: "False", reason: "InvalidCommitSignature", message, lastTransitionTime: ltt },
        { type: "SourceVerified", status: "False", reason: "InvalidCommitSignature", message, lastTransitionTime: ltt },
      ],
    },
  };
}

function event(sha: string, count: number, uid = "uid-git-1"): unknown {
  return {
    metadata: { name: `apps.${count}`, namespace: "flux-system", uid: `ev-${count}` },
    type: "Warning",
    reason: "InvalidCommitSignature",
    message: `signature verification of commit '${sha}' failed: unsupported signature type: empty`,
    count,
    firstTimestamp: "2026-11-29T10:00:00Z",
    involvedObject: { apiVersion: "source.toolkit.fluxcd.io/v1", kind: "GitRepository", name: "apps", namespace: "flux-system", uid },
  };
}

function failures(o: unknown): Failure[] {
  return viewObject(GIT, o, "flux-system")!.failures;
}

function value(l: FailureLedger, signal: string): number {
  return l.counters().filter((c) => c.signal === signal).reduce((n, c) => n + c.value, 0);
}

describe("monitor signals", () => {
  it("reads a rejected commit as one verification failure named by the commit", () => {
    const f = failures(rejected(SHA, "2026-11-29T10:00:00Z"));
    assert.equal(f.length, 1);
    assert.equal(f[0]!.signal, "verification");
    assert.deepEqual(f[0]!.labels, { kind: "GitRepository", namespace: "flux-system", name: "apps", reason: "InvalidCommitSignature", verdict: "rejected" });
    assert.match(f[0]!.key, new RegExp(SHA));
    assert.equal(viewObject(GIT, rejected(SHA, "2026-11-29T10:00:00Z"), "flux-system")!.verifySecret, "signers");
  });

  it("gives the Event of a rejection the same identity as its condition", () => {
    const [fromCondition] = failures(rejected(SHA, "2026-11-29T10:00:00Z"));
    const [fromEvent] = eventFailures(event(SHA, 1));
    assert.equal(fromEvent!.key, fromCondition!.key);
    assert.deepEqual(eventFailures({ ...(event(SHA, 1) as object), type: "Normal" }), [], "Normal events are not failures");
    assert.deepEqual(eventFailures({ ...(event(SHA, 1) as object), reason: "GitOperationFailed" }), [], "only verification reasons");
    assert.deepEqual(eventFailures({ ...(event(SHA, 1) as object), involvedObject: { apiVersion: "v1", kind: "Pod", name: "x", uid: "u" } }), [], "only Flux objects");
  assert.deepEqual(eventFailures({ ...(event(SHA, 1) as object), involvedObject: { apiVersion: "source.toolkit.fluxcd.io.attacker.example/v1", kind: "GitRepository", name: "x", uid: "u" } }), [], "a look-alike API group is not Flux's");
  });

  it("tells a refused signature (the critical alert) from a verification that could not run", () => {
    const DIGEST = `sha256:${"ab".repeat(32)}`;
    const cases: Array<[string, string, string, "rejected" | "unverifiable"]> = [
      ["GitRepository", "InvalidCommitSignature", `signature verification of commit '${SHA}' failed: unable to verify`, "rejected"],
      ["GitRepository", "InvalidTagSignature", "signature verification of tag 'v1' failed", "rejected"],
      ["GitRepository", "InvalidGitObject", "tag 'v1' is not signed", "rejected"],
      ["GitRepository", "InvalidVerificationMode", "cannot verify tag object's signature if a tag reference is not specified", "unverifiable"],
      ["GitRepository", "VerificationError", 'PGP public keys secret error: secrets "signers" not found', "unverifiable"],
      // OCI and Helm OCI charts: every failure is VerificationError (FLUX-FACTS 1.3); the cause decides.
      ["OCIRepository", "VerificationError", `failed to verify the signature using provider 'cosign': no matching signatures were found for 'registry:5000/app@${DIGEST}'`, "rejected"],
      ["OCIRepository", "VerificationError", "failed to verify the signature using provider 'cosign keyless': none of the expected identities matched what was in the certificate", "rejected"],
      ["HelmChart", "VerificationError", `failed to verify the signature using provider 'notation': signature verification failed for all the signatures associated with registry:5000/charts/app@${DIGEST}`, "rejected"],
      ["OCIRepository", "VerificationError", 'failed to verify the signature using provider \'cosign\': secrets "cosign-keys" not found', "unverifiable"],
      ["OCIRepository", "VerificationError", "failed to verify the signature using provider 'notation': trust policy is not present", "unverifiable"],
      ["OCIRepository", "VerificationError", "failed to verify the signature using provider 'cosign': Get \"https://registry:5000/v2/\": dial tcp 10.0.0.1:5000: connect: connection refused", "unverifiable"],
    ];
    for (const [kind, reason, message, want] of cases) assert.equal(verificationVerdict(kind, reason, message), want, `${kind} ${reason}: ${message}`);
    // A reference or URL the message quotes does not decide the verdict.
    assert.equal(verificationVerdict("OCIRepository", "VerificationError", "failed to verify the signature using provider 'cosign': no matching signatures were found for 'registry:5000/failed to load keys/app:truststore'"), "rejected");
    const oci = viewObject(
      FLUX_KINDS.find((k) => k.kind === "OCIRepository")!,
      { metadata: { name: "app", namespace: "team-a", uid: "o1" }, status: { conditions: [{ type: "SourceVerified", status: "False", reason: "VerificationError", message: cases[5]![2], lastTransitionTime: "2026-11-29T10:00:00Z" }] } },
      "flux-system",
    )!;
    assert.equal(oci.failures[0]!.labels["verdict"], "rejected");
    assert.ok(oci.failures[0]!.key.includes(DIGEST.slice("sha256:".length)), "named by the refused digest: a second refused artifact is a second failure");
    // The registry could not be asked about this digest, then cosign refused it: two failures,
    // so the refusal is counted even though the same digest failed before.
    const ociAt = (message: string): string =>
      viewObject(FLUX_KINDS.find((k) => k.kind === "OCIRepository")!, { metadata: { name: "app", namespace: "team-a", uid: "o1" }, status: { conditions: [{ type: "SourceVerified", status: "False", reason: "VerificationError", message, lastTransitionTime: "2026-11-29T10:00:00Z" }] } }, "flux-system")!.failures[0]!.key;
    const unreachable = ociAt(`failed to verify the signature using provider 'cosign': Get "https://registry:5000/v2/app/manifests/sha256-${"ab".repeat(32)}.sig": dial tcp 10.0.0.1:5000: i/o timeout`);
    assert.notEqual(unreachable, oci.failures[0]!.key);
    const l = new FailureLedger();
    const at = Date.parse("2026-11-29T10:00:00Z");
    assert.equal(l.record({ signal: "verification", key: unreachable, labels: {}, at }, at), true);
    assert.equal(l.record(oci.failures[0]!, at + 1), true, "the refusal after it counts");
  });

  it("names what was rejected: commit, tag, or a digest of the message", () => {
    assert.equal(verificationSubject(`signature verification of commit '${SHA}' failed`), SHA);
    assert.equal(verificationSubject("signature verification of tag 'v1.2.3' failed"), "v1.2.3");
    assert.match(verificationSubject("PGP public keys secret error: secrets \"x\" not found"), /^msg:[0-9a-f]{16}$/);
  });

  it("reads FetchFailed as one episode per reason and transition", () => {
    const o = (reason: string, ltt: string) => ({
      metadata: { name: "apps", namespace: "flux-system", uid: "u1" },
      status: { conditions: [{ type: "FetchFailed", status: "True", reason, message: "failed to checkout and determine revision: authentication required", lastTransitionTime: ltt }] },
    });
    const a = failures(o("AuthenticationFailed", "2026-11-29T10:00:00Z"));
    assert.equal(a.length, 1);
    assert.equal(a[0]!.signal, "fetch");
    assert.equal(a[0]!.labels["reason"], "AuthenticationFailed");
    assert.equal(failures(o("AuthenticationFailed", "2026-11-29T10:00:00Z"))[0]!.key, a[0]!.key, "same episode, same key");
    assert.notEqual(failures(o("GitOperationFailed", "2026-11-29T10:00:00Z"))[0]!.key, a[0]!.key, "another reason is another failure");
    assert.notEqual(failures(o("AuthenticationFailed", "2026-11-29T11:00:00Z"))[0]!.key, a[0]!.key, "a new episode");
  });

  it("reads RBAC and admission refusals out of kustomize-controller's apply errors", () => {
    const rbac =
      'ClusterRoleBinding/escalate dry-run failed (Forbidden): clusterrolebindings.rbac.authorization.k8s.io "escalate" is forbidden: User "system:serviceaccount:team-a:team-a" cannot get resource "clusterrolebindings" in API group "rbac.authorization.k8s.io" at the cluster scope';
    assert.deepEqual(parseDenials(rbac, "team-a/team-a"), [{ mechanism: "rbac", identity: "team-a/team-a", kind: "ClusterRoleBinding", verb: "get" }]);
    const bare = 'namespaces "x" is forbidden: User "system:serviceaccount:flux-system:default" cannot create resource "namespaces" in API group "" at the cluster scope';
    assert.deepEqual(parseDenials(bare, "?"), [{ mechanism: "rbac", identity: "flux-system/default", kind: "namespaces", verb: "create" }]);
    const vap = "Deployment/team-a/web dry-run failed (Forbidden): deployments.apps \"web\" is forbidden: ValidatingAdmissionPolicy 'tenant-workloads' with binding 'tenant-workloads' denied request: privileged containers are not allowed";
    assert.deepEqual(parseDenials(vap, "team-a/team-a"), [{ mechanism: "admission", identity: "team-a/team-a", kind: "Deployment", verb: "create" }]);
    assert.deepEqual(parseDenials("kustomize build failed: accumulating resources", "x/y"), [], "other failures are not denials");
    const ks = {
      metadata: { name: "team-a", namespace: "team-a", uid: "ks1" },
      spec: { serviceAccountName: "team-a" },
      status: { conditions: [{ type: "Ready", status: "False", reason: "ReconciliationFailed", message: rbac, lastTransitionTime: "2026-11-29T10:00:00Z" }] },
    };
    const v = viewObject(KS, ks, "flux-system")!;
    assert.equal(v.failures.length, 1);
    assert.deepEqual(v.failures[0]!.labels, { identity: "team-a/team-a", kind: "ClusterRoleBinding", verb: "get", mechanism: "rbac" });
    assert.equal(v.ready.status, "False");
    // Flux retries the refused revision every retryInterval (Ready flips through Unknown, so the
    // transition time moves): the same revision is the same denial.
    const retry = (ltt: string, revision: string) =>
      viewObject(KS, { ...ks, status: { lastAttemptedRevision: revision, conditions: [{ ...ks.status.conditions[0], lastTransitionTime: ltt }] } }, "flux-system")!.failures[0]!.key;
    assert.equal(retry("2026-11-29T10:00:00Z", "main@sha1:aaa"), retry("2026-11-29T10:05:00Z", "main@sha1:aaa"));
    assert.notEqual(retry("2026-11-29T10:00:00Z", "main@sha1:aaa"), retry("2026-11-29T10:05:00Z", "main@sha1:bbb"));
  });

  it("never throws on malformed objects", () => {
    for (const bad of [null, 1, "x", [], {}, { metadata: { uid: 3 } }, { metadata: { uid: "u", name: "n" }, status: { conditions: "nope" } }, { metadata: { uid: "u", name: "n" }, status: { conditions: [null, 3, { type: 5 }, { type: "Ready", status: ["x"], lastTransitionTime: {} }] } }]) {
      assert.doesNotThrow(() => viewObject(GIT, bad, "flux-system"));
      assert.doesNotThrow(() => eventFailures(bad));
    }
    assert.equal(viewObject(GIT, {}, "flux-system"), null);
    const v = viewObject(GIT, { metadata: { uid: "u", name: "n" }, status: { conditions: [{ type: "Ready", status: "False", lastTransitionTime: "not a date" }] } }, "flux-system")!;
    assert.equal(v.ready.status, "False");
    assert.ok(Number.isNaN(v.ready.since));
  });
});

describe("monitor ledger: each failure counted once", () => {
  const T0 = Date.parse("2026-11-29T10:00:00Z");

  it("ignores relists, repeated reconciles and the Event of the same rejection", () => {
    const l = new FailureLedger();
    // The first reconcile rejects the commit, the watch delivers it; a relist delivers it again;
    // the next retry moves lastTransitionTime (the condition is rebuilt) but rejects the same commit.
    for (const ltt of ["2026-11-29T10:00:00Z", "2026-11-29T10:00:00Z", "2026-11-29T10:10:00Z"]) for (const f of failures(rejected(SHA, ltt))) l.record(f, T0);
    for (const count of [1, 2, 3]) for (const f of eventFailures(event(SHA, count))) l.record(f, T0);
    assert.equal(value(l, "verification"), 1);
    // Another unsigned commit is another failure.
    for (const f of failures(rejected(SHA2, "2026-11-29T10:20:00Z"))) l.record(f, T0 + 1);
    assert.equal(value(l, "verification"), 2);
    assert.equal(l.counters()[0]!.lastCounted, T0 + 1);
  });

  it("a restart that reloads the persisted ledger neither loses nor re-counts", () => {
    const before = new FailureLedger();
    for (const f of failures(rejected(SHA, "2026-11-29T10:00:00Z"))) before.record(f, T0);
    const persisted = JSON.parse(JSON.stringify(before.snapshot())) as unknown;
    const after = new FailureLedger();
    after.merge(persisted);
    assert.equal(value(after, "verification"), 1, "not lost");
    // The relist after the restart sees the same condition and the Event of the hour.
    for (const f of [...failures(rejected(SHA, "2026-11-29T10:00:00Z")), ...eventFailures(event(SHA, 4))]) assert.equal(after.record(f, T0 + 60_000), false);
    assert.equal(value(after, "verification"), 1, "not re-counted");
    assert.equal(after.counters()[0]!.lastCounted, T0, "the alert's timestamp does not move either");
  });

  it("two replicas that saw the same failures serve the same values, and merge without double counting", () => {
    const a = new FailureLedger();
    const b = new FailureLedger();
    const seen = [...failures(rejected(SHA, "2026-11-29T10:00:00Z")), ...eventFailures(event(SHA, 1))];
    for (const f of seen) a.record(f, T0);
    for (const f of [...seen].reverse()) b.record(f, T0 + 5);
    assert.equal(value(a, "verification"), 1);
    assert.equal(value(b, "verification"), 1);
    // b saw one more (a missed it while reconnecting); a merges b's ledger: union, once each.
    for (const f of failures(rejected(SHA2, "2026-11-29T10:30:00Z"))) b.record(f, T0 + 10);
    a.merge(JSON.parse(JSON.stringify(b.snapshot())));
    b.merge(JSON.parse(JSON.stringify(a.snapshot())));
    assert.equal(value(a, "verification"), 2);
    assert.equal(value(b, "verification"), 2);
    a.merge(JSON.parse(JSON.stringify(b.snapshot())));
    assert.equal(value(a, "verification"), 2, "merging twice changes nothing");
  });

  it("folds old keys into the count; a folded failure is not counted again", () => {
    const l = new FailureLedger(3600_000);
    for (const f of failures(rejected(SHA, "2026-11-29T10:00:00Z"))) l.record(f, T0);
    assert.equal(l.prune(T0 + 2 * 3600_000, new Set()), 1);
    assert.equal(value(l, "verification"), 1, "the count stays");
    assert.equal(l.snapshot().keys && Object.keys(l.snapshot().keys).length, 0);
    for (const f of failures(rejected(SHA, "2026-11-29T10:00:00Z"))) assert.equal(l.record(f, T0 + 2 * 3600_000), false, "older than the horizon");
    assert.equal(value(l, "verification"), 1);
    // A replica that still holds the old key merges the pruned ledger: still 1.
    const other = new FailureLedger(3600_000);
    for (const f of failures(rejected(SHA, "2026-11-29T10:00:00Z"))) other.record(f, T0);
    other.merge(JSON.parse(JSON.stringify(l.snapshot())));
    assert.equal(value(other, "verification"), 1);
  });

  it("holds at most maxKeys keys under a failure storm: the oldest fold, the count stays, nothing counts twice", () => {
    const l = new FailureLedger(24 * 3600_000, 100);
    const storm = (i: number): Failure => ({ signal: "fetch", key: `fetch/uid-${i}/GitOperationFailed/${T0 + i}`, at: T0 + i, labels: { kind: "GitRepository", namespace: "apps", name: `repo-${i % 7}`, reason: "GitOperationFailed" } });
    for (let i = 0; i < 1000; i++) l.record(storm(i), T0 + i);
    const liveKey = storm(3).key; // the cluster still shows this old one: never folded
    l.prune(T0 + 1000, new Set([liveKey]));
    assert.ok(l.heldKeys <= 101, `held ${l.heldKeys}`);
    assert.ok(l.has(liveKey), "a failure the cluster still shows is kept");
    assert.equal(l.counters().reduce((n, c) => n + c.value, 0), 1000, "every failure still counted once");
    for (let i = 0; i < 1000; i++) assert.equal(l.record(storm(i), T0 + 2000), false, `failure ${i} counted twice`);
    const size = Buffer.byteLength(JSON.stringify(l.snapshot()));
    assert.ok(size < 100 * 1024, `snapshot ${size} bytes`);
  });

  it("folds only as many recent keys as the bound needs once the retention has folded the expired ones", () => {
    const l = new FailureLedger(24 * 3600_000, 100);
    const key = (i: number, at: number): Failure => ({ signal: "fetch", key: `fetch/uid-${i}/GitOperationFailed/${at}`, at, labels: { kind: "GitRepository", namespace: "apps", name: "repo", reason: "GitOperationFailed" } });
    const later = T0 + 48 * 3600_000;
    for (let i = 0; i < 50; i++) l.record(key(i, T0 + i), T0 + i);
    for (let i = 50; i < 170; i++) l.record(key(i, later + i), later + i);
    l.prune(later + 200, new Set());
    assert.equal(l.heldKeys, 100, "the 50 expired keys fold by age, then 20 recent ones by the bound");
    assert.equal(l.counters().reduce((n, c) => n + c.value, 0), 170);
  });

  it("drops the series of a deleted object once it holds no key and the horizon passed it", () => {
    const l = new FailureLedger(3600_000);
    for (const f of failures(rejected(SHA, "2026-11-29T10:00:00Z"))) l.record(f, T0);
    l.prune(T0 + 2 * 3600_000, new Set(), () => true);
    assert.equal(l.counters().length, 1, "the object exists: its counter stays");
    l.prune(T0 + 3 * 3600_000, new Set(), () => false);
    assert.equal(l.counters().length, 0, "the object is gone: its series is dropped");
  });

  it("keeps a failure the cluster still shows, however old", () => {
    const l = new FailureLedger(3600_000);
    const f = failures(rejected(SHA, "2026-11-29T10:00:00Z"));
    for (const x of f) l.record(x, T0);
    assert.equal(l.prune(T0 + 5 * 3600_000, new Set(f.map((x) => x.key))), 0);
    for (const x of f) assert.equal(l.record(x, T0 + 5 * 3600_000), false);
    assert.equal(value(l, "verification"), 1);
  });

  it("a follower merging the leader's pruned ledger drops the deleted object's series too, instead of serving it as 0", () => {
    const leader = new FailureLedger(3600_000);
    const follower = new FailureLedger(3600_000);
    for (const f of failures(rejected(SHA, "2026-11-29T10:00:00Z"))) {
      leader.record(f, T0);
      follower.record(f, T0);
    }
    follower.merge(JSON.parse(JSON.stringify(leader.snapshot())));
    leader.prune(T0 + 2 * 3600_000, new Set(), () => false);
    assert.equal(leader.counters().length, 0);
    follower.merge(JSON.parse(JSON.stringify(leader.snapshot())));
    assert.deepEqual(follower.counters(), [], "no series left behind at 0 (a counter reset to Prometheus)");
    // A series the follower still counts (a key the leader has not seen) stays.
    const f2 = failures(rejected(SHA2, "2026-11-29T13:00:00Z"));
    for (const f of f2) follower.record(f, T0 + 3 * 3600_000);
    leader.prune(T0 + 3 * 3600_000 + 1, new Set(), () => false);
    follower.merge(JSON.parse(JSON.stringify(leader.snapshot())));
    assert.equal(value(follower, "verification"), 1);
  });

  it("a failure still shown past the retention survives a restart: not lost, not counted again", () => {
    const l = new FailureLedger(3600_000);
    const f = failures(rejected(SHA, "2026-11-29T10:00:00Z"));
    for (const x of f) l.record(x, T0);
    l.prune(T0 + 5 * 3600_000, new Set(f.map((x) => x.key)));
    const restarted = new FailureLedger(3600_000);
    restarted.merge(JSON.parse(JSON.stringify(l.snapshot())));
    assert.equal(value(restarted, "verification"), 1, "not lost");
    for (const x of f) assert.equal(restarted.record(x, T0 + 6 * 3600_000), false, "not counted again");
    assert.equal(restarted.counters()[0]!.lastCounted, T0, "its alert does not fire again");
  });

  it("not-ready clocks change their own generation, and the clocks of deleted objects are dropped", () => {
    const l = new FailureLedger();
    const g = l.generation;
    l.notReadySince("k1", T0, T0);
    l.notReadySince("k2", T0, T0);
    l.clearNotReady("k1");
    assert.equal(l.generation, g, "a reconcile's Ready flip is not a count change");
    assert.ok(l.clockGeneration > 0);
    const other = new FailureLedger();
    other.notReadySince("gone", T0, T0);
    l.merge(JSON.parse(JSON.stringify(other.snapshot())));
    assert.equal(l.notReadyAt("gone"), T0);
    assert.equal(l.retainNotReady(new Set(["k2"])), 1);
    assert.equal(l.notReadyAt("gone"), null);
    assert.equal(l.notReadyAt("k2"), T0);
  });

  it("keeps the not-ready clock across Unknown flips and restarts, stops it when Ready", () => {
    const l = new FailureLedger();
    assert.equal(l.notReadySince("k1", T0, T0 + 1000), T0);
    assert.equal(l.notReadySince("k1", T0 + 60_000, T0 + 61_000), T0, "Ready=Unknown at the next attempt: the clock keeps running");
    const r = new FailureLedger();
    r.merge(JSON.parse(JSON.stringify(l.snapshot())));
    assert.equal(r.notReadyAt("k1"), T0);
    l.clearNotReady("k1");
    assert.equal(l.notReadyAt("k1"), null);
    assert.equal(l.notReadySince("k1", Number.NaN, T0 + 120_000), T0 + 120_000, "no transition time: from now");
  });

  it("ignores a malformed persisted ledger", () => {
    const l = new FailureLedger();
    for (const bad of [null, 3, "x", { version: 2 }, { version: 1, series: 3, keys: [] }, { version: 1, series: { a: null }, keys: { k: "x" }, notReadySince: { u: "x" } }]) {
      assert.doesNotThrow(() => l.merge(bad));
    }
    assert.equal(l.counters().length, 0);
  });
});

describe("per-object metrics text", () => {
  const T0 = Date.parse("2026-11-29T10:00:00Z");
  const view = (objects: ObjectView[], notReady: Record<string, number>): MonitorView => ({
    now: T0 + 90_000,
    fluxNamespace: "flux-system",
    counters: [],
    objects,
    notReadySince: (uid) => notReady[uid] ?? null,
    keys: [],
    secrets: [],
    posture: null,
    synced: true,
    leader: true,
    watches: [],
    errors: new Map(),
    heldFailures: 7,
  });
  const ok = viewObject(GIT, { metadata: { name: "apps", namespace: "flux-system", uid: "u1" }, status: { conditions: [{ type: "Ready", status: "True", reason: "Succeeded" }] } }, "flux-system")!;
  const hostile = viewObject(
    KS,
    { metadata: { name: 'x"y\\z', namespace: "t\nn", uid: "u2" }, spec: { suspend: true }, status: { conditions: [{ type: "Ready", status: "False", reason: 'Bad"Reason', lastTransitionTime: new Date(T0).toISOString() }] } },
    "flux-system",
  )!;

  it("writes one series per object and family, label values escaped, as promtool reads it", async () => {
    const m = await buildMetrics(() => view([ok, hostile], { u2: T0 }));
    const text = await m.text();
    assert.ok(text.includes('fluxguard_resource_ready{kind="GitRepository",namespace="flux-system",name="apps",reason="Succeeded"} 1\n'));
    assert.ok(text.includes('fluxguard_resource_ready{kind="Kustomization",namespace="t\\nn",name="x\\"y\\\\z",reason="Bad\\"Reason"} 0\n'), "quotes, backslashes and newlines escaped");
    assert.ok(text.includes('fluxguard_resource_not_ready_seconds{kind="Kustomization",namespace="t\\nn",name="x\\"y\\\\z"} 90\n'));
    assert.ok(text.includes('fluxguard_resource_not_ready_seconds{kind="GitRepository",namespace="flux-system",name="apps"} 0\n'));
    assert.equal(text.split("\n").filter((l) => l.startsWith("fluxguard_resource_suspended{")).length, 1, "only the suspended object");
    assert.ok(text.includes("fluxguard_monitor_synced 1\n"), "the registry's families follow");
    let promtool = true;
    try {
      execFileSync("promtool", ["--version"], { stdio: "ignore" });
    } catch {
      promtool = false;
    }
    if (promtool) {
      // check metrics exits 0 for lint-only findings; a malformed exposition fails to parse (exit 3).
      const r = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
      assert.ok(r.status === 0 || !/error while linting|text format parsing error/.test(r.stderr + r.stdout), `promtool: ${r.stderr}${r.stdout}`);
    }
  });

  /**
   * The exposition without the process and Node.js families (their values, and which GC
   * kinds have series, change between two scrapes); the rest must be the same.
   */
  const stable = (t: string): string =>
    t
      .split("\n")
      .filter((l) => !/^(# (HELP|TYPE) )?fluxguard_monitor_(process|nodejs)_/.test(l))
      .join("\n");
  // 6,000 objects with 60-character names: about 1.5 MB of per-object text.
  const many = Array.from({ length: 6000 }, (_, i) =>
    viewObject(
      i % 2 ? KS : GIT,
      { metadata: { name: `tenant-${String(i).padStart(6, "0")}-${"x".repeat(46)}`, namespace: `ns-${i % 40}`, uid: `m${i}` }, spec: { suspend: i % 3 === 0 }, status: { conditions: [{ type: "Ready", status: i % 4 ? "True" : "False", reason: "R" }] } },
      "flux-system",
    )!,
  );

  it("hands a large scrape out in bounded pieces, cut at line ends, each family contiguous", async () => {
    const m = await buildMetrics(() => view(many, { m0: T0 }));
    const pieces: string[] = [];
    for await (const p of m.chunks()) pieces.push(p);
    assert.ok(pieces.length > 20, `${pieces.length} pieces`);
    const longestLine = Math.max(...pieces.join("").split("\n").map((l) => l.length + 1));
    for (const p of pieces) {
      assert.ok(p.length < CHUNK_CHARS + longestLine, `a piece of ${p.length} characters`);
      assert.ok(p.endsWith("\n"), "a piece ends at a line end");
    }
    const text = pieces.join("");
    // The process and Node.js families change between two scrapes; the rest must not.
    assert.ok(stable(text) === stable(await m.text()), "text() is the pieces joined");
    // The text format wants each family's samples in one group, after its HELP and TYPE.
    const seen = new Set<string>();
    let current = "";
    for (const line of text.split("\n")) {
      const name = line.startsWith("# ") ? line.split(" ")[2]! : line.split(/[{ ]/)[0]!;
      if (!name) continue;
      const family = name.replace(/_(bucket|sum|count)$/, "");
      if (family !== current) {
        assert.ok(!seen.has(family), `${family} appears in two groups`);
        seen.add(family);
        current = family;
      }
    }
    assert.equal(text.split("\n").filter((l) => l.startsWith("fluxguard_resource_ready{")).length, 6000);
    assert.equal(text.split("\n").filter((l) => l.startsWith("fluxguard_resource_suspended{")).length, 2000);
    assert.ok(text.includes("fluxguard_monitor_failure_identities 7\n"));
  });

  describe("over HTTP", () => {
    const serve = async (metrics: MonitorMetrics): Promise<{ server: Server; port: number; errors: string[] }> => {
      const errors: string[] = [];
      const server = createServer((req, res) => {
        writeExposition(metrics, req.method === "HEAD", res).catch((e: unknown) => {
          errors.push(String(e));
          if (!res.headersSent) res.writeHead(500).end();
          else res.destroy();
        });
      });
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      return { server, port: (server.address() as AddressInfo).port, errors };
    };

    it("serves the whole exposition, HEAD without a body, and survives a scraper that leaves mid-way", async () => {
      const m = await buildMetrics(() => view(many, {}));
      const { server, port } = await serve(m);
      try {
        const whole = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        assert.ok(stable(whole) === stable(await m.text()), "the served text is the scrape's text");
        const head = await fetch(`http://127.0.0.1:${port}/metrics`, { method: "HEAD" });
        assert.equal(head.status, 200);
        assert.equal(await head.text(), "");
        // A scraper that reads one piece and goes away.
        await new Promise<void>((resolve) => {
          const req = request({ host: "127.0.0.1", port, path: "/metrics" }, (res) => {
            res.once("data", () => {
              req.destroy();
              resolve();
            });
          });
          req.on("error", () => undefined);
          req.end();
        });
        const again = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        assert.ok(stable(again) === stable(whole), "the server still answers in full");
      } finally {
        server.close();
      }
    });

    it("answers 500 when the scrape fails before any output, and cuts the response when it fails after", async () => {
      const failing = (after: number): MonitorMetrics => ({
        contentType: "text/plain",
        registry: undefined as unknown as MonitorMetrics["registry"],
        text: async () => "",
        async *chunks() {
          for (let i = 0; i < after; i++) yield `line_${i} 1\n`.padEnd(CHUNK_CHARS, "#");
          throw new Error("collect failed");
        },
      });
      const early = await serve(failing(0));
      try {
        const r = await fetch(`http://127.0.0.1:${early.port}/metrics`);
        assert.equal(r.status, 500);
        assert.equal(early.errors.length, 1);
      } finally {
        early.server.close();
      }
      const late = await serve(failing(3));
      try {
        // A truncated exposition must not read as a whole one: the body errors.
        await assert.rejects(async () => (await fetch(`http://127.0.0.1:${late.port}/metrics`)).text());
        assert.equal(late.errors.length, 1);
      } finally {
        late.server.close();
      }
    });
  });

  it("escapes only what the text format requires", () => {
    assert.equal(escapeLabelValue("plain-value_1.2"), "plain-value_1.2");
    assert.equal(escapeLabelValue('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
  });
});
