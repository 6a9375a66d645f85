/**
 * The monitor's Prometheus metrics (prom-client, a private Registry: no global state). Values
 * are computed at scrape time from the monitor's state, so a scrape always sees one consistent
 * picture and nothing is kept twice.
 *
 * Names are prefixed `fluxguard_` (`flux_` belongs to the Flux Operator, `gotk_` to Flux).
 */
import type { ServerResponse } from "node:http";
import type { Registry as RegistryT } from "prom-client";
import type { LockdownGauge, MonitorView } from "./monitor.js";
import type { ObjectView } from "./signals.js";

/** Metric names, documented in README "Monitoring" with the seed's names they replace. */
export const METRIC = {
  verificationFailures: "fluxguard_verification_failures_total",
  verificationLast: "fluxguard_verification_failure_last_timestamp_seconds",
  fetchFailures: "fluxguard_fetch_failures_total",
  fetchLast: "fluxguard_fetch_failure_last_timestamp_seconds",
  denied: "fluxguard_reconcile_denied_total",
  deniedLast: "fluxguard_reconcile_denied_last_timestamp_seconds",
  ready: "fluxguard_resource_ready",
  notReadySeconds: "fluxguard_resource_not_ready_seconds",
  suspended: "fluxguard_resource_suspended",
  keyExpiry: "fluxguard_signing_key_expiry_seconds",
  keyRevoked: "fluxguard_signing_key_revoked",
  keyInfo: "fluxguard_signing_key_info",
  keysSecretReadable: "fluxguard_verification_secret_readable",
  clusterAdmin: "fluxguard_reconcilers_cluster_admin",
  clusterAdminIdentity: "fluxguard_reconciler_cluster_admin",
  lockdown: "fluxguard_lockdown_enabled",
  postureLast: "fluxguard_posture_last_success_timestamp_seconds",
  synced: "fluxguard_monitor_synced",
  leader: "fluxguard_monitor_leader",
  watchRestarts: "fluxguard_monitor_watch_restarts_total",
  watchUp: "fluxguard_monitor_watch_up",
  objects: "fluxguard_monitor_objects",
  errors: "fluxguard_monitor_errors_total",
  identities: "fluxguard_monitor_failure_identities",
} as const;

/** What /metrics serves: the exposition text and its content type. */
export interface MonitorMetrics {
  contentType: string;
  /**
   * One scrape's exposition as consecutive pieces of at most about `CHUNK_CHARS` characters
   * each (a line is never split), made as they are consumed: a 10,000-object scrape is 3.4 MB
   * of text, and written as one string it needed a native copy of that size per scrape. All
   * pieces of one scrape read the same view.
   */
  chunks(): AsyncGenerator<string, void, undefined>;
  /** The whole exposition text of one scrape (the pieces of `chunks()` joined; tests). */
  text(): Promise<string>;
  /** The prom-client registry of every family but the per-object ones (tests). */
  registry: RegistryT;
}

/** The size a piece of the exposition grows to before it is handed out (characters). */
export const CHUNK_CHARS = 64 * 1024;

/** A Prometheus label value, escaped as the text format requires (`\\`, `\"`, `\n`). */
export function escapeLabelValue(v: string): string {
  return /[\\"\n]/.test(v) ? v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n") : v;
}

const PER_OBJECT = [
  { name: METRIC.ready, help: "1 when the Flux object's Ready condition is True, else 0; reason is the Ready reason." },
  { name: METRIC.notReadySeconds, help: "Seconds the Flux object has been not Ready (False or Unknown), counted from when it was first not Ready, across retries and monitor restarts; 0 when Ready or suspended." },
  { name: METRIC.suspended, help: "1 when the Flux object is suspended (spec.suspend)." },
] as const;

/**
 * The per-object families (three series per Flux object), written straight to text: through
 * prom-client each scrape built a labels object and a hash key per series, which at 10,000
 * objects cost more memory than the objects themselves. An object's label text is made once
 * per version of its view (the view is replaced when the object changes). Yields pieces of
 * about `CHUNK_CHARS`; each family's lines stay together, as the text format requires.
 */
function* perObjectChunks(v: MonitorView, labelCache: WeakMap<ObjectView, string>): Generator<string, void, undefined> {
  const labels = (o: ObjectView): string => {
    let l = labelCache.get(o);
    if (l === undefined) {
      l = `kind="${escapeLabelValue(o.kind)}",namespace="${escapeLabelValue(o.namespace)}",name="${escapeLabelValue(o.name)}"`;
      labelCache.set(o, l);
    }
    return l;
  };
  const line: Array<(o: ObjectView) => string | null> = [
    (o) => `${METRIC.ready}{${labels(o)},reason="${escapeLabelValue(o.ready.reason)}"} ${o.ready.status === "True" ? 1 : 0}\n`,
    (o) => {
      const since = v.notReadySince(o.uid);
      return `${METRIC.notReadySeconds}{${labels(o)}} ${since === null ? 0 : Math.max(0, (v.now - since) / 1000)}\n`;
    },
    (o) => (o.suspended ? `${METRIC.suspended}{${labels(o)}} 1\n` : null),
  ];
  let piece = "";
  for (let i = 0; i < PER_OBJECT.length; i++) {
    const f = PER_OBJECT[i]!;
    piece += `# HELP ${f.name} ${f.help}\n# TYPE ${f.name} gauge\n`;
    for (const o of v.objects) {
      const l = line[i]!(o);
      if (l === null) continue;
      piece += l;
      if (piece.length >= CHUNK_CHARS) {
        yield piece;
        piece = "";
      }
    }
  }
  if (piece) yield piece;
}

/** Builds the metrics; `view` is read on every scrape. */
export async function buildMetrics(view: () => MonitorView): Promise<MonitorMetrics> {
  const registry = await buildRegistry(view);
  const labelCache = new WeakMap<ObjectView, string>();
  async function* chunks(): AsyncGenerator<string, void, undefined> {
    // prom-client calls every family's collect() synchronously inside metrics(), so in the
    // same tick as this view() call: the monitor's view is cached for that tick, and the
    // per-object families and the rest describe the same moment.
    const v = view();
    const restText = registry.metrics();
    // A scrape abandoned before the rest is read (HEAD, a scraper that left) must not leave
    // its rejection unhandled; one that reads it gets the error from the await below.
    restText.catch(() => undefined);
    yield* perObjectChunks(v, labelCache);
    // The other families: one series per failing source and reason (a few thousand under a
    // failure storm), per key, per watch. Handed out in pieces too, cut at line ends.
    const rest = await restText;
    for (let at = 0; at < rest.length; ) {
      let end = rest.indexOf("\n", Math.min(at + CHUNK_CHARS, rest.length) - 1);
      end = end < 0 ? rest.length : end + 1;
      yield rest.slice(at, end);
      at = end;
    }
  }
  return {
    contentType: registry.contentType,
    registry,
    chunks,
    text: async () => {
      let all = "";
      for await (const c of chunks()) all += c;
      return all;
    },
  };
}

/**
 * Writes one scrape in the pieces `metrics.chunks()` makes, waiting for the socket to drain
 * between them, so no piece larger than about 64 KB is ever copied into a native buffer and a
 * slow scraper holds at most one piece in flight. A scraper that goes away ends the scrape.
 * Errors before the first piece reject (the caller answers 500); a later one destroys the
 * response, so a scraper never takes a truncated exposition for a whole one.
 */
export async function writeExposition(metrics: MonitorMetrics, head: boolean, res: ServerResponse): Promise<void> {
  const pieces = metrics.chunks();
  const first = await pieces.next();
  res.writeHead(200, { "content-type": metrics.contentType });
  if (head) {
    await pieces.return();
    res.end();
    return;
  }
  for (let r = first; !r.done; r = await pieces.next()) {
    if (res.destroyed) {
      await pieces.return();
      return;
    }
    if (!res.write(r.value)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          res.off("drain", done);
          res.off("close", done);
          resolve();
        };
        res.once("drain", done);
        res.once("close", done);
      });
    }
  }
  res.end();
}

async function buildRegistry(view: () => MonitorView): Promise<RegistryT> {
  const prom = await import("prom-client");
  const registry = new prom.Registry();
  const counterFamily = (name: string, help: string, signal: "verification" | "fetch" | "denied", labelNames: string[]): void => {
    new prom.Counter({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        for (const s of view().counters) if (s.signal === signal) this.inc(s.labels, s.value);
      },
    });
  };
  const lastFamily = (name: string, help: string, signal: "verification" | "fetch" | "denied", labelNames: string[]): void => {
    new prom.Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        for (const s of view().counters) if (s.signal === signal && s.lastCounted > 0) this.set(s.labels, s.lastCounted / 1000);
      },
    });
  };
  const src = ["kind", "namespace", "name", "reason"];
  const verified = [...src, "verdict"];
  counterFamily(METRIC.verificationFailures, "Signature verifications Flux failed, per source and reason; each rejected revision counts once (SourceVerified/Ready conditions and Warning Events). verdict: rejected (a signature was refused) or unverifiable (keys, mode or provider could not be used).", "verification", verified);
  lastFamily(METRIC.verificationLast, "When the monitor last counted a verification failure of this source and reason (Unix seconds).", "verification", verified);
  counterFamily(METRIC.fetchFailures, "Fetch failure episodes per source and reason (FetchFailed=True: GitOperationFailed, AuthenticationFailed, OCI/Helm equivalents).", "fetch", src);
  lastFamily(METRIC.fetchLast, "When the monitor last counted a fetch failure of this source and reason (Unix seconds).", "fetch", src);
  const den = ["identity", "kind", "verb", "mechanism"];
  counterFamily(METRIC.denied, "Reconciliation attempts refused by RBAC or admission, per reconciler identity and the kind and verb refused.", "denied", den);
  lastFamily(METRIC.deniedLast, "When the monitor last counted a refused reconciliation for this identity, kind and verb (Unix seconds).", "denied", den);

  const keyLabels = ["namespace", "secret", "type", "fingerprint"];
  new prom.Gauge({
    name: METRIC.keyExpiry,
    help: "Seconds until a trusted key in a verification Secret that a source names can no longer sign (negative: expired). Keys that never expire have no series.",
    labelNames: keyLabels,
    registers: [registry],
    collect() {
      this.reset();
      const v = view();
      for (const k of v.keys) if (k.expires !== null) this.set({ namespace: k.namespace, secret: k.secret, type: k.type, fingerprint: k.fingerprint }, (k.expires - v.now) / 1000);
    },
  });
  new prom.Gauge({
    name: METRIC.keyRevoked,
    help: "1 when a trusted key in a verification Secret is revoked.",
    labelNames: keyLabels,
    registers: [registry],
    collect() {
      this.reset();
      for (const k of view().keys) this.set({ namespace: k.namespace, secret: k.secret, type: k.type, fingerprint: k.fingerprint }, k.status === "revoked" ? 1 : 0);
    },
  });
  new prom.Gauge({
    name: METRIC.keyInfo,
    help: "One series per trusted key in a verification Secret that a source names; status as `fluxguard keys check` reports it (ok, expiring, expired, revoked, unusable).",
    labelNames: [...keyLabels, "status"],
    registers: [registry],
    collect() {
      this.reset();
      for (const k of view().keys) this.set({ namespace: k.namespace, secret: k.secret, type: k.type, fingerprint: k.fingerprint, status: k.status }, 1);
    },
  });
  new prom.Gauge({
    name: METRIC.keysSecretReadable,
    help: "1 when a verification Secret a source names could be read and parsed; 0 when it is missing, forbidden or malformed (Flux then fails with VerificationError).",
    labelNames: ["namespace", "secret"],
    registers: [registry],
    collect() {
      this.reset();
      for (const s of view().secrets) this.set({ namespace: s.namespace, secret: s.secret }, s.readable ? 1 : 0);
    },
  });

  new prom.Gauge({
    name: METRIC.clusterAdmin,
    help: "Reconciler identities the API server says may do anything cluster-wide (SubjectAccessReview * on *), from the live audit's analysis; no series until the first analysis succeeded (not assessed is not zero).",
    labelNames: ["flux_namespace"],
    registers: [registry],
    collect() {
      this.reset();
      const v = view();
      if (v.posture) this.set({ flux_namespace: v.fluxNamespace }, v.posture.clusterAdmin.length);
    },
  });
  new prom.Gauge({
    name: METRIC.clusterAdminIdentity,
    help: "1 per reconciler identity (namespace/serviceaccount) that runs as cluster-admin.",
    labelNames: ["identity", "tier"],
    registers: [registry],
    collect() {
      this.reset();
      for (const c of view().posture?.clusterAdmin ?? []) this.set({ identity: c.identity, tier: c.tier }, 1);
    },
  });
  new prom.Gauge({
    name: METRIC.lockdown,
    help: "1 when the controller runs with the multi-tenancy lockdown (--no-cross-namespace-refs and --default-service-account), else 0; evidence says where it was read.",
    labelNames: ["controller", "evidence"],
    registers: [registry],
    collect() {
      this.reset();
      for (const l of view().posture?.lockdown ?? ([] as LockdownGauge[])) this.set({ controller: l.controller, evidence: l.evidence }, l.enabled ? 1 : 0);
    },
  });
  new prom.Gauge({
    name: METRIC.postureLast,
    help: "When the posture analysis last succeeded (Unix seconds); no series before the first success.",
    labelNames: ["flux_namespace"],
    registers: [registry],
    collect() {
      this.reset();
      const v = view();
      if (v.posture) this.set({ flux_namespace: v.fluxNamespace }, v.posture.at / 1000);
    },
  });

  new prom.Gauge({
    name: METRIC.synced,
    help: "1 once every watched resource has been listed (the /readyz condition).",
    registers: [registry],
    collect() {
      this.set(view().synced ? 1 : 0);
    },
  });
  new prom.Gauge({
    name: METRIC.leader,
    help: "1 on the replica holding the Lease (it persists the failure ledger).",
    registers: [registry],
    collect() {
      this.set(view().leader ? 1 : 0);
    },
  });
  new prom.Gauge({
    name: METRIC.watchUp,
    help: "1 while the watch of a resource is open (or its CRD is absent), 0 while it reconnects.",
    labelNames: ["resource", "status"],
    registers: [registry],
    collect() {
      this.reset();
      for (const w of view().watches) this.set({ resource: w.name, status: w.status }, w.status === "watching" || w.status === "absent" ? 1 : 0);
    },
  });
  new prom.Counter({
    name: METRIC.watchRestarts,
    help: "Watches re-opened or re-listed per resource (API server restarts, timeouts, 410 Gone).",
    labelNames: ["resource"],
    registers: [registry],
    collect() {
      this.reset();
      for (const w of view().watches) this.inc({ resource: w.name }, w.restarts);
    },
  });
  new prom.Gauge({
    name: METRIC.objects,
    help: "Flux objects held, per kind.",
    labelNames: ["kind"],
    registers: [registry],
    collect() {
      this.reset();
      const by = new Map<string, number>();
      for (const o of view().objects) by.set(o.kind, (by.get(o.kind) ?? 0) + 1);
      for (const [kind, n] of by) this.set({ kind }, n);
    },
  });
  new prom.Counter({
    name: METRIC.errors,
    help: "Errors the monitor survived, per stage (malformed objects, unreadable Secrets, failed persistence, posture).",
    labelNames: ["stage"],
    registers: [registry],
    collect() {
      this.reset();
      for (const [stage, n] of view().errors) this.inc({ stage }, n);
    },
  });
  new prom.Gauge({
    name: METRIC.identities,
    help: "Failure identities the ledger holds to count each failure once (at most 20,000 after each minute's prune; older ones are folded into the counts).",
    registers: [registry],
    collect() {
      this.set(view().heldFailures);
    },
  });
  prom.collectDefaultMetrics({ register: registry, prefix: "fluxguard_monitor_" });
  return registry;
}
