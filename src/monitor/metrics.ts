/**
 * The monitor's Prometheus metrics (prom-client, a private Registry: no global state). Values
 * are computed at scrape time from the monitor's state, so a scrape always sees one consistent
 * picture and nothing is kept twice.
 *
 * Names are prefixed `fluxguard_` (`flux_` belongs to the Flux Operator, `gotk_` to Flux).
 */
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
} as const;

/** What /metrics serves: the exposition text and its content type. */
export interface MonitorMetrics {
  contentType: string;
  /** The whole exposition text of one scrape. */
  text(): Promise<string>;
  /** The prom-client registry of every family but the per-object ones (tests). */
  registry: RegistryT;
}

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
 * per version of its view (the view is replaced when the object changes).
 */
function perObjectText(v: MonitorView, labelCache: WeakMap<ObjectView, string>): string {
  const ready: string[] = [];
  const notReady: string[] = [];
  const suspended: string[] = [];
  for (const o of v.objects) {
    let l = labelCache.get(o);
    if (l === undefined) {
      l = `kind="${escapeLabelValue(o.kind)}",namespace="${escapeLabelValue(o.namespace)}",name="${escapeLabelValue(o.name)}"`;
      labelCache.set(o, l);
    }
    ready.push(`${METRIC.ready}{${l},reason="${escapeLabelValue(o.ready.reason)}"} ${o.ready.status === "True" ? 1 : 0}`);
    const since = v.notReadySince(o.uid);
    notReady.push(`${METRIC.notReadySeconds}{${l}} ${since === null ? 0 : Math.max(0, (v.now - since) / 1000)}`);
    if (o.suspended) suspended.push(`${METRIC.suspended}{${l}} 1`);
  }
  const out: string[] = [];
  for (const [f, lines] of [[PER_OBJECT[0], ready], [PER_OBJECT[1], notReady], [PER_OBJECT[2], suspended]] as const) {
    out.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} gauge`, ...lines);
  }
  return `${out.join("\n")}\n`;
}

/** Builds the metrics; `view` is read on every scrape. */
export async function buildMetrics(view: () => MonitorView): Promise<MonitorMetrics> {
  const registry = await buildRegistry(view);
  const labelCache = new WeakMap<ObjectView, string>();
  return {
    contentType: registry.contentType,
    registry,
    text: async () => {
      const rest = await registry.metrics();
      return `${perObjectText(view(), labelCache)}${rest}`;
    },
  };
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
  counterFamily(METRIC.verificationFailures, "Signature verifications Flux failed, per source and reason; each rejected revision counts once (SourceVerified/Ready conditions and Warning Events).", "verification", src);
  lastFamily(METRIC.verificationLast, "When the monitor last counted a verification failure of this source and reason (Unix seconds).", "verification", src);
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
  prom.collectDefaultMetrics({ register: registry, prefix: "fluxguard_monitor_" });
  return registry;
}
