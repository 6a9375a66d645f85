/**
 * kubectl's kubeconfig resolution without the client library: file order and merging,
 * contexts, relative paths, credentials, and clear errors for what cannot be used.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { stringify } from "yaml";
import { UsageError } from "../core/errors.js";
import { environmentProxy, inClusterEndpoint, kubeconfigFiles, nodeProxySupport, parseProxyUrl, proxyForDisplay, resolveEndpoint } from "./kubeconfig.js";

function config(current: string | undefined, clusters: Record<string, object>, users: Record<string, object>, contexts: Record<string, { cluster: string; user: string }>): string {
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    ...(current ? { "current-context": current } : {}),
    clusters: Object.entries(clusters).map(([name, cluster]) => ({ name, cluster })),
    users: Object.entries(users).map(([name, user]) => ({ name, user })),
    contexts: Object.entries(contexts).map(([name, context]) => ({ name, context })),
  });
}

const dir = mkdtempSync(join(tmpdir(), "fluxguard-kubeconfig-"));
const PEM = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";

test("a token user with inline CA data; --context picks another context", () => {
  const f = join(dir, "a.yaml");
  writeFileSync(
    f,
    config(
      "one",
      { c1: { server: "https://one.example:6443/", "certificate-authority-data": Buffer.from(PEM).toString("base64") }, c2: { server: "https://two.example", "insecure-skip-tls-verify": true } },
      { u1: { token: "t-one" }, u2: { username: "admin", password: "pw" } },
      { one: { cluster: "c1", user: "u1" }, two: { cluster: "c2", user: "u2" } },
    ),
  );
  const one = resolveEndpoint({ kubeconfig: f, env: {} });
  assert.equal(one.context, "one");
  assert.equal(one.server, "https://one.example:6443", "a trailing slash is dropped");
  assert.equal(one.ca?.toString(), PEM);
  assert.equal(one.token, "t-one");
  assert.equal(one.verifyTls, true);
  const two = resolveEndpoint({ kubeconfig: f, context: "two", env: {} });
  assert.equal(two.verifyTls, false);
  assert.deepEqual(two.basic, { username: "admin", password: "pw" });
  assert.throws(() => resolveEndpoint({ kubeconfig: f, context: "three", env: {} }), (e: unknown) => e instanceof UsageError && /no context 'three'/.test(e.message) && /one, two/.test(e.hint ?? ""));
});

test("$KUBECONFIG: merged in order, the first definition of a name and the first current-context win; relative paths follow their file", () => {
  const sub = join(dir, "sub");
  mkdirSync(sub, { recursive: true });
  writeFileSync(join(sub, "ca.crt"), PEM);
  writeFileSync(join(sub, "token"), "from-file\n");
  const first = join(dir, "first.yaml");
  const second = join(sub, "second.yaml");
  writeFileSync(first, config(undefined, { shared: { server: "https://first.example" } }, {}, {}));
  writeFileSync(second, config("ctx", { shared: { server: "https://second.example" }, other: { server: "https://other.example", "certificate-authority": "ca.crt" } }, { u: { tokenFile: "token" } }, { ctx: { cluster: "shared", user: "u" }, o: { cluster: "other", user: "u" } }));
  const env = { KUBECONFIG: [first, join(dir, "missing.yaml"), second].join(delimiter) };
  assert.deepEqual(kubeconfigFiles({ env }), [first, join(dir, "missing.yaml"), second]);
  const e = resolveEndpoint({ env });
  assert.equal(e.context, "ctx", "current-context from the second file: the first sets none");
  assert.equal(e.server, "https://first.example", "the first file's cluster 'shared' wins");
  assert.equal(e.tokenFile, join(sub, "token"), "relative to second.yaml's directory");
  assert.equal(resolveEndpoint({ env, context: "o" }).ca?.toString(), PEM);
  // A missing first file is skipped too (client-go skips every missing $KUBECONFIG file).
  const missingFirst = { KUBECONFIG: [join(dir, "missing.yaml"), second].join(delimiter) };
  assert.equal(resolveEndpoint({ env: missingFirst }).server, "https://second.example");
  assert.throws(() => resolveEndpoint({ env: { KUBECONFIG: join(dir, "missing.yaml") } }), (x: unknown) => x instanceof UsageError && /no file of \$KUBECONFIG exists/.test(x.message));
  assert.throws(() => resolveEndpoint({ env: {}, kubeconfig: join(dir, "missing.yaml") }), (x: unknown) => x instanceof UsageError && /cannot read kubeconfig/.test(x.message), "an explicit --kubeconfig must exist");
});

test("client certificates from files; a token wins over a tokenFile; tls-server-name", () => {
  writeFileSync(join(dir, "c.crt"), "CERT");
  writeFileSync(join(dir, "c.key"), "KEY");
  const f = join(dir, "certs.yaml");
  writeFileSync(f, config("x", { c: { server: "https://10.0.0.1", "tls-server-name": "api.internal" } }, { u: { "client-certificate": "c.crt", "client-key": "c.key", token: "t", tokenFile: "/nope" } }, { x: { cluster: "c", user: "u" } }));
  const e = resolveEndpoint({ kubeconfig: f, env: {} });
  assert.equal(e.cert?.toString(), "CERT");
  assert.equal(e.key?.toString(), "KEY");
  assert.equal(e.token, "t");
  assert.equal(e.tokenFile, undefined);
  assert.equal(e.tlsServerName, "api.internal");
});

test("exec and auth-provider users, SOCKS proxies and proxies Node.js cannot tunnel through are handed to the library", () => {
  const f = join(dir, "exec.yaml");
  writeFileSync(
    f,
    config(
      "x",
      { c: { server: "https://x.example" }, p: { server: "https://p.example", "proxy-url": "http://proxy:3128" }, s: { server: "https://s.example", "proxy-url": "socks5://proxy:1080" } },
      { u: { exec: { apiVersion: "client.authentication.k8s.io/v1", command: "get-token" } }, t: { token: "t" } },
      { x: { cluster: "c", user: "u" }, p: { cluster: "p", user: "t" }, s: { cluster: "s", user: "t" } },
    ),
  );
  const exec = resolveEndpoint({ kubeconfig: f, env: {} });
  assert.deepEqual(exec.needsLibrary, { reason: "exec" });
  assert.equal(exec.context, "x", "the context the library loads");
  const native = resolveEndpoint({ kubeconfig: f, context: "p", env: {}, proxySupport: true });
  assert.equal(native.proxy, "http://proxy:3128", "an HTTP proxy-url: Node.js tunnels through it");
  assert.equal(native.needsLibrary, undefined);
  assert.equal(native.token, "t", "the user's credentials are resolved natively too");
  const old = resolveEndpoint({ kubeconfig: f, context: "p", env: {}, proxySupport: false });
  assert.equal(old.needsLibrary?.reason, "proxy-url", "Node 20: the library");
  assert.equal(old.proxy, "http://proxy:3128", "the proxy is still reported");
  const socks = resolveEndpoint({ kubeconfig: f, context: "s", env: {}, proxySupport: true });
  assert.equal(socks.needsLibrary?.reason, "proxy-url", "SOCKS: the library");
  assert.equal(socks.proxy, "socks5://proxy:1080");
});

test("proxy URLs as Go reads them: http:// assumed, only the schemes a client dials", () => {
  assert.equal(parseProxyUrl("proxy.corp:3128", "HTTPS_PROXY"), "http://proxy.corp:3128");
  assert.equal(parseProxyUrl("http://proxy.corp:3128", "HTTPS_PROXY"), "http://proxy.corp:3128");
  assert.equal(parseProxyUrl("socks5h://proxy.corp:1080", "HTTPS_PROXY"), "socks5h://proxy.corp:1080");
  assert.throws(() => parseProxyUrl("ftp://proxy.corp", "HTTPS_PROXY"), (e: unknown) => e instanceof UsageError && /scheme ftp/.test(e.message));
  assert.throws(() => parseProxyUrl("http://proxy:port", "the proxy-url of cluster 'c'"), (e: unknown) => e instanceof UsageError && /cluster 'c'/.test(e.message));
  const f = join(dir, "badproxy.yaml");
  writeFileSync(f, config("c", { c: { server: "https://x.example", "proxy-url": "http://[bad" } }, { u: { token: "t" } }, { c: { cluster: "c", user: "u" } }));
  assert.throws(() => resolveEndpoint({ kubeconfig: f, env: {} }), (e: unknown) => e instanceof UsageError && /proxy-url of cluster 'c'/.test(e.message), "a bad proxy-url is a clear error, not a crash");
});

test("a proxy's password is never printed: errors and logs show the URL without its user information", () => {
  const CANARY = "fluxguard-canary-proxy-9f3";
  assert.equal(proxyForDisplay(`http://user:${CANARY}@proxy.corp:3128`), "http://***@proxy.corp:3128");
  assert.equal(proxyForDisplay(`user:${CANARY}@proxy.corp:3128`), "***@proxy.corp:3128");
  assert.equal(proxyForDisplay("http://proxy.corp:3128/x@y"), "http://proxy.corp:3128/x@y", "an @ after the host is not user information");
  for (const bad of [`ftp://u:${CANARY}@proxy.corp`, `http://u:${CANARY}@[bad`]) {
    assert.throws(
      () => parseProxyUrl(bad, "HTTPS_PROXY"),
      (e: unknown) => e instanceof UsageError && !e.message.includes(CANARY) && !(e.hint ?? "").includes(CANARY),
    );
  }
});

test("Node.js versions that tunnel through a proxy themselves", () => {
  assert.equal(nodeProxySupport("20.20.2"), false);
  assert.equal(nodeProxySupport("22.20.0"), false);
  assert.equal(nodeProxySupport("22.21.0"), true);
  assert.equal(nodeProxySupport("24.4.1"), false);
  assert.equal(nodeProxySupport("24.5.0"), true);
  assert.equal(nodeProxySupport("26.0.0"), true);
});

test("the environment's proxy for an API server, as Go's ProxyFromEnvironment decides it", () => {
  const P = "http://proxy.corp:3128";
  const at = (server: string, env: Record<string, string>): string | null => environmentProxy(server, env);
  assert.equal(at("https://api.example.com:6443", {}), null, "no proxy set");
  assert.equal(at("https://api.example.com:6443", { HTTPS_PROXY: P }), P);
  assert.equal(at("https://api.example.com:6443", { HTTPS_PROXY: P, https_proxy: "http://lower:1" }), P, "upper case first, as Go's getEnvAny");
  assert.equal(at("https://api.example.com:6443", { https_proxy: P }), P);
  assert.equal(at("https://api.example.com:6443", { HTTPS_PROXY: "proxy.corp:3128" }), "http://proxy.corp:3128", "no scheme: http");
  assert.equal(at("https://api.example.com:6443", { HTTP_PROXY: P }), null, "HTTP_PROXY is for http URLs");
  for (const loop of ["https://localhost:6443", "https://127.0.0.1:6443", "https://127.8.9.1", "https://[::1]:6443"]) assert.equal(at(loop, { HTTPS_PROXY: P }), null, `${loop}: loopback`);
  const bypassed: Array<[string, string]> = [
    ["https://api.example.com:6443", "*"],
    ["https://api.example.com:6443", "example.com"],
    ["https://example.com", "example.com"],
    ["https://api.example.com:6443", ".example.com"],
    ["https://api.example.com:6443", "*.example.com"],
    ["https://api.example.com:6443", "other.org, api.example.com:6443"],
    ["https://10.1.2.3:6443", "10.0.0.0/8"],
    ["https://10.1.2.3:6443", "10.1.2.3"],
    ["https://[fd00::5]:6443", "fd00::/8"],
    ["https://[fd00::5]:6443", "fd00::5"],
    ["https://API.Example.COM", "api.example.com"],
  ];
  for (const [server, no] of bypassed) assert.equal(at(server, { HTTPS_PROXY: P, NO_PROXY: no }), null, `${server} with NO_PROXY=${no}`);
  const proxied: Array<[string, string]> = [
    ["https://example.com", ".example.com"],
    ["https://example.com", "*.example.com"],
    ["https://notexample.com", "example.com"],
    ["https://api.example.com:6443", "api.example.com:443"],
    ["https://11.1.2.3:6443", "10.0.0.0/8"],
    ["https://10.1.2.3:6443", "10.0.0.0/99"],
    ["https://api.example.com", "10.0.0.0/8"],
  ];
  for (const [server, no] of proxied) assert.equal(at(server, { HTTPS_PROXY: P, NO_PROXY: no }), P, `${server} with NO_PROXY=${no}`);
  assert.equal(at("https://[fd00::5]:6443", { HTTPS_PROXY: P, NO_PROXY: "fd00:0:0:0:0:0:0:5" }), null, "IPv6 compared as addresses");
  assert.equal(at("https://[::ffff:127.0.0.1]:6443", { HTTPS_PROXY: P }), null, "IPv4-mapped loopback");
  assert.equal(at("https://api.bücher.example", { HTTPS_PROXY: P, NO_PROXY: "bücher.example" }), null, "names compared in punycode");
  assert.equal(at("https://api.example.com", { HTTPS_PROXY: "socks5://proxy:1080" }), "socks5://proxy:1080");
  assert.throws(() => at("https://api.example.com", { HTTPS_PROXY: "http://[bad" }), (e: unknown) => e instanceof UsageError && /HTTPS_PROXY 'http:\/\/\[bad' is not a proxy URL/.test(e.message));
  assert.equal(at("https://127.0.0.1", { HTTPS_PROXY: "http://[bad" }), null, "not read for a server it does not apply to");
  assert.equal(at("https://api.example.com", { HTTPS_PROXY: P, NO_PROXY: "example.com", no_proxy: "other" }), null, "NO_PROXY before no_proxy");
  assert.equal(at("https://api.example.com", { HTTPS_PROXY: P, NO_PROXY: "other", no_proxy: "example.com" }), P, "no_proxy is not read when NO_PROXY is set");
});

test("clear errors: no context, plain HTTP, malformed YAML, an unreadable certificate file", () => {
  const none = (e: unknown) => e instanceof UsageError && /no Kubernetes context is set/.test(e.message);
  assert.throws(() => resolveEndpoint({ env: {} }), none);
  assert.throws(() => resolveEndpoint({ env: { HOME: join(dir, "nohome") } }), none);
  const empty = join(dir, "empty.yaml");
  writeFileSync(empty, "");
  assert.throws(() => resolveEndpoint({ kubeconfig: empty, env: {} }), none);
  const plain = join(dir, "plain.yaml");
  writeFileSync(plain, config("x", { c: { server: "http://insecure.example:8080" } }, { u: { token: "t" } }, { x: { cluster: "c", user: "u" } }));
  assert.throws(() => resolveEndpoint({ kubeconfig: plain, env: {} }), (e: unknown) => e instanceof UsageError && /plain HTTP/.test(e.message));
  const bad = join(dir, "bad.yaml");
  writeFileSync(bad, "clusters: [\n");
  assert.throws(() => resolveEndpoint({ kubeconfig: bad, env: {} }), (e: unknown) => e instanceof UsageError && /cannot read kubeconfig .*bad\.yaml/.test(e.message));
  assert.throws(() => resolveEndpoint({ kubeconfig: join(dir, "absent.yaml"), env: {} }), (e: unknown) => e instanceof UsageError && /cannot read kubeconfig/.test(e.message));
  const scalar = join(dir, "scalar.yaml");
  writeFileSync(scalar, "just a string\n");
  assert.throws(() => resolveEndpoint({ kubeconfig: scalar, env: {} }), (e: unknown) => e instanceof UsageError && /not a mapping/.test(e.message));
  const missingCa = join(dir, "missing-ca.yaml");
  writeFileSync(missingCa, config("x", { c: { server: "https://x.example", "certificate-authority": "nope.crt" } }, { u: { token: "t" } }, { x: { cluster: "c", user: "u" } }));
  assert.throws(() => resolveEndpoint({ kubeconfig: missingCa, env: {} }), (e: unknown) => e instanceof UsageError && /certificate-authority .*nope\.crt.*ENOENT/.test(e.message));
});

test("in-cluster: the service-account token file and CA, IPv6 hosts bracketed; used only without kubeconfig files", () => {
  const sa = join(dir, "sa");
  mkdirSync(sa, { recursive: true });
  writeFileSync(join(sa, "token"), "sa-token");
  writeFileSync(join(sa, "ca.crt"), PEM);
  const e = inClusterEndpoint({ KUBERNETES_SERVICE_HOST: "fd00::1", KUBERNETES_SERVICE_PORT: "443" }, sa);
  assert.equal(e.server, "https://[fd00::1]:443");
  assert.equal(e.tokenFile, join(sa, "token"));
  assert.equal(e.ca?.toString(), PEM);
  assert.equal(resolveEndpoint({ env: { KUBERNETES_SERVICE_HOST: "10.96.0.1" }, inCluster: true, inClusterDir: sa }).server, "https://10.96.0.1:443");
  assert.throws(() => inClusterEndpoint({}, sa), (x: unknown) => x instanceof UsageError && /KUBERNETES_SERVICE_HOST/.test(x.message));
  assert.throws(() => inClusterEndpoint({ KUBERNETES_SERVICE_HOST: "h" }, join(dir, "no-sa")), (x: unknown) => x instanceof UsageError && /no service-account token/.test(x.message));
});
