/**
 * A restarted monitor whose first lists arrive before its persisted ledger (the state
 * ConfigMap is slow or briefly unreadable): the failures it sees wait for the ledger, so a
 * failure counted before the restart keeps its count and its "last counted" time, and its
 * alert does not fire again. Against an API server of the test's own (lists, watches that stay
 * open, the Lease and the ConfigMap); the real kube-apiserver runs restarts and failover in
 * src/e2e/monitor.e2e.test.ts.
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { KubeApi } from "../loader/kube-http.js";
import { startTlsApiServer } from "../testing/tls-api-server.js";
import { FailureLedger } from "./ledger.js";
import { Monitor } from "./monitor.js";
import { FLUX_KINDS, viewObject } from "./signals.js";

const GIT = FLUX_KINDS.find((k) => k.kind === "GitRepository")!;
const SHA = "0123456789abcdef0123456789abcdef01234567";
const T0 = Date.parse("2026-11-29T10:00:00Z");
const message = `signature verification of commit '${SHA}' failed: unable to verify Git commit: unsupported signature type: empty`;
const repo = {
  apiVersion: "source.toolkit.fluxcd.io/v1",
  kind: "GitRepository",
  metadata: { name: "apps", namespace: "flux-system", uid: "uid-git-1", resourceVersion: "5" },
  spec: { url: "https://example.invalid/apps.git", verify: { mode: "HEAD", secretRef: { name: "signers" } } },
  status: {
    conditions: [
      { type: "Ready", status: "False", reason: "InvalidCommitSignature", message, lastTransitionTime: "2026-11-29T10:00:00Z" },
      { type: "SourceVerified", status: "False", reason: "InvalidCommitSignature", message, lastTransitionTime: "2026-11-29T10:00:00Z" },
    ],
  },
};

// The ledger as the previous process persisted it: this rejection, counted at T0.
const before = new FailureLedger();
for (const f of viewObject(GIT, repo, "flux-system")!.failures) before.record(f, T0);
const persisted = JSON.stringify(before.snapshot());

let stateDelayMs = 0;
let stateForbidden = false;
let extra: unknown[] = [];
const tls = await startTlsApiServer((req, res) => {
  const u = new URL(req.url ?? "", "https://x");
  const json = (code: number, o: unknown): void => void res.writeHead(code, { "content-type": "application/json" }).end(JSON.stringify(o));
  if (u.pathname.includes("/leases")) {
    if (req.method === "GET") return json(404, { kind: "Status", code: 404, reason: "NotFound" });
    req.resume();
    return json(req.method === "POST" ? 201 : 200, { metadata: { resourceVersion: "1" } });
  }
  if (u.pathname.includes("/configmaps")) {
    if (req.method !== "GET") {
      req.resume();
      return json(200, { metadata: { resourceVersion: "2" } });
    }
    if (stateForbidden) return json(403, { kind: "Status", code: 403, reason: "Forbidden", message: 'configmaps "state" is forbidden' });
    setTimeout(() => json(200, { metadata: { name: "state", resourceVersion: "1" }, data: { "ledger.json": persisted } }), stateDelayMs);
    return;
  }
  if (u.searchParams.get("watch")) {
    // Headers at once, as kube-apiserver sends them; then open: nothing changes.
    res.writeHead(200, { "content-type": "application/json" }).flushHeaders();
    return;
  }
  const items = u.pathname === "/apis/source.toolkit.fluxcd.io/v1/gitrepositories" ? [repo, ...extra] : [];
  json(200, { kind: "List", metadata: { resourceVersion: "10" }, items });
});
const api = new KubeApi(tls.endpoint());
after(() => api.close());

async function restarted(): Promise<Monitor> {
  const m = new Monitor({ api, fluxNamespace: "flux-system", stateNamespace: "fluxguard", leaseName: "m", stateName: "state", identity: "r", postureInterval: 0, keysInterval: 0, warnDays: 14, persistIntervalMs: 100, leaseSeconds: 2, watchList: false, log: () => undefined });
  await m.start();
  const t0 = Date.now();
  while (!m.synced && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 20));
  assert.ok(m.synced, "synced");
  return m;
}

test("failures listed before the persisted ledger arrives wait for it: the count and its time are the ones persisted", async () => {
  stateDelayMs = 500;
  const m = await restarted();
  try {
    const c = m.ledger.counters().filter((x) => x.signal === "verification");
    assert.equal(c.length, 1);
    assert.equal(c[0]!.value, 1, "counted once");
    assert.equal(c[0]!.lastCounted, T0, "not re-stamped: the verification alert does not fire again after a restart");
  } finally {
    await m.stop();
  }
});

test("a failure first seen while the ledger loads is counted once it has loaded, stamped then", async () => {
  stateDelayMs = 300;
  // A second repository whose rejection is not in the persisted ledger: new.
  extra = [{ ...repo, metadata: { ...repo.metadata, uid: "uid-git-2", name: "other" } }];
  const started = Date.now();
  const m = await restarted();
  try {
    const c = m.ledger.counters().filter((x) => x.signal === "verification");
    assert.deepEqual(c.map((x) => [x.labels["name"], x.value]).sort(), [["apps", 1], ["other", 1]]);
    assert.equal(c.find((x) => x.labels["name"] === "apps")!.lastCounted, T0);
    assert.ok(c.find((x) => x.labels["name"] === "other")!.lastCounted >= started, "the new one is stamped when counted");
  } finally {
    await m.stop();
    extra = [];
  }
});

test("a ledger that stays unreadable stops the wait: failures are counted without it, and the monitor is not ready", async () => {
  stateForbidden = true;
  const m = new Monitor({ api, fluxNamespace: "flux-system", stateNamespace: "fluxguard", leaseName: "m", stateName: "state", identity: "r3", postureInterval: 0, keysInterval: 0, warnDays: 14, persistIntervalMs: 100, leaseSeconds: 2, watchList: false, stateWaitMs: 300, log: () => undefined });
  await m.start();
  try {
    const t0 = Date.now();
    while (m.ledger.counters().length === 0 && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 20));
    const c = m.ledger.counters().filter((x) => x.signal === "verification");
    assert.equal(c.length, 1, "counted once the wait is over");
    assert.ok(Date.now() - t0 >= 250, "not before the wait");
    assert.equal(m.synced, false, "not ready without its ledger");
  } finally {
    await m.stop();
    stateForbidden = false;
  }
});
