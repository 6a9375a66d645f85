/**
 * The webhook's view of the cluster: the kinds the live audit lists (Flux objects, RBAC,
 * NetworkPolicies, ServiceAccounts, Namespaces, Flux's controller Deployments), kept current by
 * watches (@kubernetes/client-node ListWatch: list, then watch from the list's
 * resourceVersion, relist on 410). Every change bumps a version, which is what the evaluator
 * caches its baseline by. Secrets are never watched.
 */
import type * as K8s from "@kubernetes/client-node";
import type { KubeConfig, KubernetesListObject, KubernetesObject, KubernetesObjectApi } from "@kubernetes/client-node";
import { clean, LIVE_KINDS } from "../loader/cluster.js";
import type { K8sObject } from "../core/types.js";

/** A consistent view: the objects at one version. */
export interface Snapshot {
  version: number;
  objects: readonly K8sObject[];
}

export interface ObjectSource {
  snapshot(): Snapshot;
  /** True once every watched kind has been listed (the readiness probe). */
  ready(): boolean;
  /** Calls `hook` after every change (the server refreshes the evaluator's baselines then). */
  onChange?(hook: () => void): void;
}

/** The identity of an object across API versions: group, kind, namespace, name. */
export function objectSlot(o: { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } }): string {
  const group = o.apiVersion.includes("/") ? o.apiVersion.slice(0, o.apiVersion.indexOf("/")) : "";
  return `${group}/${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`;
}

/** A fixed set of objects (tests, benchmarks, and `--objects` for dry runs). */
export class StaticObjects implements ObjectSource {
  private version = 1;
  private readonly objects = new Map<string, K8sObject>();
  private readonly hooks: Array<() => void> = [];
  constructor(objects: readonly K8sObject[] = []) {
    for (const o of objects) this.objects.set(objectSlot(o), o);
  }
  snapshot(): Snapshot {
    return { version: this.version, objects: [...this.objects.values()] };
  }
  ready(): boolean {
    return true;
  }
  onChange(hook: () => void): void {
    this.hooks.push(hook);
  }
  /** Adds or replaces an object (a watch event, in tests). */
  put(o: K8sObject): void {
    this.objects.set(objectSlot(o), o);
    this.version++;
    for (const h of this.hooks) h();
  }
  remove(o: K8sObject): void {
    if (!this.objects.delete(objectSlot(o))) return;
    this.version++;
    for (const h of this.hooks) h();
  }
}

export interface WatchStatus {
  kind: string;
  apiVersion: string;
  /** Listed at least once. */
  synced: boolean;
  /** The CRD is not installed (404 on list): counted as synced, with nothing in it. */
  absent: boolean;
  objects: number;
  lastError: string | null;
  restarts: number;
}

interface Watched {
  spec: (typeof LIVE_KINDS)[number];
  status: WatchStatus;
  informer: { start(): Promise<void>; stop(): Promise<void>; list(): ReadonlyArray<KubernetesObject> } | null;
  timer: NodeJS.Timeout | null;
  /**
   * The informer's objects, cleaned once when they arrive (by namespace/name): an object no
   * event touched stays the same JavaScript object from one snapshot to the next, which is how
   * the evaluator tells which kinds changed.
   */
  objects: Map<string, K8sObject>;
}

function nameKey(o: KubernetesObject): string {
  return `${o.metadata?.namespace ?? ""}/${o.metadata?.name ?? ""}`;
}

/** Plural resource names of the watched kinds (the API paths). */
function resourcePath(apiVersion: string, kind: string): string {
  const lower = kind.toLowerCase();
  const plural = lower.endsWith("y") && !lower.endsWith("ay") ? `${lower.slice(0, -1)}ies` : lower.endsWith("s") ? `${lower}es` : `${lower}s`;
  return apiVersion.includes("/") ? `/apis/${apiVersion}/${plural}` : `/api/${apiVersion}/${plural}`;
}

/**
 * Watches every kind the model needs. `ready()` turns true when each kind has been listed
 * once (or found absent); a watch that ends with an error is restarted with a backoff
 * (client-node's ListWatch retries only timeouts by itself).
 */
export class WatchCache implements ObjectSource {
  private version = 0;
  private cached: Snapshot | null = null;
  private readonly watched: Watched[];
  private stopped = false;
  private onChangeHooks: Array<() => void> = [];

  constructor(
    private readonly kc: KubeConfig,
    private readonly log: (line: string) => void = () => undefined,
  ) {
    this.watched = LIVE_KINDS.map((spec) => ({
      spec,
      status: { kind: spec.kind, apiVersion: spec.apiVersion, synced: false, absent: false, objects: 0, lastError: null, restarts: 0 },
      informer: null,
      timer: null,
      objects: new Map(),
    }));
  }

  /** Called after every change (metrics). */
  onChange(hook: () => void): void {
    this.onChangeHooks.push(hook);
  }

  async start(): Promise<void> {
    const k8s = await import("@kubernetes/client-node");
    const objectsApi = k8s.KubernetesObjectApi.makeApiClient(this.kc);
    for (const w of this.watched) this.startOne(w, k8s, objectsApi);
  }

  private startOne(w: Watched, k8s: typeof K8s, api: KubernetesObjectApi): void {
    if (this.stopped) return;
    const { apiVersion, kind } = w.spec;
    const labelSelector = w.spec.labelSelector;
    const listFn = async () => {
      try {
        const res = await api.list(apiVersion, kind, undefined, undefined, undefined, undefined, undefined, labelSelector);
        w.status.absent = false;
        return res as unknown as KubernetesListObject<KubernetesObject>;
      } catch (e) {
        const code = (e as { code?: number }).code;
        const msg = String((e as Error).message ?? e);
        // A kind the audit reads on a best-effort basis (admission policies, Kyverno policies):
        // without the right to list it, the rules that need it see none, as in `audit --cluster`.
        const forbidden = code === 403 && w.spec.bestEffort === true;
        if (forbidden) this.log(`list ${kind}: forbidden; the rules that read it see none`);
        if (forbidden || code === 404 || (/Unrecognized API version and kind|not found/i.test(msg) && !code)) {
          // No CRD: nothing of this kind can exist; admissions of it cannot reach us either.
          w.status.absent = true;
          w.status.synced = true;
          return { apiVersion: "v1", kind: "List", metadata: { resourceVersion: "" }, items: [] } as unknown as KubernetesListObject<KubernetesObject>;
        }
        throw e;
      }
    };
    const informer = new k8s.ListWatch<KubernetesObject>(resourcePath(apiVersion, kind), new k8s.Watch(this.kc), listFn, false, labelSelector);
    // A new informer replaces the one in use only once it has listed: until then the cache keeps
    // serving the last good list, so a watch restart never makes objects vanish from the model.
    let failed: string | null = null;
    const active = (): boolean => w.informer === informer;
    const changed = (): void => {
      w.status.objects = w.objects.size;
      this.version++;
      this.cached = null;
      for (const h of this.onChangeHooks) h();
    };
    const put = (o: KubernetesObject): void => {
      if (!active()) return;
      w.objects.set(nameKey(o), clean(o, w.spec.apiVersion, w.spec.kind));
      changed();
    };
    informer.on("add", put);
    informer.on("update", put);
    informer.on("delete", (o: KubernetesObject) => {
      if (!active()) return;
      w.objects.delete(nameKey(o));
      changed();
    });
    const retry = (why: string): void => {
      w.status.lastError = why;
      if (this.stopped || w.timer) return;
      // An absent CRD: look again every minute, quietly (installing it later needs no restart).
      const delay = w.status.absent ? 60_000 : Math.min(30_000, 1000 * 2 ** Math.min(5, w.status.restarts++));
      if (!w.status.absent) this.log(`watch ${kind}: ${why}; restarting in ${delay} ms`);
      w.timer = setTimeout(() => {
        w.timer = null;
        this.startOne(w, k8s, api);
      }, delay);
      w.timer.unref();
    };
    informer.on("error", (err: unknown) => {
      const why = String((err as Error)?.message ?? err);
      if (!active()) {
        failed = why; // during its first list: start() resolves, and we retry below
        return;
      }
      // A watch that ended with an error is not restarted by client-node: start a new one.
      void informer.stop().catch(() => undefined);
      retry(why);
    });
    informer
      .start()
      .then(() => {
        if (this.stopped) return void informer.stop().catch(() => undefined);
        if (failed !== null) {
          void informer.stop().catch(() => undefined);
          return retry(failed);
        }
        const old = w.informer;
        w.informer = informer;
        if (!w.status.synced) this.log(`watch ${kind}: listed ${informer.list().length}`);
        w.status.synced = true;
        w.status.lastError = null;
        // The new list replaces the old one whole (a relist after a 410 may have missed deletions).
        w.objects = new Map(informer.list().map((o) => [nameKey(o), clean(o, w.spec.apiVersion, w.spec.kind)]));
        changed();
        if (old && old !== informer) void old.stop().catch(() => undefined);
      })
      .catch((err: unknown) => retry(String((err as Error)?.message ?? err)));
  }

  ready(): boolean {
    return this.watched.every((w) => w.status.synced);
  }

  status(): WatchStatus[] {
    return this.watched.map((w) => ({ ...w.status }));
  }

  snapshot(): Snapshot {
    if (this.cached) return this.cached;
    const objects: K8sObject[] = [];
    for (const w of this.watched) for (const o of w.objects.values()) objects.push(o);
    this.cached = { version: this.version, objects };
    return this.cached;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const w of this.watched) {
      if (w.timer) clearTimeout(w.timer);
      await w.informer?.stop().catch(() => undefined);
    }
  }
}
