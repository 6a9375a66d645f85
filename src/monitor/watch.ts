/**
 * List-then-watch of one resource, keeping nothing but what the caller extracts: the monitor
 * needs a few fields of each Flux object, not the whole object (a Kustomization's inventory can
 * be most of its size), so this replaces @kubernetes/client-node's informer cache, whose store
 * holds every full object.
 *
 * Behaviour (client-go's reflector, simplified). The initial state comes as a watch-list
 * (client-go's WatchListClient; API concepts, "Streaming lists"): one watch with
 * `sendInitialEvents=true`, whose ADDED events are the current objects, one JSON line each,
 * until a BOOKMARK annotated `k8s.io/initial-events-end` gives the version the same watch
 * goes on from. The API server's watch cache ignores `limit`, so a plain list of 5,000
 * Kustomizations arrives as one 19 MB body, held and parsed whole; the stream is parsed an
 * object at a time (bench/monitor.ts measures both). A server that refuses it (400/422: the
 * WatchList feature off, Kubernetes < 1.27) or sends a bookmark without the annotation (it
 * ignored the parameter) gets the list below from then on.
 *
 * The list: it gives the resourceVersion to watch from. Like the reflector, the first list asks for `resourceVersion=0` and a relist for "not
 * older than" the last version seen: both are served from the API server's watch cache. A
 * list without a version is a consistent read, which the API server pages from etcd (500 a
 * page): at 10,000 Flux objects that took 10x longer (bench/monitor.ts). The cache ignores
 * `limit`; a server that pages anyway is followed through `continue`. After a 410 on a list
 * the next one is a consistent read; the watch asks for bookmarks so that version stays fresh;
 * a watch that ends is re-opened from the last version after a back-off (250 ms doubling to
 * `maxBackoffMs`), and a 410 Gone (version compacted, e.g. after an API server restart) means
 * a full relist. A kind whose CRD is not installed is re-checked every minute.
 */
import type { KubeApi, WatchHandle } from "../loader/kube-http.js";

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

/** Status code of an API error: a KubeApiError, a library ApiException, or a watch ERROR event's Status. */
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
  private abort: WatchHandle | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private backoffMs = 250;
  /** Whether the initial state is asked for as a watch-list; false once the server refused it. */
  private streaming: boolean;

  constructor(
    private readonly api: KubeApi,
    private readonly src: ResourceSource,
    private readonly handler: ResourceHandler,
    private readonly opts: { maxBackoffMs?: number; log?: (msg: string) => void; onSynced?: () => void; watchList?: boolean } = {},
  ) {
    this.streaming = opts.watchList ?? true;
  }

  /** "watch-list" or "list": how the initial state is read now. */
  get mode(): "watch-list" | "list" {
    return this.streaming ? "watch-list" : "list";
  }

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
    if (this.streaming) {
      void this.openWatch(true);
      return;
    }
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
        this.absent();
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

  /** The CRD is not installed: nothing to watch; look again in a minute. */
  private absent(): void {
    this.status = "absent";
    this.handler.begin();
    this.handler.listed();
    this.markSynced();
    this.schedule(() => void this.relist(), 60_000);
  }

  private watch(): void {
    if (this.stopped) return;
    void this.openWatch(false);
  }

  /**
   * Opens a watch from the last version; with `initial`, a watch-list that first hands over
   * the current objects (begin, a page per object, listed at the end bookmark).
   */
  private async openWatch(initial: boolean): Promise<void> {
    let gone = false;
    let ended = false;
    let initialDone = !initial;
    /** The server does not do watch-lists: end this one and list instead. */
    let unsupported = false;
    const end = (err: unknown): void => {
      if (ended) return;
      ended = true;
      this.abort = null;
      if (this.stopped) return;
      this.restarts++;
      const code = statusCode(err);
      if (err) this.lastError = String((err as Error)?.message ?? err).slice(0, 300);
      if (!initialDone) {
        // The initial state did not arrive whole: begin again (the handler drops the partial one).
        if (unsupported || code === 400 || code === 422) {
          this.streaming = false;
          this.opts.log?.(`${this.src.name}: the API server does not serve watch-lists (${unsupported ? "a bookmark without k8s.io/initial-events-end" : `${code}: ${this.lastError}`}); listing instead`);
          this.schedule(() => void this.relist(), 0);
          return;
        }
        if (code === 404) {
          this.absent();
          return;
        }
        if (code === 410 || code === 504) this.consistent = true;
        this.status = code === 403 ? "forbidden" : "backoff";
        this.opts.log?.(`watch-list ${this.src.name} ended before its initial state was complete (${code ?? (err ? "no response" : "closed")})${err ? `: ${this.lastError}` : ""}`);
        this.schedule(() => void this.relist(), code === 403 ? 30_000 : this.backoff());
        return;
      }
      if (gone || code === 410) {
        this.schedule(() => void this.relist(), 0);
        return;
      }
      this.status = "backoff";
      // A watch the server closed normally (timeoutSeconds) re-opens at once.
      this.schedule(() => this.watch(), err ? this.backoff() : 0);
    };
    const query: Record<string, string | number | boolean | undefined> = {
      // A watch-list without a version is a consistent read; "not older than" the last one otherwise.
      resourceVersion: initial && this.consistent ? undefined : this.rv || undefined,
      allowWatchBookmarks: true,
      timeoutSeconds: 240 + Math.floor(Math.random() * 120),
      fieldSelector: this.src.fieldSelector,
      ...(initial ? { sendInitialEvents: true, resourceVersionMatch: "NotOlderThan" } : {}),
    };
    if (initial) this.handler.begin();
    let handle: WatchHandle | null = null;
    handle = await this.api.watch(
      this.src.path,
      query,
      (phase, o) => {
        try {
          if (phase === "ERROR") {
            // 410 Gone: the version was compacted; end this watch and relist.
            if (statusCode(o) === 410) {
              gone = true;
              handle?.abort();
              end({ code: 410 });
            }
            return;
          }
          const meta = (o as { metadata?: { resourceVersion?: string; annotations?: Record<string, string> } } | null)?.metadata;
          if (!initialDone) {
            if (phase === "ADDED" || phase === "MODIFIED") this.handler.page([o]);
            else if (phase === "BOOKMARK") {
              if (meta?.annotations?.["k8s.io/initial-events-end"] !== "true") {
                unsupported = true;
                handle?.abort();
                end(null);
                return;
              }
              initialDone = true;
              this.handler.listed();
              if (meta.resourceVersion) this.rv = meta.resourceVersion;
              this.consistent = false;
              this.backoffMs = 250;
              this.status = "watching";
              this.markSynced();
            }
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
      (err) => end(gone ? { code: 410 } : err),
    );
    // Resolved after the response headers: connected unless it already ended, or stopped meanwhile.
    if (this.stopped) handle.abort();
    if (ended) this.abort = null;
    else {
      this.abort = handle;
      if (initialDone) this.status = "watching";
    }
  }
}
