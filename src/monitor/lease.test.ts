/**
 * LeaderElector against an API server of the test's own that keeps one Lease the way
 * kube-apiserver does for these calls (GET, POST, PUT with resourceVersion conflicts): the
 * other holder's clock is skewed either way, it renews or stops renewing, it releases. The
 * real kube-apiserver runs the election in src/e2e/monitor.e2e.test.ts (failover, restarts).
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import { KubeApi } from "../loader/kube-http.js";
import { startTlsApiServer } from "../testing/tls-api-server.js";
import { LeaderElector, microTime } from "./lease.js";

interface LeaseObj {
  metadata: { name: string; namespace: string; resourceVersion: string };
  spec: { holderIdentity?: string; leaseDurationSeconds?: number; renewTime?: string; acquireTime?: string; leaseTransitions?: number };
}
let lease: LeaseObj | null = null;
let rv = 1;
let hang = false;

async function body(req: IncomingMessage): Promise<LeaseObj> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString("utf8")) as LeaseObj;
}

const tls = await startTlsApiServer((req, res) => {
  void (async () => {
    if (hang) return; // never answers
    const json = (code: number, o: unknown): void => void res.writeHead(code, { "content-type": "application/json" }).end(JSON.stringify(o));
    if (req.method === "GET") return lease ? json(200, lease) : json(404, { kind: "Status", code: 404, reason: "NotFound" });
    const b = await body(req);
    if (req.method === "POST") {
      if (lease) return json(409, { kind: "Status", code: 409, reason: "AlreadyExists" });
      lease = { ...b, metadata: { ...b.metadata, resourceVersion: String(++rv) } };
      return json(201, lease);
    }
    if (req.method === "PUT") {
      if (!lease || b.metadata.resourceVersion !== lease.metadata.resourceVersion) return json(409, { kind: "Status", code: 409, reason: "Conflict" });
      lease = { ...b, metadata: { ...b.metadata, resourceVersion: String(++rv) } };
      return json(200, lease);
    }
    json(405, {});
  })();
});
const api = new KubeApi(tls.endpoint());
after(() => api.close());

/** Another replica holding the Lease, renewing with its own (skewed) clock every 100 ms while `renewing`. */
function otherHolder(skewMs: number): { stop: () => void } {
  const renew = (): void => {
    const now = Date.now() + skewMs;
    lease = {
      metadata: { name: "m", namespace: "ns", resourceVersion: String(++rv) },
      spec: { holderIdentity: "other", leaseDurationSeconds: 1, renewTime: microTime(now), acquireTime: microTime(now), leaseTransitions: 3 },
    };
  };
  renew();
  const t = setInterval(renew, 100);
  return { stop: () => clearInterval(t) };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test("a holder whose clock is an hour behind keeps the Lease while it renews; taken over one lease duration after it stops", async () => {
  const other = otherHolder(-3600_000);
  const e = new LeaderElector(api, { namespace: "ns", name: "m", identity: "me", leaseSeconds: 1, retryMs: 50 });
  e.start();
  try {
    await sleep(600);
    assert.equal(e.leader, false, "its renewTime looks an hour old, but the record changes: it is alive");
    other.stop();
    const stopped = Date.now();
    while (!e.leader && Date.now() - stopped < 5000) await sleep(20);
    const took = Date.now() - stopped;
    assert.ok(e.leader, "taken over");
    assert.ok(took >= 900, `not before the lease duration has passed on this clock (${took} ms)`);
    assert.equal(lease!.spec.holderIdentity, "me");
    assert.equal(lease!.spec.leaseTransitions, 4);
  } finally {
    other.stop();
    await e.stop();
  }
});

test("a holder whose clock is an hour ahead is taken over once its record stops changing, not an hour later", async () => {
  lease = null;
  const other = otherHolder(3600_000);
  const e = new LeaderElector(api, { namespace: "ns", name: "m", identity: "me", leaseSeconds: 1, retryMs: 50 });
  e.start();
  try {
    await sleep(300);
    assert.equal(e.leader, false);
    other.stop();
    const stopped = Date.now();
    while (!e.leader && Date.now() - stopped < 5000) await sleep(20);
    assert.ok(e.leader, `taken over after ${Date.now() - stopped} ms`);
  } finally {
    other.stop();
    await e.stop();
  }
});

test("a leader whose renewals hang gives up leading by the renew deadline; a released Lease is taken at once", async () => {
  lease = null;
  const a = new LeaderElector(api, { namespace: "ns", name: "m", identity: "a", leaseSeconds: 1, retryMs: 50 });
  a.start();
  while (!a.leader) await sleep(10);
  hang = true;
  const hungAt = Date.now();
  while (a.leader && Date.now() - hungAt < 5000) await sleep(20);
  const gaveUp = Date.now() - hungAt;
  hang = false;
  assert.equal(a.leader, false, "no longer leading while it cannot renew");
  assert.ok(gaveUp < 2000, `gave up after ${gaveUp} ms (renew deadline 660 ms, plus one request bounded by it)`);
  // It leads again once the API server answers; then it releases on stop and b takes over at once.
  while (!a.leader) await sleep(10);
  const b = new LeaderElector(api, { namespace: "ns", name: "m", identity: "b", leaseSeconds: 30, retryMs: 50 });
  b.start();
  await sleep(200);
  assert.equal(b.leader, false);
  await a.stop();
  const released = Date.now();
  while (!b.leader && Date.now() - released < 3000) await sleep(10);
  assert.ok(b.leader && Date.now() - released < 1000, "a released Lease is taken without waiting for it to expire");
  await b.stop();
});
