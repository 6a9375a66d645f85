/**
 * The webhook's HTTPS server (node:https, no framework):
 *
 * - `POST /validate`: an AdmissionReview in, an AdmissionReview out. Bodies over
 *   `maxBodyBytes` get 413 without being read further; non-JSON, wrong apiVersion/kind or a
 *   missing uid get 400; a review whose uid could be read but whose content is malformed is
 *   answered as a denied AdmissionReview with code 400. Everything else is judged by the
 *   evaluator; an unexpected error denies with one line (fail-closed) and never crashes.
 * - `GET /healthz` (the process answers), `GET /readyz` (200 once every watch cache has
 *   listed), `GET /metrics` (Prometheus text).
 *
 * TLS comes from certificate files (cert-manager's Secret mounted as a volume, or the
 * self-signed bootstrap). When either file changes on disk, both are read again, checked as a
 * pair, and swapped in with `tls.Server#setSecureContext`: new handshakes use the new
 * certificate, open connections and requests in flight are not touched.
 */
import { readFileSync, unwatchFile, watchFile } from "node:fs";
import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createSecureContext } from "node:tls";
import type { AddressInfo } from "node:net";
import type { Severity } from "../core/types.js";
import type { AdmissionEvaluator, Decision } from "./evaluate.js";
import { oneLine } from "./evaluate.js";
import type { WebhookMetrics } from "./metrics.js";
import type { ObjectSource } from "./objects.js";
import { parseReview, refusal, responseFor, ReviewError, type AdmissionRequest } from "./review.js";

export interface WebhookServerOptions {
  certFile: string;
  keyFile: string;
  /** 0 picks a free port. */
  port: number;
  host: string;
  evaluator: AdmissionEvaluator;
  source: ObjectSource;
  metrics: WebhookMetrics;
  denyAt: Severity;
  /** Largest AdmissionReview body accepted, in bytes (the API server's own limit is 3 MiB per object). */
  maxBodyBytes?: number;
  /** Deepest JSON nesting accepted in a request. */
  maxDepth?: number;
  /** How often the certificate files are polled for changes, in ms. */
  certPollMs?: number;
  /** One line per event (denials, audit records, reloads, errors). */
  log?: (line: string) => void;
}

export const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;
export const DEFAULT_MAX_DEPTH = 64;
/** How long the watches must be quiet before baselines are refreshed ahead of requests, in ms. */
const REFRESH_QUIET_MS = 200;

export class WebhookServer {
  private server: Server | null = null;
  private readonly log: (line: string) => void;
  private watching = false;
  private refresh: NodeJS.Timeout | null = null;
  private subscribed = false;

  constructor(private readonly opts: WebhookServerOptions) {
    this.log = opts.log ?? (() => undefined);
  }

  private readPair(): { key: Buffer; cert: Buffer } {
    const key = readFileSync(this.opts.keyFile);
    const cert = readFileSync(this.opts.certFile);
    createSecureContext({ key, cert }); // throws when they are not a pair (one file written, not yet the other)
    return { key, cert };
  }

  /** Reads the certificate files again and swaps them in; false (old pair kept) when they do not load. */
  reloadCertificates(): boolean {
    if (!this.server) return false;
    try {
      const pair = this.readPair();
      this.server.setSecureContext({ ...pair, minVersion: "TLSv1.2" });
      this.opts.metrics.certReloads.inc({ result: "ok" });
      this.log(JSON.stringify({ event: "certificate-reloaded", cert: this.opts.certFile }));
      return true;
    } catch (e) {
      this.opts.metrics.certReloads.inc({ result: "failed" });
      this.log(JSON.stringify({ event: "certificate-reload-failed", reason: oneLine((e as Error).message) }));
      return false;
    }
  }

  /**
   * Once the watches have been quiet for `REFRESH_QUIET_MS`, the evaluator's baselines are
   * brought up to date, so the next review finds them ready. During a stream of changes nothing
   * is computed ahead (it would be stale before use): reviews compute what they need. This
   * moves work off the request path; it never changes a decision.
   */
  private scheduleRefresh(): void {
    if (!this.server) return;
    if (this.refresh) clearTimeout(this.refresh);
    this.refresh = setTimeout(() => {
      this.refresh = null;
      if (!this.server || !this.opts.source.ready()) return;
      try {
        this.opts.evaluator.prepare(this.opts.source.snapshot());
      } catch (e) {
        this.log(JSON.stringify({ event: "baseline-error", reason: oneLine(String((e as Error)?.message ?? e)) }));
      }
    }, REFRESH_QUIET_MS);
    this.refresh.unref();
  }

  /** Starts listening; resolves with the bound port. Throws when the certificates do not load. */
  async start(): Promise<number> {
    const pair = this.readPair();
    const server = createServer({ ...pair, minVersion: "TLSv1.2" }, (req, res) => {
      this.handle(req, res).catch((e: unknown) => {
        this.log(JSON.stringify({ event: "handler-error", reason: oneLine(String((e as Error)?.message ?? e)) }));
        if (!res.headersSent) send(res, 500, "text/plain", "internal error\n");
        else res.destroy();
      });
    });
    server.requestTimeout = 10_000;
    server.headersTimeout = 5_000;
    server.keepAliveTimeout = 30_000;
    // A client that breaks off mid-handshake or mid-request is its own problem, not a crash.
    server.on("tlsClientError", () => undefined);
    server.on("clientError", (_e, socket) => socket.destroy());
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.opts.port, this.opts.host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    const poll = this.opts.certPollMs ?? 2000;
    const changed = (cur: { mtimeMs: number }, prev: { mtimeMs: number }): void => {
      if (cur.mtimeMs !== prev.mtimeMs) this.reloadCertificates();
    };
    watchFile(this.opts.certFile, { interval: poll, persistent: false }, changed);
    watchFile(this.opts.keyFile, { interval: poll, persistent: false }, changed);
    this.watching = true;
    if (!this.subscribed && this.opts.source.onChange) {
      this.subscribed = true;
      this.opts.source.onChange(() => this.scheduleRefresh());
    }
    this.scheduleRefresh();
    return (server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    if (this.watching) {
      unwatchFile(this.opts.certFile);
      unwatchFile(this.opts.keyFile);
      this.watching = false;
    }
    if (this.refresh) clearTimeout(this.refresh);
    this.refresh = null;
    const s = this.server;
    this.server = null;
    if (!s) return;
    await new Promise<void>((resolve) => {
      s.close(() => resolve());
      s.closeIdleConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = (req.url ?? "/").split("?")[0];
    if (req.method === "GET" && url === "/healthz") return send(res, 200, "text/plain", "ok\n");
    if (req.method === "GET" && url === "/readyz") {
      const ready = this.opts.source.ready();
      return send(res, ready ? 200 : 503, "text/plain", ready ? "ready\n" : "watch caches not synced\n");
    }
    if (req.method === "GET" && url === "/metrics") {
      const body = await this.opts.metrics.registry.metrics();
      return send(res, 200, this.opts.metrics.registry.contentType, body);
    }
    if (url !== "/validate") return send(res, 404, "text/plain", "not found\n");
    if (req.method !== "POST") return send(res, 405, "text/plain", "POST an AdmissionReview\n");
    const body = await readBody(req, this.opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES);
    if (body === null) {
      this.opts.metrics.admissions.inc({ kind: "", operation: "", decision: "refused" });
      res.setHeader("Connection", "close");
      return send(res, 413, "text/plain", `AdmissionReview larger than ${this.opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES} bytes\n`);
    }
    const started = process.hrtime.bigint();
    const elapsed = (): number => Number(process.hrtime.bigint() - started) / 1e9;
    let request: AdmissionRequest;
    try {
      request = parseReview(body, { maxDepth: this.opts.maxDepth ?? DEFAULT_MAX_DEPTH });
    } catch (e) {
      const err = e instanceof ReviewError ? e : new ReviewError(String((e as Error)?.message ?? e), null);
      this.opts.metrics.admissions.inc({ kind: "", operation: "", decision: "refused" });
      this.opts.metrics.latency.observe({ decision: "refused" }, elapsed());
      if (err.uid === null) return send(res, 400, "application/json", `${JSON.stringify({ error: oneLine(err.message) })}\n`);
      return sendJson(res, refusal(err.uid, err.message));
    }
    const labels = { kind: request.kind.kind, operation: request.operation };
    let decision: Decision;
    if (!this.opts.source.ready()) {
      decision = { allowed: false, denials: [], warnings: [], errors: [{ ruleId: "webhook", reason: "the watch caches are not synced yet; retry in a few seconds" }] };
    } else {
      try {
        decision = this.opts.evaluator.review(request.candidate, this.opts.source.snapshot());
      } catch (e) {
        decision = { allowed: false, denials: [], warnings: [], errors: [{ ruleId: "webhook", reason: oneLine(e instanceof Error ? `${e.name}: ${e.message}` : String(e)) }] };
      }
    }
    const outcome = decision.allowed ? "allowed" : decision.denials.length ? "denied" : "error";
    this.opts.metrics.admissions.inc({ ...labels, decision: outcome });
    for (const f of decision.denials) this.opts.metrics.denials.inc({ rule: f.ruleId });
    for (const f of decision.warnings) this.opts.metrics.warnings.inc({ rule: f.ruleId });
    for (const e of decision.errors) this.opts.metrics.ruleErrors.inc({ rule: e.ruleId });
    if (decision.denials.length || decision.warnings.length || decision.errors.length) {
      this.log(
        JSON.stringify({
          event: "admission",
          uid: request.uid,
          decision: outcome,
          dryRun: request.dryRun,
          kind: `${request.kind.group ? `${request.kind.group}/` : ""}${request.kind.kind}`,
          object: `${request.namespace ?? ""}/${request.name}`,
          user: request.username,
          denials: decision.denials.map((f) => ({ rule: f.ruleId, severity: f.severity, message: f.message })),
          warnings: decision.warnings.map((f) => ({ rule: f.ruleId, severity: f.severity, message: f.message })),
          errors: decision.errors,
        }),
      );
    }
    const answer = responseFor(request.uid, decision, { denyAt: this.opts.denyAt });
    this.opts.metrics.latency.observe({ decision: outcome }, elapsed());
    return sendJson(res, answer);
  }
}

function send(res: ServerResponse, code: number, type: string, body: string): void {
  res.writeHead(code, { "Content-Type": type, "Content-Length": Buffer.byteLength(body) });
  res.end(body);
}

function sendJson(res: ServerResponse, value: unknown): void {
  send(res, 200, "application/json", JSON.stringify(value));
}

/** The body as text, or null when it is larger than `limit` (reading stops there). */
function readBody(req: IncomingMessage, limit: number): Promise<string | null> {
  const declared = Number(req.headers["content-length"] ?? NaN);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    return Promise.resolve(null);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on("data", (c: Buffer) => {
      if (over) return;
      size += c.length;
      if (size > limit) {
        over = true;
        chunks.length = 0;
        resolve(null);
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => {
      if (!over) resolve(Buffer.concat(chunks).toString("utf8"));
    });
    req.on("error", (e) => {
      if (!over) reject(e);
    });
  });
}
