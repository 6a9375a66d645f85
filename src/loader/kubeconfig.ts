/**
 * Resolves where and as whom to talk to a Kubernetes API server, kubectl's way, without
 * loading @kubernetes/client-node: that library loads its ~1,000 generated API models with
 * its KubeConfig class (about 90 MB of resident memory and 0.5 s of CPU, measured by
 * `npm run bench -- monitor`), which the long-running monitor cannot afford.
 *
 * What is resolved natively: in-cluster service-account credentials (the token file is
 * re-read, as client-go does, so bound tokens rotate), and kubeconfig files with a server,
 * a CA (file or data) or `insecure-skip-tls-verify`, `tls-server-name`, and a user with a
 * token, a `tokenFile`, a client certificate and key (file or data) or basic auth, and an
 * HTTP(S) `proxy-url` on a Node.js with built-in proxy support (`nodeProxySupport`). A user
 * that needs code to run for credentials (`exec`, `auth-provider`), a SOCKS `proxy-url`, or
 * a `proxy-url` on an older Node.js is handed to the library instead (`needsLibrary`).
 *
 * Proxies follow client-go (rest.Config.Proxy, transport.go): the cluster's `proxy-url` is
 * used for every request, NO_PROXY notwithstanding; without it, HTTPS_PROXY/https_proxy and
 * NO_PROXY/no_proxy from the environment apply (net/http ProxyFromEnvironment), in a Pod too,
 * and for users the library serves as well.
 *
 * Follows kubectl (k8s.io/client-go/tools/clientcmd loader.go): `--kubeconfig`, else every
 * file in $KUBECONFIG merged with the first definition of a name winning and
 * `current-context` taken from the first file that sets it, else ~/.kube/config; relative
 * paths in a file are relative to that file's directory.
 */
import { existsSync, readFileSync } from "node:fs";
import { BlockList, isIP } from "node:net";
import { delimiter, dirname, isAbsolute, join, resolve } from "node:path";
import { parse } from "yaml";
import { UsageError } from "../core/errors.js";

/** The service-account mount of a Pod (client-go rest.InClusterConfig). */
export const IN_CLUSTER_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/** A resolved connection: TLS material and how to authenticate. Buffers hold PEM. */
export interface KubeEndpoint {
  /** The kubeconfig context, or "in-cluster". */
  context: string;
  /** `https://host:port` (a path prefix, as behind a proxy, is kept). */
  server: string;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  /** false with `insecure-skip-tls-verify: true`. */
  verifyTls: boolean;
  /** SNI and the name checked in the certificate, when it differs from the server's host. */
  tlsServerName?: string;
  token?: string;
  /** Read on first use and again when older than a minute. */
  tokenFile?: string;
  basic?: { username: string; password: string };
  /**
   * The cluster's `proxy-url`; every request goes through it. Tunnelled by Node.js itself
   * when it is http(s) and `nodeProxySupport()`, else by the library (`needsLibrary`).
   */
  proxy?: string;
  /**
   * The user needs @kubernetes/client-node to authenticate (`exec`, `auth-provider`) or the
   * cluster a proxy; the caller loads the same files and context into the library's KubeConfig.
   */
  needsLibrary?: { reason: string };
}

export interface KubeconfigOptions {
  /** `--kubeconfig`: the only file read. */
  kubeconfig?: string;
  /** `--context`. */
  context?: string;
  /** The environment to read KUBECONFIG, HOME and KUBERNETES_SERVICE_* from. */
  env: Record<string, string | undefined>;
  /** Use the Pod's service account when neither a file nor $KUBECONFIG is given (default false). */
  inCluster?: boolean;
  /** The service-account directory (tests). */
  inClusterDir?: string;
  /** Whether Node.js can tunnel through a proxy itself (default: `nodeProxySupport()`; tests). */
  proxySupport?: boolean;
}

/**
 * Whether this Node.js tunnels HTTPS through an HTTP(S) proxy given to an Agent as
 * `proxyEnv` (added in Node.js 24.5.0 and 22.21.0). Node 20 cannot: there, a proxy-url goes
 * to the library and an environment proxy is reported (`environmentProxy`).
 */
export function nodeProxySupport(version: string = process.versions.node): boolean {
  const [major = 0, minor = 0] = version.split(".").map(Number);
  return major > 24 || (major === 24 && minor >= 5) || (major === 22 && minor >= 21);
}

/**
 * A proxy URL fit to print: its user information (a proxy password) replaced by `***`, also
 * when the value does not parse. Every log line and error that names a proxy goes through it.
 */
export function proxyForDisplay(value: string): string {
  return value.replace(/^([a-z][a-z0-9+.-]*:\/\/)?[^@/?#]*@/i, (_, scheme: string | undefined) => `${scheme ?? ""}***@`);
}

/** The proxy schemes Go's transport dials (net/http: http, https, socks5, socks5h). */
const PROXY_SCHEMES = new Set(["http:", "https:", "socks5:", "socks5h:"]);

/**
 * A proxy URL as Go reads it (golang.org/x/net/http/httpproxy parseProxy): as given when it
 * parses with a scheme and a host, else, when it names no scheme, with `http://` in front.
 * Returns the URL text.
 * Errors: UsageError naming `where` when neither parses or the scheme is not one Go dials.
 */
export function parseProxyUrl(value: string, where: string): string {
  const parsed = (text: string): URL | null => {
    try {
      const u = new URL(text);
      return /^[a-z][a-z0-9+.-]*:\/\//i.test(text) && u.hostname ? u : null;
    } catch {
      return null;
    }
  };
  // Go retries any unparsable value with http:// in front, so "http://[bad" would become a
  // proxy named "http"; here only a value without a scheme gets one, the rest is an error.
  const text = parsed(value) || value.includes("://") ? value : `http://${value}`;
  const u = parsed(text);
  if (!u) throw new UsageError(`${where} '${proxyForDisplay(value)}' is not a proxy URL`, "give it as http://host:port (https:// and socks5:// work too)");
  if (!PROXY_SCHEMES.has(u.protocol)) throw new UsageError(`${where} '${proxyForDisplay(value)}' has the scheme ${u.protocol.replace(/:$/, "")}, which no Kubernetes client dials`, "use http://, https:// or socks5://");
  return text;
}

/** Whether a proxy URL is one Node.js tunnels through itself (HTTP CONNECT to http or https). */
export function isHttpProxy(proxy: string): boolean {
  return /^https?:\/\//i.test(proxy);
}

/** 127.0.0.0/8, ::1 and their IPv4-mapped form: Go's IP.IsLoopback. */
const LOOPBACK = new BlockList();
LOOPBACK.addSubnet("127.0.0.0", 8, "ipv4");
LOOPBACK.addAddress("::1", "ipv6");
LOOPBACK.addSubnet("::ffff:127.0.0.0", 104, "ipv6");

/** A host as the WHATWG URL parser normalises it (punycode, IPv6 compressed), lower case, unbracketed. */
function normalHost(host: string): string {
  try {
    return new URL(`http://${isIP(host) === 6 ? `[${host}]` : host}`).hostname.replace(/^\[|\]$/g, "");
  } catch {
    return host.toLowerCase();
  }
}

/**
 * The proxy the environment names for `server` (https), as Go's ProxyFromEnvironment decides
 * it (golang.org/x/net/http/httpproxy FromEnvironment, getEnvAny, useProxy): `HTTPS_PROXY`
 * before `https_proxy`, read by `parseProxyUrl`; none for `localhost` or a loopback address;
 * none when `NO_PROXY`/`no_proxy` (upper case first) lists `*`, the IP (compared as an
 * address), a CIDR block holding it, the host (`y.com` matches y.com and x.y.com, `.y.com` and
 * `*.y.com` only x.y.com; names compared in punycode), optionally with the port. Returns the
 * proxy URL or null. Errors: UsageError for a value that is no proxy URL (Go's requests fail
 * then too). The client decides here and hands Node.js only the answer, so what is reported
 * is what it does.
 */
export function environmentProxy(server: string, env: Record<string, string | undefined>): string | null {
  const variable = str(env["HTTPS_PROXY"]) !== undefined ? "HTTPS_PROXY" : "https_proxy";
  const named = str(env[variable]);
  if (!named) return null;
  let host: string;
  let port: string;
  try {
    const u = new URL(server);
    host = u.hostname.replace(/^\[|\]$/g, "");
    port = u.port || "443";
  } catch {
    return null;
  }
  const ipType = isIP(host);
  if (host === "localhost" || (ipType !== 0 && LOOPBACK.check(host, ipType === 4 ? "ipv4" : "ipv6"))) return null;
  const list = (str(env["NO_PROXY"]) ?? str(env["no_proxy"]) ?? "").split(",").map((e) => e.trim().toLowerCase()).filter(Boolean);
  for (const raw of list) {
    if (raw === "*") return null;
    const cidr = /^(.+)\/(\d{1,3})$/.exec(raw);
    if (cidr) {
      const family = isIP(cidr[1]!);
      if (!family || family !== ipType) continue;
      const block = new BlockList();
      try {
        block.addSubnet(cidr[1]!, Number(cidr[2]), family === 4 ? "ipv4" : "ipv6");
      } catch {
        continue; // a prefix out of range: Go skips the entry too
      }
      if (block.check(host, family === 4 ? "ipv4" : "ipv6")) return null;
      continue;
    }
    const m = /^(\[[^\]]+\]|[^:]+|[0-9a-f:]+)(?::(\d+))?$/.exec(raw);
    if (!m) continue;
    const entryPort = isIP(raw) === 6 ? undefined : m[2];
    const entry = normalHost((isIP(raw) === 6 ? raw : m[1]!).replace(/^\[|\]$/g, ""));
    if (entryPort && entryPort !== port) continue;
    const entryType = isIP(entry);
    if (entryType) {
      if (entryType === ipType) {
        const one = new BlockList();
        one.addAddress(entry, entryType === 4 ? "ipv4" : "ipv6");
        if (one.check(host, ipType === 4 ? "ipv4" : "ipv6")) return null;
      }
      continue;
    }
    if (entry.startsWith(".") || entry.startsWith("*.")) {
      if (host.endsWith(entry.replace(/^\*/, ""))) return null;
    } else if (host === entry || host.endsWith(`.${entry}`)) return null;
  }
  return parseProxyUrl(named, variable);
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | null => (v && typeof v === "object" && !Array.isArray(v) ? (v as Obj) : null);
const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

interface Named {
  name: string;
  body: Obj;
  dir: string;
}

/** The kubeconfig files kubectl would read, in order; [] when there are none. */
export function kubeconfigFiles(opts: Pick<KubeconfigOptions, "kubeconfig" | "env">): string[] {
  if (opts.kubeconfig) return [opts.kubeconfig];
  const fromEnv = (opts.env["KUBECONFIG"] ?? "").split(delimiter).filter(Boolean);
  if (fromEnv.length) return fromEnv;
  const home = opts.env["HOME"] ? join(opts.env["HOME"], ".kube", "config") : null;
  return home && existsSync(home) ? [home] : [];
}

/** The Pod's service-account connection (client-go rest.InClusterConfig). */
export function inClusterEndpoint(env: Record<string, string | undefined>, dir = IN_CLUSTER_DIR): KubeEndpoint {
  const host = env["KUBERNETES_SERVICE_HOST"];
  const port = env["KUBERNETES_SERVICE_PORT"] ?? "443";
  if (!host) throw new UsageError("not running in a cluster: KUBERNETES_SERVICE_HOST is not set", "pass --kubeconfig FILE or --context NAME");
  const tokenFile = join(dir, "token");
  if (!existsSync(tokenFile)) throw new UsageError(`no service-account token at ${tokenFile}`, "mount the service account token (automountServiceAccountToken), or pass --kubeconfig");
  const caFile = join(dir, "ca.crt");
  return {
    context: "in-cluster",
    server: `https://${host.includes(":") ? `[${host}]` : host}:${port}`,
    ...(existsSync(caFile) ? { ca: readFileSync(caFile) } : {}),
    verifyTls: true,
    tokenFile,
  };
}

/**
 * Resolves the endpoint for the options. Errors: UsageError for no context, an unknown
 * `--context`, an unreadable or malformed file, a file a field names that cannot be read, or
 * a plain-HTTP server (credentials would travel in clear text).
 */
export function resolveEndpoint(opts: KubeconfigOptions): KubeEndpoint {
  const files = kubeconfigFiles(opts);
  if (files.length === 0 && opts.inCluster) return inClusterEndpoint(opts.env, opts.inClusterDir);
  if (files.length === 0) throw new UsageError("no Kubernetes context is set", "set KUBECONFIG, pass --kubeconfig FILE, or choose one with --context NAME");
  const clusters = new Map<string, Named>();
  const users = new Map<string, Named>();
  const contexts = new Map<string, Named>();
  let current: string | undefined;
  const missing: string[] = [];
  for (const file of files) {
    // kubectl skips every missing file in $KUBECONFIG (client-go loader.go: "skip missing
    // files"); only an explicit --kubeconfig must exist.
    if (!opts.kubeconfig && !existsSync(file)) {
      missing.push(file);
      continue;
    }
    let doc: unknown;
    try {
      doc = parse(readFileSync(file, "utf8"), { maxAliasCount: 100 });
    } catch (e) {
      throw new UsageError(`cannot read kubeconfig ${file}: ${(e as Error).message.split("\n")[0]}`);
    }
    const root = obj(doc);
    if (doc != null && !root) throw new UsageError(`cannot read kubeconfig ${file}: not a mapping`);
    const dir = dirname(resolve(file));
    const take = (list: unknown, field: string, into: Map<string, Named>): void => {
      if (!Array.isArray(list)) return;
      for (const item of list) {
        const e = obj(item);
        const name = str(e?.["name"]);
        const body = obj(e?.[field]);
        if (name && body && !into.has(name)) into.set(name, { name, body, dir });
      }
    };
    take(root?.["clusters"], "cluster", clusters);
    take(root?.["users"], "user", users);
    take(root?.["contexts"], "context", contexts);
    current ??= str(root?.["current-context"]);
  }
  const contextName = opts.context ?? current;
  if (opts.context && !contexts.has(opts.context)) {
    throw new UsageError(`no context '${opts.context}' in the kubeconfig`, `available: ${[...contexts.keys()].join(", ") || "none"}`);
  }
  const ctx = contextName ? contexts.get(contextName) : undefined;
  const cluster = ctx ? clusters.get(str(ctx.body["cluster"]) ?? "") : undefined;
  const server = str(cluster?.body["server"]);
  if (!contextName || !ctx || !cluster || !server) {
    const none = missing.length === files.length ? ` (no file of $KUBECONFIG exists: ${missing.join(", ")})` : "";
    throw new UsageError(`no Kubernetes context is set${none}`, "set KUBECONFIG, pass --kubeconfig FILE, or choose one with --context NAME");
  }
  if (/^http:/i.test(server)) throw new UsageError(`the kubeconfig's server ${server} is plain HTTP`, "use https, or set insecure-skip-tls-verify for a local test cluster");
  const user = users.get(str(ctx.body["user"]) ?? "");
  const u = user?.body ?? {};
  const c = cluster.body;
  const fileOrData = (owner: Named | undefined, body: Obj, field: string): Buffer | undefined => {
    const data = str(body[`${field}-data`]);
    if (data) return Buffer.from(data, "base64");
    const path = str(body[field]);
    if (!path) return undefined;
    const full = isAbsolute(path) ? path : join(owner?.dir ?? ".", path);
    try {
      return readFileSync(full);
    } catch (e) {
      throw new UsageError(`cannot read ${field} ${full} named by the kubeconfig: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  };
  const givenProxy = str(c["proxy-url"]);
  const proxyUrl = givenProxy === undefined ? undefined : parseProxyUrl(givenProxy, `the proxy-url of cluster '${cluster.name}'`);
  const nativeProxy = proxyUrl !== undefined && isHttpProxy(proxyUrl) && (opts.proxySupport ?? nodeProxySupport());
  const library = obj(u["exec"]) ? "exec" : obj(u["auth-provider"]) ? "auth-provider" : proxyUrl && !nativeProxy ? "proxy-url" : null;
  const tlsServerName = str(c["tls-server-name"]);
  const username = str(u["username"]);
  const endpoint: KubeEndpoint = {
    context: contextName,
    server: server.replace(/\/+$/, ""),
    verifyTls: c["insecure-skip-tls-verify"] !== true,
    ...(tlsServerName ? { tlsServerName } : {}),
  };
  const ca = fileOrData(cluster, c, "certificate-authority");
  if (ca) endpoint.ca = ca;
  if (proxyUrl) endpoint.proxy = proxyUrl;
  if (library) {
    endpoint.needsLibrary = { reason: library };
    return endpoint;
  }
  const cert = fileOrData(user, u, "client-certificate");
  const key = fileOrData(user, u, "client-key");
  if (cert) endpoint.cert = cert;
  if (key) endpoint.key = key;
  const token = str(u["token"]);
  const tokenFile = str(u["tokenFile"]);
  if (token) endpoint.token = token;
  else if (tokenFile) endpoint.tokenFile = isAbsolute(tokenFile) ? tokenFile : join(user?.dir ?? ".", tokenFile);
  else if (username) endpoint.basic = { username, password: str(u["password"]) ?? "" };
  return endpoint;
}
