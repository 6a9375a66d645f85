/**
 * A small Kubernetes REST client on node:https: JSON requests, paged lists and watches, over
 * one kept-alive connection pool. The monitor and the live audit use it instead of
 * @kubernetes/client-node, whose module graph (its generated models load with its KubeConfig)
 * costs about 90 MB of memory and 0.5 s of CPU before the first request, and whose v2 needs
 * Node.js >= 22.19 (undici 8). This one runs on Node 20.
 *
 * Objects stay plain JSON (timestamps are RFC 3339 strings, as the API server sends them).
 * Errors: a response with status >= 400 rejects with a KubeApiError (`code` is the HTTP
 * status, `reason` the Status reason); a network failure rejects with Node's error (its `code`
 * is ECONNREFUSED, CERT_HAS_EXPIRED, ...).
 *
 * An HTTP(S) proxy (kubeconfig `proxy-url`, or HTTPS_PROXY) is tunnelled through by Node.js
 * itself (Agent `proxyEnv`, Node.js >= 24.5 / 22.21). A user whose credentials need the
 * library (kubeconfig `exec`, `auth-provider`, a SOCKS proxy) gets them from it: the library's KubeConfig fills in each request's TLS options and headers
 * (`applyToHTTPSOptions`), so only those setups pay for loading it.
 */
import { Agent, request as httpsRequest, type RequestOptions } from "node:https";
import type { IncomingMessage } from "node:http";
import { readFileSync, statSync } from "node:fs";
import type * as KubeClient from "@kubernetes/client-node";
import { isHttpProxy, nodeProxySupport, type KubeEndpoint } from "./kubeconfig.js";

/** An API server's error response (its body is a metav1.Status when it can say more). */
export class KubeApiError extends Error {
  constructor(
    /** HTTP status code. */
    readonly code: number,
    /** The Status `reason` (NotFound, Forbidden, Expired, ...), when the body had one. */
    readonly reason: string | undefined,
    message: string,
  ) {
    super(message);
    this.name = "KubeApiError";
  }
}

/** Query parameters; undefined values are left out. */
export type Query = Record<string, string | number | boolean | undefined>;

/** One page of a list: its items, the list's resourceVersion, and the continue token. */
export interface ListPage {
  items: unknown[];
  resourceVersion: string;
  cont: string | undefined;
}

/** A watch in progress: `abort()` ends it (the `done` callback then gets no error). */
export interface WatchHandle {
  abort(): void;
}

type Authorizer = (opts: RequestOptions) => Promise<void>;

/** The path of a resource collection: `/apis/{group}/{version}[/namespaces/{ns}]/{plural}`, `/api/v1/...` for the core group. */
export function collectionPath(apiVersion: string, plural: string, namespace?: string): string {
  const base = apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  return `${base}${namespace ? `/namespaces/${encodeURIComponent(namespace)}` : ""}/${plural}`;
}

function queryString(q: Query | undefined): string {
  if (!q) return "";
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== "") p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : "";
}

function statusError(status: number, body: string): KubeApiError {
  let reason: string | undefined;
  let message = body.slice(0, 500);
  try {
    const s = JSON.parse(body) as { reason?: unknown; message?: unknown };
    if (typeof s.reason === "string") reason = s.reason;
    if (typeof s.message === "string") message = s.message;
  } catch {
    /* not a Status */
  }
  return new KubeApiError(status, reason, `HTTP ${status}${reason ? ` ${reason}` : ""}: ${message}`);
}

/** The most a non-watch response body may be (a list page of 500 large objects fits). */
const MAX_BODY_BYTES = 256 * 1024 * 1024;

export class KubeApi {
  readonly server: string;
  readonly context: string;
  private readonly url: URL;
  private readonly agent: Agent;
  private token: { value: string; read: number } | null = null;
  private authorizer: Promise<Authorizer> | null = null;

  /** The HTTP(S) proxy requests tunnel through (CONNECT), or null for a direct connection. */
  readonly proxy: string | null;

  /**
   * @param endpoint from resolveEndpoint / inClusterEndpoint.
   * @param libraryConfig the same context as @kubernetes/client-node's KubeConfig, loaded when
   *   the endpoint needs it (the caller's, so one KubeConfig serves every use of the context).
   * @param proxy the proxy to tunnel through: the endpoint's `proxy-url`, else the caller's
   *   choice from the environment (`environmentProxy`); needs `nodeProxySupport()`.
   */
  constructor(
    private readonly endpoint: KubeEndpoint,
    private readonly libraryConfig?: () => Promise<KubeClient.KubeConfig>,
    proxy: string | null = null,
  ) {
    this.server = endpoint.server;
    this.context = endpoint.context;
    this.url = new URL(endpoint.server);
    this.proxy = endpoint.proxy ?? proxy;
    this.agent = new Agent({
      // Node.js tunnels through the proxy itself (Agent proxyEnv); the choice of proxy, and
      // whether to use one, was made already, so NO_PROXY is not handed on. Users the library
      // serves get its agent per request instead (with the proxy in its cluster).
      ...(this.proxy && !endpoint.needsLibrary && isHttpProxy(this.proxy) ? { proxyEnv: { HTTPS_PROXY: this.proxy } } : {}),
      keepAlive: true,
      maxSockets: 32,
      ...(endpoint.ca ? { ca: endpoint.ca } : {}),
      ...(endpoint.cert ? { cert: endpoint.cert } : {}),
      ...(endpoint.key ? { key: endpoint.key } : {}),
      rejectUnauthorized: endpoint.verifyTls,
      ...(endpoint.tlsServerName ? { servername: endpoint.tlsServerName } : {}),
    });
  }

  /** The bearer token, re-reading a token file once a minute (client-go's cached file source). */
  private bearer(): string | undefined {
    if (this.endpoint.token) return this.endpoint.token;
    const file = this.endpoint.tokenFile;
    if (!file) return undefined;
    const now = Date.now();
    if (!this.token || now - this.token.read > 60_000) {
      try {
        statSync(file);
        this.token = { value: readFileSync(file, "utf8").trim(), read: now };
      } catch (e) {
        if (!this.token) throw new Error(`cannot read the token file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
    }
    return this.token.value;
  }

  private async options(method: string, path: string, query: Query | undefined, headers: Record<string, string>): Promise<RequestOptions> {
    const base = this.url.pathname.replace(/\/+$/, "");
    const opts: RequestOptions = {
      method,
      protocol: "https:",
      hostname: this.url.hostname.replace(/^\[|\]$/g, ""),
      port: this.url.port || 443,
      path: `${base}${path}${queryString(query)}`,
      agent: this.agent,
      headers: { accept: "application/json", "user-agent": "fluxguard", ...headers },
    };
    if (this.endpoint.needsLibrary) {
      const authorize = await (this.authorizer ??= this.libraryAuthorizer());
      // The library sets the headers and TLS material on the options, and an agent it caches
      // per user, whose TLS material wins over the options'. So: no agent without a proxy
      // (each request presents the credentials of now: exec plugins may rotate client
      // certificates), a fresh tunnelling agent for an HTTP proxy Node.js can dial, and the
      // library's own agent only for a SOCKS proxy (it renews that agent with its credentials).
      await authorize(opts);
      if (!this.proxy) opts.agent = false;
      else if (isHttpProxy(this.proxy) && nodeProxySupport()) {
        opts.agent = new Agent({
          ...(opts.ca ? { ca: opts.ca } : {}),
          ...(opts.cert ? { cert: opts.cert } : {}),
          ...(opts.key ? { key: opts.key } : {}),
          ...(opts.rejectUnauthorized !== undefined ? { rejectUnauthorized: opts.rejectUnauthorized } : {}),
          ...(opts.servername ? { servername: opts.servername } : {}),
          proxyEnv: { HTTPS_PROXY: this.proxy },
        });
      }
      return opts;
    }
    const token = this.bearer();
    const h = opts.headers as Record<string, string>;
    if (token) h["authorization"] = `Bearer ${token}`;
    else if (this.endpoint.basic) h["authorization"] = `Basic ${Buffer.from(`${this.endpoint.basic.username}:${this.endpoint.basic.password}`).toString("base64")}`;
    return opts;
  }

  private async libraryAuthorizer(): Promise<Authorizer> {
    if (!this.libraryConfig) throw new Error(`this kubeconfig user needs the Kubernetes client library (${this.endpoint.needsLibrary?.reason}), which is not available here`);
    const kc = await this.libraryConfig();
    return (opts) => kc.applyToHTTPSOptions(opts);
  }


  /** Sends a request; resolves on the response headers. `timeoutMs` bounds the wait for any byte (then ETIMEDOUT). */
  private async send(method: string, path: string, query: Query | undefined, body: unknown, timeoutMs = 60_000): Promise<IncomingMessage> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const opts = await this.options(method, path, query, payload ? { "content-type": "application/json", "content-length": String(payload.length) } : {});
    return new Promise<IncomingMessage>((resolve, reject) => {
      let response: IncomingMessage | null = null;
      const req = httpsRequest(opts, (r) => {
        response = r;
        resolve(r);
      });
      // Node.js names the proxy, user information included, in a refused tunnel's message
      // ("… via http://user:password@proxy: …"); every log and error downstream gets it scrubbed.
      req.on("error", (e: Error) => {
        if (this.proxy) e.message = e.message.replace(/(\/\/)[^@\s/]*@/g, "$1***@");
        reject(e);
      });
      req.setTimeout(timeoutMs, () => {
        const err = Object.assign(new Error(`nothing from ${this.server} for ${timeoutMs / 1000} s (${method} ${path})`), { code: "ETIMEDOUT" });
        // After the headers, the response carries the error to whoever reads it.
        if (response) response.destroy(err);
        else req.destroy(err);
      });
      req.end(payload);
    });
  }

  /**
   * One JSON request. Resolves with the parsed body; rejects with a KubeApiError for a status
   * >= 400, a network error, or an Error for a body that is not JSON or exceeds 256 MiB.
   */
  async request<T = unknown>(method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE", path: string, opts: { query?: Query; body?: unknown; timeoutMs?: number } = {}): Promise<T> {
    const res = await this.send(method, path, opts.query, opts.body, opts.timeoutMs);
    const chunks: Buffer[] = [];
    let size = 0;
    await new Promise<void>((resolve, reject) => {
      res.on("data", (c: Buffer) => {
        size += c.length;
        if (size > MAX_BODY_BYTES) {
          res.destroy(new Error(`response to ${method} ${path} exceeds ${MAX_BODY_BYTES} bytes`));
          return;
        }
        chunks.push(c);
      });
      res.on("end", resolve);
      res.on("error", reject);
      res.on("aborted", () => reject(new Error(`response to ${method} ${path} aborted`)));
    });
    const text = Buffer.concat(chunks).toString("utf8");
    const status = res.statusCode ?? 0;
    if (status >= 400) throw statusError(status, text);
    try {
      return (text ? JSON.parse(text) : {}) as T;
    } catch {
      throw new Error(`the API server's answer to ${method} ${path} is not JSON (HTTP ${status})`);
    }
  }

  /** One page of a collection (`limit`, `continue`, selectors and resourceVersion in `query`). */
  async list(path: string, query: Query = {}): Promise<ListPage> {
    const res = await this.request<{ items?: unknown[]; metadata?: { resourceVersion?: string; continue?: string } }>("GET", path, { query });
    return { items: Array.isArray(res.items) ? res.items : [], resourceVersion: res.metadata?.resourceVersion ?? "", cont: res.metadata?.continue || undefined };
  }

  /**
   * Every page of a collection, 500 objects a page, each object passed through `keep` as its
   * page arrives (so only what it returns is held, not every whole object).
   */
  async listAll<T = unknown>(path: string, query: Query = {}, keep: (o: unknown) => T = (o) => o as T): Promise<T[]> {
    const out: T[] = [];
    let cont: string | undefined;
    do {
      const page = await this.list(path, { ...query, limit: 500, ...(cont ? { continue: cont } : {}) });
      for (const o of page.items) out.push(keep(o));
      cont = page.cont;
    } while (cont);
    return out;
  }

  /**
   * Watches a collection (`watch=1` is added). `onEvent` gets each event's type (ADDED,
   * MODIFIED, DELETED, BOOKMARK, ERROR) and object; `done` is called once when the watch ends:
   * with no error when the server closed it or `abort()` was called, with a KubeApiError when
   * the server refused it, with an Error on a network failure, on a line that is not JSON, or
   * after `idleMs` without a byte (default 120 s: a bookmark comes about every minute).
   * Resolves once the response headers arrived (or the watch already ended).
   */
  async watch(path: string, query: Query, onEvent: (type: string, object: unknown) => void, done: (err: Error | null) => void, idleMs = 120_000): Promise<WatchHandle> {
    let finished = false;
    let aborted = false;
    const finish = (err: Error | null): void => {
      if (finished) return;
      finished = true;
      done(aborted ? null : err);
    };
    let res: IncomingMessage;
    try {
      res = await this.send("GET", path, { ...query, watch: 1 }, undefined, idleMs);
    } catch (e) {
      finish(e as Error);
      return { abort: () => undefined };
    }
    const handle: WatchHandle = {
      abort: () => {
        aborted = true;
        res.destroy();
        finish(null);
      },
    };
    if ((res.statusCode ?? 0) >= 400) {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.length < 64 && chunks.push(c));
      res.on("end", () => finish(statusError(res.statusCode ?? 0, Buffer.concat(chunks).toString("utf8"))));
      res.on("error", (e) => finish(e));
      return handle;
    }
    res.setEncoding("utf8");
    let buffered = "";
    res.on("data", (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        if (!line) continue;
        let ev: { type?: unknown; object?: unknown };
        try {
          ev = JSON.parse(line) as { type?: unknown; object?: unknown };
        } catch {
          res.destroy(new Error(`watch ${path}: an event is not JSON`));
          return;
        }
        if (finished) return;
        onEvent(typeof ev.type === "string" ? ev.type : "", ev.object);
      }
      if (buffered.length > MAX_BODY_BYTES) res.destroy(new Error(`watch ${path}: an event exceeds ${MAX_BODY_BYTES} bytes`));
    });
    res.on("end", () => finish(null));
    res.on("error", (e) => finish(e));
    res.on("close", () => finish(res.complete ? null : new Error(`watch ${path}: connection closed`)));
    return handle;
  }

  /** Closes the kept-alive connections. */
  close(): void {
    this.agent.destroy();
  }
}
