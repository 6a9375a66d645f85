/**
 * Leader election on a coordination.k8s.io/v1 Lease (client-go's leaderelection, simplified)
 * and the persisted ledger in a ConfigMap.
 *
 * Why a leader: every replica watches and counts by failure identity, so every replica serves
 * the same counters and an alert survives either replica dying. Only the persisted ledger needs
 * one writer, so that two replicas never overwrite each other's ledger: the Lease holder writes
 * it, the others read it and merge (a union, see ledger.ts). Optimistic concurrency
 * (resourceVersion) guards both the Lease and the ConfigMap.
 */
import { gunzipSync, gzipSync } from "node:zlib";
import type { KubeApi } from "../loader/kube-http.js";
import { statusCode } from "./watch.js";

/** RFC 3339 with microseconds, the wire format of a MicroTime. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

/** The fields of a coordination.k8s.io/v1 Lease the election reads and writes. */
interface Lease {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
  spec?: { holderIdentity?: string; leaseDurationSeconds?: number; acquireTime?: string; renewTime?: string; leaseTransitions?: number };
}

interface ConfigMap {
  metadata?: { resourceVersion?: string };
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
}

const leasePath = (namespace: string, name?: string): string => `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases${name ? `/${encodeURIComponent(name)}` : ""}`;
const configMapPath = (namespace: string, name?: string): string => `/api/v1/namespaces/${encodeURIComponent(namespace)}/configmaps${name ? `/${encodeURIComponent(name)}` : ""}`;

export interface LeaseOptions {
  namespace: string;
  name: string;
  identity: string;
  /** Seconds a holder's claim lasts without renewal (client-go default 15). */
  leaseSeconds?: number;
  /** How often the holder renews and the others retry, ms (default 2000). */
  retryMs?: number;
  log?: (msg: string) => void;
  onChange?: (leader: boolean) => void;
}

/**
 * Leader election as client-go's leaderelection does it (tools/leaderelection/leaderelection.go):
 * a Lease held by another replica is expired only when its record (holder, renewTime,
 * transitions) has not changed for `leaseSeconds` by this replica's own clock, so clock skew
 * between replicas cannot make two leaders; the holder gives up leading when it has not
 * renewed for the renew deadline (two thirds of the lease), and each Lease request is bounded
 * by that deadline, so a hung request cannot keep a stale leader.
 */
export class LeaderElector {
  leader = false;
  holder = "";
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private lastRenew = 0;
  /** The other holder's record as last seen, and when (this replica's clock, ms). */
  private observed = "";
  private observedAt = 0;

  constructor(
    private readonly api: KubeApi,
    private readonly o: LeaseOptions,
  ) {}

  start(): void {
    void this.tick();
  }

  /** Stops renewing; a holder releases the Lease so the other replica takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (!this.leader) return;
    // Bounded: a release that cannot happen within a few seconds is left to expire (a Pod's
    // termination grace period is 30 s by default).
    const timeoutMs = 3000;
    try {
      const lease = await this.api.request<Lease>("GET", leasePath(this.o.namespace, this.o.name), { timeoutMs });
      if (lease.spec?.holderIdentity === this.o.identity) {
        lease.spec.holderIdentity = "";
        lease.spec.leaseDurationSeconds = 1;
        await this.api.request("PUT", leasePath(this.o.namespace, this.o.name), { body: lease, timeoutMs });
      }
    } catch {
      /* the Lease expires on its own */
    }
    this.set(false);
  }

  private set(leader: boolean): void {
    if (leader === this.leader) return;
    this.leader = leader;
    this.o.log?.(leader ? `became the leader (Lease ${this.o.namespace}/${this.o.name})` : "is no longer the leader");
    this.o.onChange?.(leader);
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    const now = Date.now();
    const duration = this.o.leaseSeconds ?? 15;
    const renewDeadline = duration * 1000 * 0.66;
    // One deadline for the whole round (GET, then PUT or POST): the time left, never more.
    const deadline = now + renewDeadline;
    const left = (): number => {
      const ms = deadline - Date.now();
      if (ms <= 0) throw new Error(`the Lease round took longer than the renew deadline (${Math.round(renewDeadline)} ms)`);
      return ms;
    };
    try {
      let lease: Lease;
      try {
        lease = await this.api.request<Lease>("GET", leasePath(this.o.namespace, this.o.name), { timeoutMs: left() });
      } catch (e) {
        if (statusCode(e) !== 404) throw e;
        const body: Lease = {
          apiVersion: "coordination.k8s.io/v1",
          kind: "Lease",
          metadata: { name: this.o.name, namespace: this.o.namespace },
          spec: { holderIdentity: this.o.identity, leaseDurationSeconds: duration, acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: 0 },
        };
        await this.api.request("POST", leasePath(this.o.namespace), { body, timeoutMs: left() });
        left();
        this.holder = this.o.identity;
        this.lastRenew = now;
        this.set(true);
        return;
      }
      const spec = lease.spec ?? {};
      const holder = spec.holderIdentity ?? "";
      const record = `${holder}|${spec.renewTime ?? ""}|${spec.leaseTransitions ?? 0}`;
      if (record !== this.observed) {
        // As client-go: the time this replica saw the record, after the GET returned.
        this.observed = record;
        this.observedAt = Date.now();
      }
      const held = (spec.leaseDurationSeconds ?? duration) * 1000;
      const expired = !holder || this.observedAt + held < Date.now();
      this.holder = holder;
      if (holder === this.o.identity || expired) {
        const transitions = (spec.leaseTransitions ?? 0) + (holder === this.o.identity ? 0 : 1);
        lease.spec = {
          ...spec,
          holderIdentity: this.o.identity,
          leaseDurationSeconds: duration,
          renewTime: microTime(now),
          acquireTime: holder === this.o.identity ? spec.acquireTime : microTime(now),
          leaseTransitions: transitions,
        };
        await this.api.request("PUT", leasePath(this.o.namespace, this.o.name), { body: lease, timeoutMs: left() });
        left(); // a renewal that landed after the deadline does not count: another may lead
        this.holder = this.o.identity;
        this.lastRenew = now;
        this.set(true);
      } else {
        this.set(false);
      }
    } catch (e) {
      // A conflict means another replica won this round; any other error: keep leading only
      // while the last renewal is still valid.
      if (statusCode(e) !== 409) this.o.log?.(`lease: ${String((e as Error)?.message ?? e).slice(0, 200)}`);
      if (this.leader && Date.now() - this.lastRenew > renewDeadline) this.set(false);
    } finally {
      if (!this.stopped) {
        this.timer = setTimeout(() => void this.tick(), this.o.retryMs ?? 2000);
        this.timer.unref?.();
      }
    }
  }
}

/** The ledger ConfigMap: read by every replica, written by the leader. */
export class StateStore {
  private rv: string | undefined;

  constructor(
    private readonly api: KubeApi,
    private readonly namespace: string,
    private readonly name: string,
  ) {}

  /**
   * The persisted ledger, or null when there is none yet. A ConfigMap that cannot be decoded
   * (edited by hand, truncated) is reported in `corrupt` and read as empty: the next write
   * replaces it. API errors (unreachable, forbidden) throw, so the caller retries.
   */
  async read(): Promise<{ snapshot: unknown; corrupt: string | null }> {
    let cm: ConfigMap;
    try {
      cm = await this.api.request<ConfigMap>("GET", configMapPath(this.namespace, this.name));
    } catch (e) {
      if (statusCode(e) === 404) return { snapshot: null, corrupt: null };
      throw e;
    }
    this.rv = cm.metadata?.resourceVersion;
    try {
      const gz = cm.binaryData?.["ledger.json.gz"];
      if (gz) return { snapshot: JSON.parse(gunzipSync(Buffer.from(gz, "base64")).toString("utf8")) as unknown, corrupt: null };
      const text = cm.data?.["ledger.json"];
      return { snapshot: text ? (JSON.parse(text) as unknown) : null, corrupt: null };
    } catch (e) {
      return { snapshot: null, corrupt: (e as Error).message };
    }
  }

  /** Writes the ledger; a conflict (someone else wrote) is reported as false. */
  async write(snapshot: unknown): Promise<boolean> {
    const body = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: this.name, namespace: this.namespace, labels: { "app.kubernetes.io/part-of": "fluxguard", "app.kubernetes.io/component": "monitor" }, ...(this.rv ? { resourceVersion: this.rv } : {}) },
      // gzip: a ConfigMap holds at most 1 MiB, and failure keys compress well (≈10x).
      binaryData: { "ledger.json.gz": gzipSync(JSON.stringify(snapshot)).toString("base64") },
    };
    try {
      const res = this.rv
        ? await this.api.request<ConfigMap>("PUT", configMapPath(this.namespace, this.name), { body })
        : await this.api.request<ConfigMap>("POST", configMapPath(this.namespace), { body });
      this.rv = res.metadata?.resourceVersion;
      return true;
    } catch (e) {
      const code = statusCode(e);
      if (code === 409) {
        this.rv = undefined;
        return false;
      }
      throw e;
    }
  }
}
