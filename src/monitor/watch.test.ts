/**
 * ResourceWatch's initial state: a watch-list when the API server serves one, the list when it
 * refuses (422, the WatchList feature off) or ignores the parameter (a bookmark without
 * `k8s.io/initial-events-end`), and "absent" for a kind whose CRD is not installed. The server
 * here is a TLS server of the test's own, answering like kube-apiserver for these cases; the
 * real kube-apiserver's watch-lists, relists after 410 and restarts run in
 * src/e2e/monitor.e2e.test.ts.
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import type { IncomingMessage, ServerResponse } from "node:http";
import { startTlsApiServer } from "../testing/tls-api-server.js";
import { KubeApi } from "../loader/kube-http.js";
import { ResourceWatch, type ResourceHandler } from "./watch.js";

let handler: (req: IncomingMessage, res: ServerResponse, q: URLSearchParams) => void = () => undefined;
const requests: string[] = [];
const tls = await startTlsApiServer((req, res) => {
  const u = new URL(req.url ?? "", "https://x");
  requests.push(`${u.searchParams.get("watch") ? "watch" : "list"}${u.searchParams.get("sendInitialEvents") ? "+initial" : ""}`);
  handler(req, res, u.searchParams);
});
const api = new KubeApi(tls.endpoint());
after(() => api.close());

const obj = (name: string, rv: string) => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name, uid: `uid-${name}`, resourceVersion: rv } });
const line = (type: string, object: unknown) => `${JSON.stringify({ type, object })}\n`;

function recorder(): { calls: string[]; h: ResourceHandler } {
  const calls: string[] = [];
  const name = (o: unknown) => (o as { metadata: { name: string } }).metadata.name;
  return {
    calls,
    h: {
      begin: () => calls.push("begin"),
      page: (items) => calls.push(`page:${items.map(name).join(",")}`),
      listed: () => calls.push("listed"),
      upsert: (o) => calls.push(`upsert:${name(o)}`),
      remove: (o) => calls.push(`remove:${name(o)}`),
    },
  };
}

async function until(cond: () => boolean, what: string): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > 5000) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const src = { name: "configmaps", path: "/api/v1/configmaps", list: (cont: string | undefined, from: object) => api.list("/api/v1/configmaps", { limit: 500, ...from, ...(cont ? { continue: cont } : {}) }) };

test("watch-list: the initial objects, the end bookmark, then changes on the same connection", async () => {
  requests.length = 0;
  let push: ((s: string) => void) | null = null;
  handler = (_req, res, q) => {
    assert.equal(q.get("resourceVersionMatch"), "NotOlderThan");
    assert.equal(q.get("allowWatchBookmarks"), "true");
    res.writeHead(200, { "content-type": "application/json" });
    res.write(line("ADDED", obj("a", "3")) + line("ADDED", obj("b", "5")));
    res.write(line("BOOKMARK", { kind: "ConfigMap", apiVersion: "v1", metadata: { resourceVersion: "10", annotations: { "k8s.io/initial-events-end": "true" } } }));
    push = (s) => res.write(s);
  };
  const r = recorder();
  const w = new ResourceWatch(api, src, r.h);
  w.start();
  try {
    await until(() => w.synced, "synced");
    assert.equal(w.mode, "watch-list");
    assert.equal(w.status, "watching");
    push!(line("MODIFIED", obj("a", "11")) + line("DELETED", obj("b", "12")));
    await until(() => r.calls.length >= 6, "the changes");
    assert.deepEqual(r.calls, ["begin", "page:a", "page:b", "listed", "upsert:a", "remove:b"]);
    assert.deepEqual(requests, ["watch+initial"], "no list request");
  } finally {
    w.stop();
  }
});

test("a server that refuses watch-lists (422) is listed instead, then watched from the list's version", async () => {
  requests.length = 0;
  const logs: string[] = [];
  handler = (_req, res, q) => {
    if (q.get("sendInitialEvents")) {
      res.writeHead(422, { "content-type": "application/json" }).end(JSON.stringify({ kind: "Status", reason: "Invalid", code: 422, message: "sendInitialEvents: Forbidden: sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled" }));
      return;
    }
    if (q.get("watch")) {
      assert.equal(q.get("resourceVersion"), "42");
      res.writeHead(200).flushHeaders();
      return;
    }
    assert.equal(q.get("resourceVersion"), "0", "the first list is served from the watch cache");
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ kind: "List", metadata: { resourceVersion: "42" }, items: [obj("a", "1")] }));
  };
  const r = recorder();
  const w = new ResourceWatch(api, src, r.h, { log: (m) => logs.push(m) });
  w.start();
  try {
    await until(() => w.synced && w.status === "watching", "synced and watching");
    assert.equal(w.mode, "list");
    assert.deepEqual(r.calls, ["begin", "begin", "page:a", "listed"], "the refused watch-list began and was dropped; the list's objects are handed over");
    assert.deepEqual(requests, ["watch+initial", "list", "watch"]);
    assert.match(logs.join("\n"), /does not serve watch-lists \(422: .*WatchList feature gate/);
  } finally {
    w.stop();
  }
});

test("a server that ignores the parameter (a bookmark without the end annotation) is listed instead; nothing it streamed is kept", async () => {
  requests.length = 0;
  handler = (_req, res, q) => {
    if (q.get("sendInitialEvents")) {
      res.writeHead(200);
      res.write(line("ADDED", obj("stale", "1")) + line("BOOKMARK", { metadata: { resourceVersion: "7" } }));
      return;
    }
    if (q.get("watch")) {
      res.writeHead(200).flushHeaders();
      return;
    }
    res.writeHead(200).end(JSON.stringify({ metadata: { resourceVersion: "8" }, items: [obj("fresh", "8")] }));
  };
  const r = recorder();
  const w = new ResourceWatch(api, src, r.h);
  w.start();
  try {
    await until(() => w.synced, "synced");
    assert.equal(w.mode, "list");
    assert.deepEqual(r.calls, ["begin", "page:stale", "begin", "page:fresh", "listed"], "listed only after the list: the stream's objects were never confirmed");
  } finally {
    w.stop();
  }
});

test("a watch-list that ends before its end bookmark begins again; a kind whose CRD is absent is synced as empty", async () => {
  let n = 0;
  handler = (_req, res, q) => {
    if (!q.get("sendInitialEvents")) {
      // A plain watch (another test's, opened as it stopped): not this test's.
      res.writeHead(200).flushHeaders();
      return;
    }
    n++;
    res.writeHead(200);
    if (n === 1) {
      // Closed before the end bookmark (a reset could drop the line in flight; an end cannot).
      res.end(line("ADDED", obj("half", "1")));
      return;
    }
    res.write(line("ADDED", obj("whole", "2")) + line("BOOKMARK", { metadata: { resourceVersion: "9", annotations: { "k8s.io/initial-events-end": "true" } } }));
  };
  const r = recorder();
  const w = new ResourceWatch(api, src, r.h, { maxBackoffMs: 50 });
  w.start();
  try {
    await until(() => w.synced, "synced");
    assert.deepEqual(r.calls, ["begin", "page:half", "begin", "page:whole", "listed"]);
    assert.equal(w.restarts, 1);
  } finally {
    w.stop();
  }

  handler = (_req, res) => res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ kind: "Status", reason: "NotFound", code: 404 }));
  const r2 = recorder();
  const absent = new ResourceWatch(api, src, r2.h);
  absent.start();
  try {
    await until(() => absent.synced, "synced");
    assert.equal(absent.status, "absent");
    assert.deepEqual(r2.calls, ["begin", "begin", "listed"]);
  } finally {
    absent.stop();
  }
});
