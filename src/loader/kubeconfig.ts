/**
 * Resolves where and as whom to talk to a Kubernetes API server, kubectl's way, without
 * loading @kubernetes/client-node: that library loads its ~1,000 generated API models with
 * its KubeConfig class (about 90 MB of resident memory and 0.5 s of CPU, measured by
 * `npm run bench -- monitor`), which the long-running monitor cannot afford.
 *
 * What is resolved natively: in-cluster service-account credentials (the token file is
 * re-read, as client-go does, so bound tokens rotate), and kubeconfig files with a server,
 * a CA (file or data) or `insecure-skip-tls-verify`, `tls-server-name`, and a user with a
 * token, a `tokenFile`, a client certificate and key (file or data) or basic auth. A user
 * that needs code to run for credentials (`exec`, `auth-provider`) or a cluster behind a
 * `proxy-url` is handed to the library instead (`needsLibrary`), which runs the plugin.
 *
 * Follows kubectl (k8s.io/client-go/tools/clientcmd loader.go): `--kubeconfig`, else every
 * file in $KUBECONFIG merged with the first definition of a name winning and
 * `current-context` taken from the first file that sets it, else ~/.kube/config; relative
 * paths in a file are relative to that file's directory.
 */
import { existsSync, readFileSync } from "node:fs";
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
  for (const [i, file] of files.entries()) {
    // kubectl skips missing files in $KUBECONFIG after the first.
    if (i > 0 && !existsSync(file)) continue;
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
  if (!contextName || !ctx || !cluster || !server) throw new UsageError("no Kubernetes context is set", "set KUBECONFIG, pass --kubeconfig FILE, or choose one with --context NAME");
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
  const library = obj(u["exec"]) ? "exec" : obj(u["auth-provider"]) ? "auth-provider" : str(c["proxy-url"]) ? "proxy-url" : null;
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
