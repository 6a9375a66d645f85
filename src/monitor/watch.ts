/**
 * List-then-watch of one resource, keeping nothing but what the caller extracts: the monitor
 * needs a few fields of each Flux object, not the whole object (a Kustomization's inventory can
 * be most of its size), so this replaces @kubernetes/client-node's informer cache, whose store
 * holds every full object.
 *
 * Behaviour (client-go's reflector, simplified): a list gives the resourceVersion to watch
 * from. Like the reflector, the first list asks for `resourceVersion=0` and a relist for "not
 * older than" the last version seen: both are served from the API server's watch cache. A
 * list without a version is a consistent read, which the API server pages from etcd (500 a
 * page): at 10,000 Flux objects that took 10x longer (bench/monitor.ts). The cache ignores
 * `limit`; a server that pages anyway is followed through `continue`. After a 410 on a list
 * the next one is a consistent read; the watch asks for bookmarks so that version stays fresh;
 * a watch that ends is re-opened from the last version after a back-off (250 ms doubling to
 * `maxBackoffMs`), and a 410 Gone (version compacted, e.g. after an API server restart) means
 * a full relist. A kind whose CRD is not installed is re-checked every minute.
 */
import type { KubeConfig } from "@kubernetes/client-node";

/** What to list and watch. `list` returns one page of raw objects. */
export interface ResourceSource {
  /** For logs and metrics: `gitrepositories.source.toolkit.fluxcd.io`, `events`. */
  name: string;
  /** The watch path, e.g. `/apis/source.toolkit.fluxcd.io/v1/gitrepositories`. */
  path: string;
  fieldSelector?: string;
  /**
   * One page: the first with `from` (`resourceVersion` and `resourceVersionMatch`, either may
   * be absent), the next ones with only `cont` (the API server forbids both together).
   */
  list(cont: string | undefined, from: ListFrom): Promise<{ items: unknown[]; resourceVersion: string; cont: string | undefined }>;
}

/** The version a list asks for (API concepts, "Resource versions"). */
export interface ListFrom {
  resourceVersion?: string;
  resourceVersionMatch?: "NotOlderThan";
}

export interface ResourceHandler {
  /**
   * A complete list (initial or relist) arrives as `begin`, one `page` per page of up to 500
   * objects as each is read (so only one page of whole objects is held at a time), then
   * `listed`: what the caller holds for this resource and saw in no page since `begin` is gone.
   * A list that fails midway is begun again; `listed` is called only for a complete one.
   */
  begin(): void;
  page(items: unknown[]): void;
  listed(): void;
  upsert(o: unknown): void;
  remove(o: unknown): void;
}

export type WatchStatus = "listing" | "watching" | "backoff" | "absent" | "forbidden";

/** Status code of an API error from @kubernetes/client-node (ApiException or a watch Status). */
export function statusCode(e: unknown): number | undefined {
  const x = e as { code?: unknown; statusCode?: unknown; status?: unknown; body?: unknown } | null;
  if (!x || typeof x !== "object") return undefined;
  for (const v of [x.code, x.statusCode]) if (typeof v === "number") return v;
  if (typeof x.body === "string") {
    try {
      const b = JSON.parse(x.body) as { code?: unknown };
      if (typeof b.code === "number") return b.code;
    } catch {
      /* not JSON */
    }
  }
  return undefined;
}

export class ResourceWatch {
  status: WatchStatus = "listing";
  /** Set once the first complete list has been handed over (or the kind is absent). */
  synced = false;
  restarts = 0;
  lastError = "";
  private rv = "";
  /** The next list must be a consistent read (the last one said its version was too old). */
  private consistent = false;
  private abort: AbortController | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private backoffMs = 250;

  constructor(
    private readonly kc: KubeConfig,
    private readonly src: ResourceSource,
    private readonly handler: ResourceHandler,
    private readonly opts: { maxBackoffMs?: number; log?: (msg: string) => void; onSynced?: () => void } = {},
  ) {}

  start(): void {
    void this.relist();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.abort?.abort();
  }

  private schedule(fn: () => void, ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(fn, ms);
    this.timer.unref?.();
  }

  private backoff(): number {
    const ms = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.opts.maxBackoffMs ?? 4000);
    return ms;
  }

  private markSynced(): void {
    if (!this.synced) {
      this.synced = true;
      this.opts.onSynced?.();
    }
  }

  private async relist(): Promise<void> {
    if (this.stopped) return;
    this.status = "listing";
    try {
      let cont: string | undefined;
      let rv = "";
      const from: ListFrom = this.consistent ? {} : this.rv ? { resourceVersion: this.rv, resourceVersionMatch: "NotOlderThan" } : { resourceVersion: "0" };
      this.handler.begin();
      do {
        const page = await this.src.list(cont, cont ? {} : from);
        if (this.stopped) return;
        this.handler.page(page.items);
        rv = page.resourceVersion;
        cont = page.cont;
      } while (cont);
      this.handler.listed();
      this.rv = rv;
      this.consistent = false;
      this.backoffMs = 250;
      this.markSynced();
      this.watch();
    } catch (e) {
      const code = statusCode(e);
      this.lastError = String((e as Error)?.message ?? e).slice(0, 300);
      if (code === 404) {
        // The CRD is not installed: nothing to watch; look again in a minute.
        this.status = "absent";
        this.handler.begin();
        this.handler.listed();
        this.markSynced();
        this.schedule(() => void this.relist(), 60_000);
        return;
      }
      // Expired, or a version the cache has not reached (504, ResourceVersionTooLarge): as client-go does.
      if (code === 410 || code === 504) this.consistent = true;
      this.status = code === 403 ? "forbidden" : "backoff";
      this.opts.log?.(`list ${this.src.name} failed (${code ?? "no response"}): ${this.lastError}`);
      this.restarts++;
      this.schedule(() => void this.relist(), code === 403 ? 30_000 : this.backoff());
    }
  }

  private watch(): void {
    if (this.stopped) return;
    void this.openWatch();
  }

  private async openWatch(): Promise<void> {
    const k8s = await import("@kubernetes/client-node");
    let gone = false;
    let ended = false;
    const end = (err: unknown): void => {
      if (ended) return;
      ended = true;
      this.abort = null;
      if (this.stopped) return;
      this.restarts++;
      const code = statusCode(err);
      if (err) this.lastError = String((err as Error)?.message ?? err).slice(0, 300);
      if (gone || code === 410) {
        this.schedule(() => void this.relist(), 0);
        return;
      }
      this.status = "backoff";
      // A watch the server closed normally (timeoutSeconds) re-opens at once.
      this.schedule(() => this.watch(), err ? this.backoff() : 0);
    };
    try {
      const w = new k8s.Watch(this.kc);
      // The library's inactivity timeout (30 s) would cut an idle watch between bookmarks.
      (w as unknown as { requestTimeoutMs: number }).requestTimeoutMs = 120_000;
      const params: Record<string, string | number | boolean | undefined> = {
        resourceVersion: this.rv,
        allowWatchBookmarks: true,
        timeoutSeconds: 240 + Math.floor(Math.random() * 120),
      };
      if (this.src.fieldSelector) params["fieldSelector"] = this.src.fieldSelector;
      this.abort = await w.watch(
        this.src.path,
        params,
        (phase: string, o: unknown) => {
          try {
            const meta = (o as { metadata?: { resourceVersion?: string } } | null)?.metadata;
            if (phase === "ERROR") {
              if (statusCode(o) === 410) gone = true;
              return;
            }
            if (meta?.resourceVersion) this.rv = meta.resourceVersion;
            this.backoffMs = 250;
            if (phase === "ADDED" || phase === "MODIFIED") this.handler.upsert(o);
            else if (phase === "DELETED") this.handler.remove(o);
          } catch (e) {
            this.opts.log?.(`${this.src.name}: event not handled: ${(e as Error).message}`);
          }
        },
        (err: unknown) => {
          end(gone ? { code: 410 } : err);
          if (gone) this.abort?.abort();
        },
      );
      // Resolved after the response headers: connected unless it already ended.
      if (ended) this.abort = null;
      else this.status = "watching";
    } catch (e) {
      end(e ?? new Error("watch failed"));
    }
  }
}
