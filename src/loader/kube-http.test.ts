/**
 * The thin Kubernetes client against a TLS server of its own (certificates from the real
 * openssl) that answers like an API server for the paths under test: paged lists, Status
 * errors, watch streams (including malformed and silent ones), bearer tokens that rotate in
 * their file, and client certificates. The real kube-apiserver is exercised by the e2e suite
 * (cluster audit, monitor, webhook); this covers what a real server will not do on demand.
 */
import { test } from "node:test";
import { spawn, spawnSync } from "node:child_process";
import { connect as netConnect, createServer as createNetServer } from "node:net";
import assert from "node:assert/strict";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startTlsApiServer } from "../testing/tls-api-server.js";
import { collectionPath, KubeApi, KubeApiError } from "./kube-http.js";
import { nodeProxySupport, type KubeEndpoint } from "./kubeconfig.js";
import { connect, loadCluster } from "./cluster.js";
import { UsageError } from "../core/errors.js";
import { defaultConfig } from "../core/config.js";
import { stringify } from "yaml";

const dir = mkdtempSync(join(tmpdir(), "fluxguard-kube-http-"));
const seen: Array<{ path: string; auth: string | undefined; clientCert: boolean }> = [];
let handler: (req: IncomingMessage, res: ServerResponse) => void = () => undefined;
const certs = await startTlsApiServer(
  (req, res) => {
    const sock = req.socket as unknown as { getPeerCertificate(): { fingerprint256?: string } };
    seen.push({ path: req.url ?? "", auth: req.headers.authorization, clientCert: !!sock.getPeerCertificate().fingerprint256 });
    handler(req, res);
  },
  { requestCert: true },
);
const port = certs.port;

function endpoint(extra: Partial<KubeEndpoint> = {}): KubeEndpoint {
  return certs.endpoint({ token: "secret-token", ...extra });
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

/**
 * A real HTTP proxy (tinyproxy, Debian's package; .ci/run installs it) on a free loopback port,
 * logging every CONNECT. `connectPorts` limits the ports it tunnels to (tinyproxy ConnectPort).
 */
async function tinyproxy(connectPorts: number[] = []): Promise<{ url: string; log: () => string; stop: () => void }> {
  const free = createNetServer();
  await new Promise<void>((r) => free.listen(0, "127.0.0.1", r));
  const proxyPort = (free.address() as AddressInfo).port;
  await new Promise<void>((r) => free.close(() => r()));
  const d = mkdtempSync(join(tmpdir(), "fluxguard-tinyproxy-"));
  const logFile = join(d, "tinyproxy.log");
  writeFileSync(logFile, "");
  writeFileSync(join(d, "tinyproxy.conf"), [`Port ${proxyPort}`, "Listen 127.0.0.1", "Timeout 30", `LogFile "${logFile}"`, "LogLevel Connect", "MaxClients 20", "Allow 127.0.0.1", ...connectPorts.map((p) => `ConnectPort ${p}`)].join("\n") + "\n");
  const child = spawn("tinyproxy", ["-d", "-c", join(d, "tinyproxy.conf")], { stdio: "ignore" });
  for (let i = 0; ; i++) {
    const up = await new Promise<boolean>((r) => {
      const s = netConnect(proxyPort, "127.0.0.1", () => {
        s.destroy();
        r(true);
      });
      s.on("error", () => r(false));
    });
    if (up) break;
    if (i > 100 || child.exitCode !== null) throw new Error(`tinyproxy did not start (exit ${child.exitCode})`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url: `http://127.0.0.1:${proxyPort}`, log: () => readFileSync(logFile, "utf8"), stop: () => child.kill() };
}

const haveTinyproxy = spawnSync("tinyproxy", ["-v"], { stdio: "ignore" }).status === 0;
// In CI a missing proxy fails the tests (the tool is installed there); elsewhere they say why they skip.
const proxySkip = !nodeProxySupport() ? `Node.js ${process.versions.node} cannot tunnel through a proxy` : !haveTinyproxy && !process.env["CI"] ? "tinyproxy is not installed (apt-get install tinyproxy)" : false;

test("through an HTTP proxy: one CONNECT to the API server, TLS and the token end to end", { skip: proxySkip }, async () => {
  const proxy = await tinyproxy();
  handler = (_req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ kind: "APIVersions", versions: ["v1"] }));
  };
  seen.length = 0;
  const api = new KubeApi(endpoint(), undefined, proxy.url);
  try {
    assert.equal(api.proxy, proxy.url);
    assert.deepEqual(await api.request("GET", "/api"), { kind: "APIVersions", versions: ["v1"] });
    await api.request("GET", "/api");
    assert.equal(seen.length, 2);
    assert.equal(seen[0]!.auth, "Bearer secret-token", "the API server got the token");
    const log = proxy.log();
    assert.match(log, new RegExp(`CONNECT 127\\.0\\.0\\.1:${port} `), "the proxy tunnelled to the API server");
    assert.doesNotMatch(log, /secret-token|GET \/api/, "the proxy saw only the tunnel, not the request");
  } finally {
    api.close();
    proxy.stop();
  }
});

test("connect(): the kubeconfig's proxy-url is used; HTTPS_PROXY is not for a loopback server; a refused tunnel is a clear error", { skip: proxySkip }, async () => {
  const proxy = await tinyproxy();
  const refusing = await tinyproxy([443]);
  const d = mkdtempSync(join(tmpdir(), "fluxguard-proxy-kc-"));
  const kubeconfig = (proxyUrl?: string): string => {
    const f = join(d, `kc-${Math.random().toString(36).slice(2)}.yaml`);
    const cluster = { server: `https://127.0.0.1:${port}`, "certificate-authority-data": Buffer.from(certs.caPem).toString("base64"), ...(proxyUrl ? { "proxy-url": proxyUrl } : {}) };
    writeFileSync(f, stringify({ apiVersion: "v1", kind: "Config", "current-context": "c", clusters: [{ name: "c", cluster }], users: [{ name: "u", user: { token: "secret-token" } }], contexts: [{ name: "c", context: { cluster: "c", user: "u" } }] }));
    return f;
  };
  handler = (_req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end("{}");
  };
  const config = defaultConfig();
  try {
    // proxy-url wins over the environment, NO_PROXY included (client-go's rest.Config.Proxy).
    const viaKubeconfig = await connect({ config, kubeconfig: kubeconfig(proxy.url), env: { NO_PROXY: "*" } });
    assert.equal(viaKubeconfig.api.proxy, proxy.url);
    await viaKubeconfig.api.request("GET", "/version");
    await viaKubeconfig.close();
    assert.equal(proxy.log().match(/CONNECT 127/g)?.length, 1);
    // The environment's proxy is not used for loopback (Go's ProxyFromEnvironment).
    const loopback = await connect({ config, kubeconfig: kubeconfig(), env: { HTTPS_PROXY: proxy.url } });
    assert.equal(loopback.api.proxy, null);
    await loopback.api.request("GET", "/version");
    await loopback.close();
    assert.equal(proxy.log().match(/CONNECT 127/g)?.length, 1, "no second tunnel");
    // A proxy that refuses to tunnel to the API server's port.
    // With a password in the proxy URL (tinyproxy ignores it): the error does not print it.
    const refused = await connect({ config, kubeconfig: kubeconfig(refusing.url.replace("http://", "http://user:fluxguard-canary-proxy-9f3@")), env: {} });
    await assert.rejects(refused.api.request("GET", "/version"), (e: unknown) => (e as { code?: string }).code === "ERR_PROXY_TUNNEL" && /403/.test(String((e as Error).message)) && !String((e as Error).message).includes("fluxguard-canary"));
    // What `audit --cluster` and the monitor say about it.
    await assert.rejects(loadCluster({ config }, refused), (e: unknown) => e instanceof UsageError && e.message.includes(`the proxy ${refusing.url.replace("http://", "http://***@")} did not open a tunnel`) && /403/.test(e.message) && !e.message.includes("fluxguard-canary"));
    await refused.close();
  } finally {
    proxy.stop();
    refusing.stop();
  }
});

test("connect() on a Node.js that cannot tunnel: HTTPS_PROXY is reported, not silently ignored; proxy-url goes to the library", async () => {
  const d = mkdtempSync(join(tmpdir(), "fluxguard-proxy-old-"));
  const f = join(d, "kc.yaml");
  const cluster = (extra: object) => ({ server: "https://10.20.30.40:6443", "insecure-skip-tls-verify": true, ...extra });
  writeFileSync(
    f,
    stringify({
      apiVersion: "v1",
      kind: "Config",
      "current-context": "plain",
      clusters: [
        { name: "plain", cluster: cluster({}) },
        { name: "proxied", cluster: cluster({ "proxy-url": "http://proxy.corp:3128" }) },
      ],
      users: [{ name: "u", user: { token: "t" } }],
      contexts: [
        { name: "plain", context: { cluster: "plain", user: "u" } },
        { name: "proxied", context: { cluster: "proxied", user: "u" } },
      ],
    }),
  );
  const config = defaultConfig();
  const plain = await connect({ config, kubeconfig: f, env: { HTTPS_PROXY: "http://proxy.corp:3128" }, proxySupport: false });
  assert.equal(plain.api.proxy, null);
  assert.ok(plain.notices.some((n) => n.file === "HTTPS_PROXY" && /cannot tunnel/.test(n.reason) && /10\.20\.30\.40/.test(n.reason)), JSON.stringify(plain.notices));
  await plain.close();
  const bypassed = await connect({ config, kubeconfig: f, env: { HTTPS_PROXY: "http://proxy.corp:3128", NO_PROXY: "10.0.0.0/8" }, proxySupport: false });
  assert.deepEqual(bypassed.notices, [], "NO_PROXY covers the server: nothing to report");
  await bypassed.close();
  const socks = await connect({ config, kubeconfig: f, env: { HTTPS_PROXY: "socks5://proxy.corp:1080" } });
  assert.equal(socks.api.proxy, "socks5://proxy.corp:1080", "a SOCKS proxy from the environment: the library dials it");
  await socks.close();
  await assert.rejects(connect({ config, kubeconfig: f, env: { HTTPS_PROXY: "http://[bad" } }), (e: unknown) => e instanceof UsageError && /HTTPS_PROXY/.test(e.message));
  const proxied = await connect({ config, kubeconfig: f, context: "proxied", env: {}, proxySupport: false });
  assert.equal(proxied.api.proxy, "http://proxy.corp:3128", "the library's client takes the proxy-url, and it is reported");
  assert.deepEqual(proxied.notices, []);
  await proxied.close();
});

test("a user the library serves (exec credentials) tunnels through the proxy-url too", { skip: proxySkip }, async () => {
  const proxy = await tinyproxy();
  const d = mkdtempSync(join(tmpdir(), "fluxguard-proxy-exec-"));
  // The exec plugin is a script of the test's own (the library runs it, as kubectl would).
  const plugin = join(d, "token.mjs");
  writeFileSync(plugin, `console.log(JSON.stringify({ apiVersion: "client.authentication.k8s.io/v1", kind: "ExecCredential", status: { token: "exec-token" } }));\n`);
  const kubeconfig = (extra: object): string => {
    const f = join(d, `kc-${Math.random().toString(36).slice(2)}.yaml`);
    const cluster = { server: `https://127.0.0.1:${port}`, "certificate-authority-data": Buffer.from(certs.caPem).toString("base64"), ...extra };
    const user = { exec: { apiVersion: "client.authentication.k8s.io/v1", command: process.execPath, args: [plugin], interactiveMode: "Never" } };
    writeFileSync(f, stringify({ apiVersion: "v1", kind: "Config", "current-context": "c", clusters: [{ name: "c", cluster }], users: [{ name: "u", user }], contexts: [{ name: "c", context: { cluster: "c", user: "u" } }] }));
    return f;
  };
  handler = (_req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end("{}");
  };
  seen.length = 0;
  try {
    const live = await connect({ config: defaultConfig(), kubeconfig: kubeconfig({ "proxy-url": proxy.url }), env: {} });
    assert.equal(live.api.proxy, proxy.url);
    await live.api.request("GET", "/version");
    await live.close();
    assert.equal(seen.at(-1)?.auth, "Bearer exec-token", "the exec plugin's token reached the API server");
    assert.match(proxy.log(), new RegExp(`CONNECT 127\\.0\\.0\\.1:${port} `), "through the proxy");
  } finally {
    proxy.stop();
  }
});
