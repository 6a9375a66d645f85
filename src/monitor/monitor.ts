/**
 * `fluxguard monitor`: a long-running process that watches Flux objects and their Warning
 * Events and serves Prometheus metrics on /metrics, with /healthz (the process runs) and
 * /readyz (the persisted ledger is loaded and every resource has been listed).
 *
 * Design (README "Monitoring"): every replica watches and counts; a failure's identity
 * (signals.ts) makes counting idempotent, so replicas serve the same values and Prometheus
 * alert rules take `max` over them. The Lease holder persists the ledger in a ConfigMap so a
 * restart neither loses nor re-counts a failure (ledger.ts, lease.ts).
 *
 * It never writes outside its own namespace, reads Secrets only by name (the verification
 * Secrets sources name), and exports key fingerprints and dates, never key material.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { KubeApi } from "../loader/kube-http.js";
import { defaultConfig } from "../core/config.js";
import { checkKeys, type KeyStatus } from "../verify/keycheck.js";
import { keyRingFromSecretData } from "../verify/keys.js";
import { FailureLedger } from "./ledger.js";
import { LeaderElector, StateStore } from "./lease.js";
import { buildMetrics, writeExposition, type MonitorMetrics } from "./metrics.js";
import { eventFailures, FLUX_KINDS, viewObject, type Failure, type ObjectView, type WatchedKind } from "./signals.js";

/** Distinct failures held while the persisted ledger loads (beyond, the oldest go). */
const MAX_PENDING = 100_000;
/**
 * After this long without the persisted ledger (unreadable, forbidden), failures are counted
 * in memory anyway, and the ledger is merged when it can be read: a failure counted before the
 * restart may then alert again, which is better than counting nothing (ms).
 */
const STATE_WAIT_MS = 120_000;
/**
 * The Events the monitor watches: source-controller's warnings, which carry every
 * verification failure (field selector `source` is the Event's source.component, or its
 * reportingController; kube-apiserver pkg/registry/core/event/strategy.go). Not every
 * Warning in the cluster: on a busy cluster, scheduling and probe warnings are most of them.
 */
export const EVENT_SELECTOR = "type=Warning,source=source-controller";

/** How often the leader persists not-ready clocks when no count changed (ms). */
const CLOCK_PERSIST_MS = 30_000;
import { ResourceWatch, statusCode, type ResourceSource } from "./watch.js";

export interface MonitorOptions {
  /** The API server connection (loader/kube-http.ts): no @kubernetes/client-node in the monitor's memory. */
  api: KubeApi;
  /** The namespace Flux runs in (default reconciler identities, posture). */
  fluxNamespace: string;
  /** Where the Lease and the ledger ConfigMap live; null = no persistence, no election (one process). */
  stateNamespace: string | null;
  leaseName: string;
  stateName: string;
  /** This replica's name in the Lease (the Pod name in a cluster). */
  identity: string;
  /** Seconds between posture analyses; 0 = off. */
  postureInterval: number;
  /** Seconds between re-reads of verification Secrets; 0 = off. */
  keysInterval: number;
  warnDays: number;
  /** How often the leader persists the ledger and followers merge it, ms (default 2000). */
  persistIntervalMs?: number;
  /** Lease duration, seconds (default 15). */
  leaseSeconds?: number;
  /** Read the initial state as watch-lists (default true; see watch.ts). */
  watchList?: boolean;
  /** How long failures wait for an unreadable persisted ledger before they are counted without it, ms (default 120,000). */
  stateWaitMs?: number;
  log: (msg: string) => void;
}

export interface KeyGauge {
  namespace: string;
  secret: string;
  type: "openpgp" | "ssh";
  fingerprint: string;
  /** ms since the epoch; null: never expires. */
  expires: number | null;
  status: KeyStatus;
}

export interface LockdownGauge {
  controller: string;
  enabled: boolean;
  evidence: string;
}

export interface PostureState {
  at: number;
  clusterAdmin: Array<{ identity: string; tier: string }>;
  lockdown: LockdownGauge[];
}

/** What a scrape reads. */
export interface MonitorView {
  now: number;
  fluxNamespace: string;
  counters: ReturnType<FailureLedger["counters"]>;
  /** The held views themselves (not copies). */
  objects: readonly ObjectView[];
  /** When the object (by uid) was first not Ready (ms), or null when it is Ready. */
  notReadySince(uid: string): number | null;
  keys: KeyGauge[];
  secrets: Array<{ namespace: string; secret: string; readable: boolean }>;
  posture: PostureState | null;
  synced: boolean;
  leader: boolean;
  watches: Array<{ name: string; status: string; restarts: number }>;
  errors: Map<string, number>;
  /** Failure identities the ledger holds (FailureLedger.heldKeys). */
  heldFailures: number;
}

export class Monitor {
  readonly ledger = new FailureLedger();
  /** Failures seen before the persisted ledger was loaded (see `record`). */
  private readonly pending = new Map<string, Failure>();
  /** Counting without the persisted ledger (it could not be read for STATE_WAIT_MS). */
  private countingAlone = false;
  private readonly objects = new Map<string, ObjectView>();
  private readonly watches: Array<{ name: string; w: ResourceWatch }> = [];
  private readonly errors = new Map<string, number>();
  private keys: KeyGauge[] = [];
  private secrets: Array<{ namespace: string; secret: string; readable: boolean }> = [];
  private posture: PostureState | null = null;
  private stateLoaded = false;
  private elector: LeaderElector | null = null;
  private store: StateStore | null = null;
  private timers: NodeJS.Timeout[] = [];
  private server: Server | null = null;
  private metrics: MonitorMetrics | null = null;
  private persistedGeneration = -1;
  private persistedClockGeneration = -1;
  private persistedAt = 0;
  private keysDirty = false;
  /** The verification Secret (`namespace/name`) each source names, and how many sources name each. */
  private readonly verifySecretOf = new Map<string, string>();
  private readonly verifySecretRefs = new Map<string, number>();
  private stopped = false;
  private cachedView: MonitorView | null = null;
  /** When /readyz first answered 200 (ms), for the catch-up measurement. */
  readyAt: number | null = null;

  constructor(private readonly o: MonitorOptions) {}

  private error(stage: string, msg: string): void {
    this.errors.set(stage, (this.errors.get(stage) ?? 0) + 1);
    this.o.log(`${stage}: ${msg}`);
  }

  /**
   * Every replica serves the same picture; computed once per scrape: the ~20 metric families
   * read it in the same tick, so it is kept until the next one (not rebuilt per family).
   */
  view(): MonitorView {
    if (this.cachedView) return this.cachedView;
    const v = this.buildView();
    this.cachedView = v;
    setImmediate(() => (this.cachedView = null));
    return v;
  }

  private buildView(): MonitorView {
    const now = Date.now();
    return {
      now,
      notReadySince: (uid) => this.ledger.notReadyAt(uid),
      fluxNamespace: this.o.fluxNamespace,
      counters: this.ledger.counters(),
      objects: [...this.objects.values()],
      keys: this.keys,
      secrets: this.secrets,
      posture: this.posture,
      synced: this.synced,
      leader: this.o.stateNamespace === null ? true : (this.elector?.leader ?? false),
      watches: this.watches.map(({ name, w }) => ({ name, status: w.status, restarts: w.restarts })),
      errors: this.errors,
      heldFailures: this.ledger.heldKeys,
    };
  }

  get synced(): boolean {
    return this.stateLoaded && this.watches.length > 0 && this.watches.every(({ w }) => w.synced);
  }

  /** Loads the persisted ledger, starts the watches, the election and the periodic work. */
  async start(): Promise<void> {
    const api = this.o.api;
    this.metrics = await buildMetrics(() => this.view());
    if (this.o.stateNamespace !== null) {
      this.store = new StateStore(api, this.o.stateNamespace, this.o.stateName);
      void this.loadState();
      this.elector = new LeaderElector(api, {
        namespace: this.o.stateNamespace,
        name: this.o.leaseName,
        identity: this.o.identity,
        leaseSeconds: this.o.leaseSeconds ?? 15,
        log: this.o.log,
      });
      this.elector.start();
      this.every(this.o.persistIntervalMs ?? 2000, () => this.syncState());
    } else this.stateLoaded = true;

    for (const k of FLUX_KINDS) this.watchKind(k);
    this.watchEvents();
    // Every minute: between prunes the held identities may pass the ledger's cap (at 60 failure
    // episodes a second, a 10-minute period let them reach 31,000 of 20,000 during the churn of
    // bench/monitor.ts).
    this.every(60_000, () => this.prune());
    if (this.o.keysInterval > 0) {
      this.every(this.o.keysInterval * 1000, () => this.refreshKeys());
      this.every(1000, () => (this.keysDirty ? this.refreshKeys() : Promise.resolve()));
    }
    if (this.o.postureInterval > 0) {
      const first = setTimeout(() => void this.refreshPosture(), 5000);
      first.unref?.();
      this.timers.push(first);
      this.every(this.o.postureInterval * 1000, () => this.refreshPosture());
    }
  }

  private every(ms: number, fn: () => Promise<void> | void): void {
    let busy = false;
    const t = setInterval(() => {
      if (busy || this.stopped) return;
      busy = true;
      Promise.resolve()
        .then(fn)
        .catch((e: unknown) => this.error("loop", String((e as Error)?.message ?? e)))
        .finally(() => (busy = false));
    }, ms);
    t.unref?.();
    this.timers.push(t);
  }

  private async loadState(): Promise<void> {
    let delay = 500;
    const since = Date.now();
    while (!this.stopped && !this.stateLoaded) {
      try {
        const { snapshot, corrupt } = await this.store!.read();
        if (corrupt) this.error("state", `the ledger ConfigMap ${this.o.stateNamespace}/${this.o.stateName} cannot be decoded (${corrupt}); starting from an empty ledger`);
        if (snapshot) this.ledger.merge(snapshot);
        this.reconcileReadiness();
        this.stateLoaded = true;
        this.flushPending();
        this.o.log(`ledger loaded (${this.ledger.counters().length} series)`);
      } catch (e) {
        this.error("state", `cannot read the ledger ConfigMap ${this.o.stateNamespace}/${this.o.stateName}: ${String((e as Error)?.message ?? e).slice(0, 200)}`);
        if (!this.countingAlone && Date.now() - since >= (this.o.stateWaitMs ?? STATE_WAIT_MS)) {
          this.countingAlone = true;
          this.o.log(`the ledger ConfigMap is still unreadable: counting without it (a failure counted before this restart may alert again); retrying`);
          this.flushPending();
        }
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 5000);
      }
    }
  }

  /** Leader: write the ledger when it changed. Others: merge the leader's. */
  private async syncState(): Promise<void> {
    if (!this.store || !this.stateLoaded) return;
    if (this.elector?.leader) {
      // Counts at once; not-ready clocks alone every CLOCK_PERSIST_MS (they change with every
      // reconcile of every object, and a clock a few seconds stale costs nothing).
      const counts = this.ledger.generation !== this.persistedGeneration;
      const clocks = this.ledger.clockGeneration !== this.persistedClockGeneration && Date.now() - this.persistedAt >= CLOCK_PERSIST_MS;
      if (!counts && !clocks) return;
      const gen = this.ledger.generation;
      const clockGen = this.ledger.clockGeneration;
      const ok = await this.store.write(this.ledger.snapshot());
      if (ok) {
        this.persistedGeneration = gen;
        this.persistedClockGeneration = clockGen;
        this.persistedAt = Date.now();
      }
      else {
        // Someone else wrote (a previous leader's last write): merge theirs, write next round.
        const { snapshot } = await this.store.read();
        if (snapshot) this.ledger.merge(snapshot);
        this.reconcileReadiness();
      }
    } else {
      const { snapshot } = await this.store.read();
      if (snapshot) this.ledger.merge(snapshot);
      this.reconcileReadiness();
      this.persistedGeneration = -1;
    }
  }

  /** A merged ledger may hold clocks of objects that are Ready now: those stop. */
  private reconcileReadiness(): void {
    for (const v of this.objects.values()) if (v.ready.status === "True" || v.suspended) this.ledger.clearNotReady(v.uid);
  }

  /**
   * Counts failures, or holds them until the persisted ledger is loaded: counted into an empty
   * ledger first, a failure counted before the restart would get a new "last counted" time
   * (the merge keeps the later one) and alert again. Held by identity, at most MAX_PENDING;
   * beyond, the oldest go (a failure the cluster still shows is seen again at the next
   * relist). A ledger unreadable for `stateWaitMs` stops the wait (`countingAlone`).
   */
  private record(failures: readonly Failure[], now: number): void {
    if (this.stateLoaded || this.countingAlone) {
      for (const f of failures) this.ledger.record(f, now);
      return;
    }
    for (const f of failures) {
      if (this.pending.has(f.key)) continue;
      this.pending.set(f.key, f);
      if (this.pending.size > MAX_PENDING) this.pending.delete(this.pending.keys().next().value!);
    }
  }

  private flushPending(): void {
    const now = Date.now();
    for (const f of this.pending.values()) this.ledger.record(f, now);
    this.pending.clear();
  }

  private observe(v: ObjectView): void {
    const now = Date.now();
    this.record(v.failures, now);
    if (v.ready.status === "True" || v.suspended) this.ledger.clearNotReady(v.uid);
    else this.ledger.notReadySince(v.uid, v.ready.since, now);
  }

  private watchKind(k: WatchedKind): void {
    const name = `${k.plural}.${k.group}`;
    const path = `/apis/${k.group}/${k.version}/${k.plural}`;
    const src: ResourceSource = {
      name,
      path,
      list: (cont, from) => this.o.api.list(path, { limit: 500, ...from, ...(cont ? { continue: cont } : {}) }),
    };
    const mine = new Set<string>();
    let seen = new Set<string>();
    const forget = (uid: string): void => {
      mine.delete(uid);
      this.setVerifySecret(uid, null);
      this.objects.delete(uid);
      this.ledger.clearNotReady(uid);
    };
    const upsert = (o: unknown): string | null => {
      const v = viewObject(k, o, this.o.fluxNamespace);
      if (!v) {
        this.error("object", `${name}: an object without metadata.uid or name was ignored`);
        return null;
      }
      this.objects.set(v.uid, v);
      mine.add(v.uid);
      this.observe(v);
      if (k.source) this.setVerifySecret(v.uid, v.verifySecret ? `${v.namespace}/${v.verifySecret}` : null);
      return v.uid;
    };
    const w = new ResourceWatch(
      this.o.api,
      src,
      {
        begin: () => {
          seen = new Set<string>();
        },
        page: (items) => {
          for (const o of items) {
            try {
              const uid = upsert(o);
              if (uid) seen.add(uid);
            } catch (e) {
              this.error("object", `${name}: ${(e as Error).message}`);
            }
          }
        },
        listed: () => {
          for (const uid of [...mine]) if (!seen.has(uid)) forget(uid);
          seen = new Set<string>();
        },
        upsert: (o) => void upsert(o),
        remove: (o) => {
          const uid = (o as { metadata?: { uid?: string } } | null)?.metadata?.uid;
          if (uid) forget(uid);
        },
      },
      { log: this.o.log, onSynced: () => this.checkReady(), watchList: this.o.watchList ?? true },
    );
    this.watches.push({ name, w });
    w.start();
  }

  private watchEvents(): void {
    const fieldSelector = EVENT_SELECTOR;
    const src: ResourceSource = {
      name: "events",
      path: "/api/v1/events",
      fieldSelector,
      list: (cont, from) => this.o.api.list("/api/v1/events", { fieldSelector, limit: 500, ...from, ...(cont ? { continue: cont } : {}) }),
    };
    const upsert = (o: unknown): void => {
      const now = Date.now();
      this.record(eventFailures(o), now);
    };
    const w = new ResourceWatch(
      this.o.api,
      src,
      {
        begin: () => undefined,
        page: (items) => items.forEach((o) => upsert(o)),
        listed: () => undefined,
        upsert,
        remove: () => undefined,
      },
      { log: this.o.log, onSynced: () => this.checkReady(), watchList: this.o.watchList ?? true },
    );
    this.watches.push({ name: "events", w });
    w.start();
  }

  private checkReady(): void {
    if (this.readyAt === null && this.synced) {
      this.readyAt = Date.now();
      const modes = [...new Set(this.watches.map(({ w }) => w.mode))].join(", ");
      this.o.log(`caches synced: ${this.objects.size} Flux objects (initial state by ${modes})`);
    }
  }

  /**
   * Records which verification Secret (`namespace/name`) a source names, or null, keeping a
   * count per Secret so a change costs O(1), not a walk over every object; marks the key
   * gauges for a refresh when the set of Secrets changes.
   */
  private setVerifySecret(uid: string, secret: string | null): void {
    const before = this.verifySecretOf.get(uid) ?? null;
    if (before === secret) return;
    if (before !== null) {
      const n = (this.verifySecretRefs.get(before) ?? 1) - 1;
      if (n > 0) this.verifySecretRefs.set(before, n);
      else {
        this.verifySecretRefs.delete(before);
        this.keysDirty = true;
      }
    }
    if (secret === null) this.verifySecretOf.delete(uid);
    else {
      this.verifySecretOf.set(uid, secret);
      const n = this.verifySecretRefs.get(secret) ?? 0;
      this.verifySecretRefs.set(secret, n + 1);
      if (n === 0) this.keysDirty = true;
    }
  }

  /** Reads each verification Secret a source names (by name only) and checks its keys. */
  private async refreshKeys(): Promise<void> {
    this.keysDirty = false;
    const names = [...this.verifySecretRefs.keys()].sort();
    const keys: KeyGauge[] = [];
    const secrets: MonitorView["secrets"] = [];
    const now = new Date();
    for (const id of names) {
      const [namespace, secret] = id.split("/") as [string, string];
      try {
        const s = await this.o.api.request<{ data?: Record<string, string> }>("GET", `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets/${encodeURIComponent(secret)}`);
        const ring = await keyRingFromSecretData(id, s.data ?? {});
        const report = checkKeys(ring, { warnDays: this.o.warnDays, now });
        for (const k of report.keys) {
          keys.push({ namespace, secret, type: k.type, fingerprint: k.fingerprint, expires: k.expires ? Date.parse(k.expires) : null, status: k.status });
        }
        secrets.push({ namespace, secret, readable: ring.keys.length > 0 });
      } catch (e) {
        const code = statusCode(e);
        secrets.push({ namespace, secret, readable: false });
        this.error("keys", `verification Secret ${id}: ${code === 404 ? "not found" : code === 403 ? "forbidden (grant get on it, see the chart's monitor.verificationSecrets)" : String((e as Error)?.message ?? e).slice(0, 200)}`);
      }
    }
    this.keys = keys;
    this.secrets = secrets;
  }

  /** The live audit's SubjectAccessReview analysis, reduced to the posture gauges. */
  private async refreshPosture(): Promise<void> {
    try {
      const { loadCluster, liveContext } = await import("../loader/cluster.js");
      const { analyzeLive } = await import("../engine/live.js");
      const config = defaultConfig();
      config.platform.namespaces = [this.o.fluxNamespace];
      const live = liveContext(this.o.api);
      const { model } = await loadCluster({ config, env: {}, purpose: "posture" }, live);
      const analysis = await analyzeLive(model, live);
      const c = model.clusters[0];
      this.posture = {
        at: Date.now(),
        clusterAdmin: analysis.identities.filter((r) => r.allowed["cluster-admin"]).map((r) => ({ identity: r.identity, tier: r.tier })),
        lockdown: c
          ? (["kustomize-controller", "helm-controller"] as const).map((name) => {
              const l = c.lockdown[name];
              return { controller: name, enabled: l.noCrossNamespaceRefs === true && !!l.defaultServiceAccount, evidence: l.evidence };
            })
          : [],
      };
    } catch (e) {
      if (this.stopped) return; // the connections were closed under it
      this.error("posture", String((e as Error)?.message ?? e).slice(0, 300));
    }
  }

  private prune(): void {
    const live = new Set<string>();
    for (const v of this.objects.values()) for (const f of v.failures) live.add(f.key);
    // A series names its object by kind, namespace and name (denied-operation series name an identity: kept).
    const present = new Set<string>();
    for (const v of this.objects.values()) present.add(`${v.kind}/${v.namespace}/${v.name}`);
    const exists = (l: Record<string, string>): boolean => l["name"] === undefined || present.has(`${l["kind"]}/${l["namespace"]}/${l["name"]}`);
    if (this.elector === null || this.elector.leader) this.ledger.prune(Date.now(), live, exists);
    // Clocks of objects deleted meanwhile (or merged from a ledger older than a delete).
    if (this.synced) this.ledger.retainNotReady(new Set(this.objects.keys()));
  }

  /** Serves /metrics, /healthz and /readyz. Resolves with the bound address. */
  async listen(host: string, port: number): Promise<AddressInfo> {
    const metrics = this.metrics!;
    this.server = createServer((req, res) => {
      const path = (req.url ?? "/").split("?")[0];
      if (req.method !== "GET" && req.method !== "HEAD") {
        res.writeHead(405).end();
        return;
      }
      if (path === "/healthz") {
        res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
        return;
      }
      if (path === "/readyz") {
        const ok = this.synced;
        if (ok) this.checkReady();
        res.writeHead(ok ? 200 : 503, { "content-type": "text/plain" }).end(ok ? "ok\n" : "caches not synced\n");
        return;
      }
      if (path === "/metrics") {
        void writeExposition(metrics, req.method === "HEAD", res).catch((e: unknown) => {
          this.error("scrape", String((e as Error)?.message ?? e));
          if (!res.headersSent) res.writeHead(500).end();
          else res.destroy();
        });
        return;
      }
      res.writeHead(404).end();
    });
    this.server.headersTimeout = 10_000;
    this.server.requestTimeout = 30_000;
    await new Promise<void>((resolve, reject) => {
      this.server!.once("error", reject);
      this.server!.listen(port, host, () => resolve());
    });
    return this.server.address() as AddressInfo;
  }

  /** Stops watching, persists the ledger one last time (leader) and releases the Lease. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    for (const { w } of this.watches) w.stop();
    try {
      if (this.store && this.elector?.leader && (this.ledger.generation !== this.persistedGeneration || this.ledger.clockGeneration !== this.persistedClockGeneration)) await this.store.write(this.ledger.snapshot());
    } catch {
      /* the other replica holds the same ledger */
    }
    await this.elector?.stop();
    const closed = new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    this.server?.closeAllConnections();
    await closed;
  }
}

