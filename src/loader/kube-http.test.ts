/**
 * The thin Kubernetes client against a TLS server of its own (certificates from the real
 * openssl) that answers like an API server for the paths under test: paged lists, Status
 * errors, watch streams (including malformed and silent ones), bearer tokens that rotate in
 * their file, and client certificates. The real kube-apiserver is exercised by the e2e suite
 * (cluster audit, monitor, webhook); this covers what a real server will not do on demand.
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bootstrapCertificates } from "../webhook/certs.js";
import { collectionPath, KubeApi, KubeApiError } from "./kube-http.js";
import type { KubeEndpoint } from "./kubeconfig.js";

const dir = mkdtempSync(join(tmpdir(), "fluxguard-kube-http-"));
const certs = bootstrapCertificates({ dir, hosts: ["127.0.0.1", "localhost"] });
const seen: Array<{ path: string; auth: string | undefined; clientCert: boolean }> = [];
let handler: (req: IncomingMessage, res: ServerResponse) => void = () => undefined;
const server: Server = createServer({ cert: readFileSync(certs.certFile), key: readFileSync(certs.keyFile), ca: certs.caPem, requestCert: true, rejectUnauthorized: false }, (req, res) => {
  const sock = req.socket as unknown as { getPeerCertificate(): { fingerprint256?: string } };
  seen.push({ path: req.url ?? "", auth: req.headers.authorization, clientCert: !!sock.getPeerCertificate().fingerprint256 });
  handler(req, res);
});
await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
const port = (server.address() as AddressInfo).port;
after(() => server.close());

function endpoint(extra: Partial<KubeEndpoint> = {}): KubeEndpoint {
  return { context: "test", server: `https://127.0.0.1:${port}`, ca: Buffer.from(certs.caPem), verifyTls: true, token: "secret-token", ...extra };
}

test("collection paths for core and grouped kinds, namespaced or not", () => {
  assert.equal(collectionPath("v1", "secrets", "flux-system"), "/api/v1/namespaces/flux-system/secrets");
  assert.equal(collectionPath("source.toolkit.fluxcd.io/v1", "gitrepositories"), "/apis/source.toolkit.fluxcd.io/v1/gitrepositories");
});

test("listAll follows continue tokens; the bearer token and selectors are sent", async () => {
  seen.length = 0;
  handler = (req, res) => {
    const u = new URL(req.url ?? "", "https://x");
    const page = u.searchParams.get("continue") ? 2 : 1;
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ kind: "List", metadata: { resourceVersion: "7", ...(page === 1 ? { continue: "tok" } : {}) }, items: [{ metadata: { name: `item-${page}` } }] }));
  };
  const api = new KubeApi(endpoint());
  try {
    const items = await api.listAll("/api/v1/pods", { labelSelector: "app=x" });
    assert.deepEqual(items, [{ metadata: { name: "item-1" } }, { metadata: { name: "item-2" } }]);
    assert.equal(seen.length, 2);
    assert.equal(seen[0]!.auth, "Bearer secret-token");
    assert.match(seen[0]!.path, /labelSelector=app%3Dx/);
    assert.match(seen[1]!.path, /continue=tok/);
  } finally {
    api.close();
  }
});

test("a Status error becomes a KubeApiError with the code and reason; a non-JSON body is a clear error", async () => {
  handler = (req, res) => {
    if (req.url?.startsWith("/forbidden")) {
      res.writeHead(403, { "content-type": "application/json" });
      res.end(JSON.stringify({ kind: "Status", status: "Failure", reason: "Forbidden", message: 'secrets "x" is forbidden', code: 403 }));
      return;
    }
    res.writeHead(200);
    res.end("<html>proxy error</html>");
  };
  const api = new KubeApi(endpoint());
  try {
    await assert.rejects(api.request("GET", "/forbidden"), (e: unknown) => e instanceof KubeApiError && e.code === 403 && e.reason === "Forbidden" && /is forbidden/.test(e.message));
    await assert.rejects(api.request("GET", "/html"), /is not JSON/);
  } finally {
    api.close();
  }
});

test("an untrusted server certificate is refused (no CA); insecure-skip-tls-verify accepts it", async () => {
  handler = (_req, res) => res.writeHead(200).end("{}");
  const strict = new KubeApi(endpoint({ ca: undefined }));
  const loose = new KubeApi(endpoint({ ca: undefined, verifyTls: false }));
  try {
    await assert.rejects(strict.request("GET", "/x"), (e: unknown) => typeof (e as { code?: unknown }).code === "string" && /CERT|SELF_SIGNED/.test(String((e as { code: string }).code)));
    assert.deepEqual(await loose.request("GET", "/x"), {});
  } finally {
    strict.close();
    loose.close();
  }
});

test("a client certificate is presented; a token file is re-read after a minute, not per request", async () => {
  seen.length = 0;
  handler = (_req, res) => res.writeHead(200).end("{}");
  const tokenFile = join(dir, "token");
  writeFileSync(tokenFile, "first\n");
  const api = new KubeApi(endpoint({ token: undefined, tokenFile, cert: readFileSync(certs.certFile), key: readFileSync(certs.keyFile) }));
  try {
    await api.request("GET", "/a");
    writeFileSync(tokenFile, "second\n");
    await api.request("GET", "/b");
    assert.equal(seen[0]!.clientCert, true);
    assert.equal(seen[0]!.auth, "Bearer first");
    assert.equal(seen[1]!.auth, "Bearer first", "cached within the minute");
    (api as unknown as { token: { read: number } }).token.read -= 61_000;
    await api.request("GET", "/c");
    assert.equal(seen[2]!.auth, "Bearer second", "rotated token picked up");
  } finally {
    api.close();
  }
});

test("watch: events in order across chunk boundaries, then a clean end", async () => {
  handler = (req, res) => {
    assert.match(req.url ?? "", /watch=1/);
    res.writeHead(200, { "content-type": "application/json" });
    const a = JSON.stringify({ type: "ADDED", object: { metadata: { name: "a", resourceVersion: "1" } } });
    const b = JSON.stringify({ type: "MODIFIED", object: { metadata: { name: "a", resourceVersion: "2" } } });
    res.write(`${a}\n${b.slice(0, 10)}`);
    setTimeout(() => res.end(`${b.slice(10)}\n`), 20);
  };
  const api = new KubeApi(endpoint());
  try {
    const events: string[] = [];
    const ended = await new Promise<Error | null>((resolve) => {
      void api.watch("/api/v1/configmaps", { resourceVersion: "0" }, (type, o) => events.push(`${type}:${(o as { metadata: { resourceVersion: string } }).metadata.resourceVersion}`), resolve);
    });
    assert.equal(ended, null);
    assert.deepEqual(events, ["ADDED:1", "MODIFIED:2"]);
  } finally {
    api.close();
  }
});

test("watch: a refused watch, a line that is not JSON, and a silent server each end it with an error", async () => {
  const api = new KubeApi(endpoint());
  try {
    handler = (_req, res) => res.writeHead(410, { "content-type": "application/json" }).end(JSON.stringify({ kind: "Status", reason: "Expired", message: "too old resource version", code: 410 }));
    const gone = await new Promise<Error | null>((resolve) => void api.watch("/w", {}, () => undefined, resolve));
    assert.ok(gone instanceof KubeApiError && gone.code === 410 && gone.reason === "Expired");

    handler = (_req, res) => {
      res.writeHead(200);
      res.write("{not json\n");
    };
    const events: string[] = [];
    const bad = await new Promise<Error | null>((resolve) => void api.watch("/w", {}, (t) => events.push(t), resolve));
    assert.match(String(bad?.message), /not JSON/);
    assert.deepEqual(events, []);

    handler = (_req, res) => {
      res.writeHead(200);
      res.write("\n");
    };
    const idle = await new Promise<Error | null>((resolve) => void api.watch("/w", {}, () => undefined, resolve, 200));
    assert.match(String(idle?.message), /nothing from .* for 0\.2 s \(GET \/w\)/);
  } finally {
    api.close();
  }
});

test("watch: abort() ends it without an error, and no event is delivered after it", async () => {
  let push: ((line: string) => void) | null = null;
  handler = (_req, res) => {
    res.writeHead(200);
    res.flushHeaders();
    push = (line) => res.write(`${line}\n`);
  };
  const api = new KubeApi(endpoint());
  try {
    const events: string[] = [];
    let result: Error | null | undefined;
    const handle = await api.watch("/w", {}, (t) => events.push(t), (e) => (result = e));
    await new Promise((r) => setTimeout(r, 50));
    push!(JSON.stringify({ type: "ADDED", object: {} }));
    await new Promise((r) => setTimeout(r, 50));
    handle.abort();
    assert.equal(result, null);
    assert.deepEqual(events, ["ADDED"]);
  } finally {
    api.close();
  }
});

test("a server that is not listening: the network error's code reaches the caller", async () => {
  const api = new KubeApi(endpoint({ server: "https://127.0.0.1:9" }));
  try {
    await assert.rejects(api.request("GET", "/x"), (e: unknown) => (e as { code?: string }).code === "ECONNREFUSED");
  } finally {
    api.close();
  }
});
