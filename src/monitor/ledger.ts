/**
 * The failure ledger: which failures have been counted, and the counter value of each series.
 *
 * A counter value is `folded[series] + |keys of that series still held|`. Keys are failure
 * identities (signals.ts), so counting is idempotent: a relist, a restart that reloads the
 * persisted ledger, or a second replica that saw the same failure adds nothing. Two ledgers
 * merge by union (a key counts once whoever saw it first).
 *
 * Keys are kept for `retentionMs` (default 24 h: longer than an Event lives, 1 h) after the
 * failure; older keys whose failure the cluster no longer shows are folded into `folded` and
 * the `horizon` moves forward. A key older than the horizon is never counted again. Merging
 * takes the larger horizon and that side's folded counts.
 *
 * Not-ready clocks live here too: when each object was first seen not Ready (kept across
 * Ready=Unknown "reconciliation in progress" flips), so "not ready for 10 minutes" does not
 * restart with every retry, nor with a monitor restart.
 */
import type { Failure, Signal } from "./signals.js";

/** One counter series: its signal, labels, value and last increase. */
export interface SeriesState {
  signal: Signal;
  labels: Record<string, string>;
  /** Failures folded out of the key set (older than the horizon). */
  folded: number;
  /** When a failure was last counted in this series, by the monitor's clock (ms). */
  lastCounted: number;
}

/** The persisted form (JSON in the state ConfigMap). */
export interface LedgerSnapshot {
  version: 1;
  horizon: number;
  series: Record<string, SeriesState>;
  /** failure key -> [series id, failure time (ms), counted at (ms)] */
  keys: Record<string, [string, number, number]>;
  /** object uid -> first seen not ready (ms) */
  notReadySince: Record<string, number>;
}

export function seriesId(signal: Signal, labels: Record<string, string>): string {
  return `${signal}${JSON.stringify(Object.keys(labels).sort().map((k) => [k, labels[k]]))}`;
}

export class FailureLedger {
  private horizon = 0;
  private readonly series = new Map<string, SeriesState>();
  private readonly keys = new Map<string, [string, number, number]>();
  private readonly notReady = new Map<string, number>();
  /** Bumped when a count changes (keys, series, horizon): the writer persists it promptly. */
  generation = 0;
  /**
   * Bumped when a not-ready clock starts or stops: every reconcile of a healthy object flips
   * Ready through Unknown, so the writer persists these at a slower pace.
   */
  clockGeneration = 0;

  /**
   * @param retentionMs how long a counted failure's key is held (ms; default 24 h).
   * @param maxKeys at most this many keys are held (default 20,000): beyond it, `prune` folds
   *   the oldest keys the cluster no longer shows and moves the horizon past them, so a
   *   failure storm neither grows memory without bound nor outgrows the state ConfigMap
   *   (1 MiB; 20,000 keys are about 0.4 MB gzipped). A failure older than the horizon is
   *   never counted again, so folding never counts one twice; it can miss a new failure whose
   *   time (a condition's lastTransitionTime) is before the horizon, which under a failure
   *   storm can be minutes ago. Verification failures are also reported by a new Event (its
   *   time is now), which is counted.
   */
  constructor(
    private readonly retentionMs = 24 * 3600_000,
    private readonly maxKeys = 20_000,
  ) {}

  /**
   * Counts a failure unless its key was counted before. Returns true when it was new.
   * `now` is the monitor's clock, used for `lastCounted` (the alerts' "recent failure").
   */
  record(f: Failure, now: number): boolean {
    if (this.keys.has(f.key)) return false;
    const at = Number.isFinite(f.at) ? f.at : now;
    if (at < this.horizon) return false; // folded already
    const id = seriesId(f.signal, f.labels);
    let s = this.series.get(id);
    if (!s) {
      s = { signal: f.signal, labels: { ...f.labels }, folded: 0, lastCounted: 0 };
      this.series.set(id, s);
    }
    this.keys.set(f.key, [id, at, now]);
    s.lastCounted = Math.max(s.lastCounted, now);
    this.generation++;
    return true;
  }

  /** Whether a failure key has been counted (held or folded). */
  has(key: string): boolean {
    return this.keys.has(key);
  }

  /** The counter value of every series, with its labels and last increase. */
  counters(): Array<SeriesState & { id: string; value: number }> {
    const held = new Map<string, number>();
    for (const [, [id]] of this.keys) held.set(id, (held.get(id) ?? 0) + 1);
    return [...this.series].map(([id, s]) => ({ ...s, id, value: s.folded + (held.get(id) ?? 0) }));
  }

  /** Not-ready clock: the earliest time the object is known not Ready. */
  notReadySince(uid: string, observedSince: number, now: number): number {
    const since = Number.isFinite(observedSince) ? Math.min(observedSince, now) : now;
    const prev = this.notReady.get(uid);
    if (prev !== undefined && prev <= since) return prev;
    this.notReady.set(uid, since);
    this.clockGeneration++;
    return since;
  }

  /** When the object was first seen not Ready, or null while it is Ready. */
  notReadyAt(uid: string): number | null {
    return this.notReady.get(uid) ?? null;
  }

  /** The object is Ready (or gone): its not-ready clock stops. */
  clearNotReady(uid: string): void {
    if (this.notReady.delete(uid)) this.clockGeneration++;
  }

  /**
   * Folds keys older than the retention that the cluster no longer shows (`live` = keys the
   * current objects still report), then the oldest such keys beyond `maxKeys`, and drops the
   * series of objects that are gone (`exists(labels)` false) once they hold no key and last
   * counted before the horizon: their counter disappears, as kube-state-metrics drops a
   * deleted object's series. Returns how many keys were folded.
   */
  prune(now: number, live: ReadonlySet<string>, exists: (labels: Record<string, string>) => boolean = () => true): number {
    let horizon = Math.max(this.horizon, now - this.retentionMs);
    // Keys the retention folds anyway (`expired`) count against the excess; the rest are candidates.
    let expired = 0;
    const foldable: Array<[string, [string, number, number]]> = [];
    for (const entry of this.keys) {
      if (live.has(entry[0])) continue;
      if (entry[1][1] < horizon) expired++;
      else foldable.push(entry);
    }
    const excess = this.keys.size - expired - this.maxKeys;
    if (excess > 0) {
      // The oldest first; the horizon moves past the newest folded one.
      foldable.sort((a, b) => a[1][1] - b[1][1]);
      const cut = foldable[Math.min(excess, foldable.length) - 1];
      if (cut) horizon = Math.max(horizon, cut[1][1] + 1);
    }
    if (horizon <= this.horizon) return 0;
    let folded = 0;
    for (const [key, entry] of this.keys) {
      const [id, at] = entry;
      if (at >= horizon) continue;
      if (live.has(key)) {
        // Still shown by the cluster: kept, and moved up to the horizon, so that every held
        // key is newer than it. A restarted replica loading this ledger then keeps the key
        // (instead of dropping it as folded, while no count holds it) and never counts the
        // failure again.
        entry[1] = horizon;
        continue;
      }
      this.keys.delete(key);
      const s = this.series.get(id);
      if (s) s.folded++;
      folded++;
    }
    this.horizon = horizon;
    const held = new Set<string>();
    for (const [, [id]] of this.keys) held.add(id);
    for (const [id, s] of this.series) if (!held.has(id) && s.lastCounted < horizon && !exists(s.labels)) this.series.delete(id);
    this.generation++;
    return folded;
  }

  /** How many failure keys are held (for the bench and tests). */
  get heldKeys(): number {
    return this.keys.size;
  }

  snapshot(): LedgerSnapshot {
    return {
      version: 1,
      horizon: this.horizon,
      series: Object.fromEntries(this.series),
      keys: Object.fromEntries(this.keys),
      notReadySince: Object.fromEntries(this.notReady),
    };
  }

  /**
   * Merges a persisted ledger (this replica's own from before a restart, or the writer's).
   * A key counts once; when the other side's horizon is later, its folded counts win and the
   * keys it folded are dropped here. Malformed input is ignored field by field.
   */
  merge(other: unknown): void {
    const o = other as Partial<LedgerSnapshot> | null;
    if (!o || typeof o !== "object" || o.version !== 1) return;
    let changed = false;
    const theirHorizon = typeof o.horizon === "number" && Number.isFinite(o.horizon) ? o.horizon : 0;
    const theirSeries = o.series && typeof o.series === "object" ? o.series : {};
    const theyPrunedLater = theirHorizon > this.horizon;
    if (theyPrunedLater) {
      for (const [key, [, at]] of this.keys) if (at < theirHorizon && !(o.keys && key in o.keys)) this.keys.delete(key);
      for (const s of this.series.values()) s.folded = 0;
      for (const [id, s] of Object.entries(theirSeries)) {
        const mine = this.series.get(id);
        if (mine && typeof s?.folded === "number") mine.folded = s.folded;
      }
      this.horizon = theirHorizon;
      changed = true;
    }
    for (const [id, s] of Object.entries(theirSeries)) {
      if (!s || typeof s !== "object" || typeof s.signal !== "string" || !s.labels || typeof s.labels !== "object") continue;
      const mine = this.series.get(id);
      if (!mine) {
        this.series.set(id, { signal: s.signal, labels: { ...s.labels }, folded: theirHorizon >= this.horizon && typeof s.folded === "number" ? s.folded : 0, lastCounted: Number(s.lastCounted) || 0 });
        changed = true;
      } else if ((Number(s.lastCounted) || 0) > mine.lastCounted) {
        mine.lastCounted = Number(s.lastCounted);
        changed = true;
      }
    }
    for (const [key, v] of Object.entries(o.keys ?? {})) {
      if (!Array.isArray(v) || typeof v[0] !== "string" || this.keys.has(key)) continue;
      const at = Number(v[1]);
      if (!(at >= this.horizon) || !this.series.has(v[0])) continue;
      this.keys.set(key, [v[0], at, Number(v[2]) || at]);
      const s = this.series.get(v[0])!;
      s.lastCounted = Math.max(s.lastCounted, Number(v[2]) || 0);
      changed = true;
    }
    if (theyPrunedLater) {
      // Series their prune dropped (objects that are gone, holding no key, counted before
      // the horizon) go here too: kept, they would read 0 (their folded count was reset above)
      // and Prometheus would take the drop for a counter reset.
      const held = new Set<string>();
      for (const [, [id]] of this.keys) held.add(id);
      for (const [id, s] of this.series) if (!(id in theirSeries) && !held.has(id) && s.lastCounted < theirHorizon) this.series.delete(id);
    }
    let clocks = false;
    for (const [uid, t] of Object.entries(o.notReadySince ?? {})) {
      if (typeof t !== "number" || !Number.isFinite(t)) continue;
      const mine = this.notReady.get(uid);
      if (mine === undefined || t < mine) {
        this.notReady.set(uid, t);
        clocks = true;
      }
    }
    if (changed) this.generation++;
    if (clocks) this.clockGeneration++;
  }

  /**
   * Drops the not-ready clocks of objects that are gone (`uids`: every object held, once every
   * watch has listed; the monitor calls it with its minute prune). Returns how many went.
   */
  retainNotReady(uids: ReadonlySet<string>): number {
    let dropped = 0;
    for (const uid of this.notReady.keys()) {
      if (uids.has(uid)) continue;
      this.notReady.delete(uid);
      dropped++;
    }
    if (dropped) this.clockGeneration++;
    return dropped;
  }
}
