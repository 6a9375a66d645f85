/**
 * What failure events and metrics reach a human, per cluster: notification-controller Alerts
 * (with their providers, event sources, inclusion and exclusion lists) and Prometheus rules
 * on the readiness metric Flux documents. FLUX-FACTS.md §3 and §4.
 */
import { alertSelects, isWaitCoverable, kustomizationWaitsFor } from "../../core/alerts.js";
import { asArray, asObject, flagIsTrue, GROUP, isFluxKustomization, path, str } from "../../core/flux.js";
import { olderThan } from "../../core/flux-version.js";
import type { FleetModel, FluxCluster, ModelObject } from "../../core/model.js";
import type { JsonObject } from "../../core/types.js";
import { isFluxKind, renderingReconciler } from "../util.js";

/** Providers that turn events into commit statuses or workflow runs, not into a page. */
const NOT_ALERTING = new Set(["github", "gitlab", "gitea", "bitbucket", "bitbucketserver", "azuredevops", "githubdispatch"]);

/** Metrics the rules must not rely on: never emitted since Flux v2.5, or never existed (FLUX-FACTS.md §3.4). */
export const DEAD_METRICS: Record<string, string> = {
  gotk_reconcile_condition: "Flux has not emitted gotk_reconcile_condition since v2.5",
  gotk_suspend_status: "Flux has not emitted gotk_suspend_status since v2.5",
  flux_git_fetch_success_total: "no Flux component has ever exported flux_git_fetch_success_total",
  flux_git_fetch_failure_total: "no Flux component has ever exported flux_git_fetch_failure_total",
  flux_commit_verification_failures_total: "no Flux component has ever exported flux_commit_verification_failures_total",
};

/** Metrics Flux stopped emitting at a version (FLUX-FACTS.md §3): alive on a cluster that declares an older Flux. */
const STOPPED_IN: Record<string, { major: number; minor: number }> = {
  gotk_reconcile_condition: { major: 2, minor: 5 },
  gotk_suspend_status: { major: 2, minor: 5 },
};

/** Whether the Flux a cluster declares still emits a metric; with no declaration, Flux today (CURRENT_FLUX). */
export function emittedBy(metric: string, cluster: FluxCluster): boolean {
  const stop = STOPPED_IN[metric];
  const v = cluster.fluxVersion?.version;
  return stop !== undefined && v !== undefined && olderThan(v, stop.major, stop.minor);
}

export const SOURCE_EVENT_KINDS = ["GitRepository", "OCIRepository", "HelmRepository", "HelmChart", "Bucket"];

/** Events a verification failure produces, per kind (source-controller's messages). */
export const VERIFICATION_MESSAGES: Record<string, string[]> = {
  GitRepository: ["signature verification of commit 'a1b2c3d' failed: unable to verify Git commit: no PGP public key matches", "signature verification of tag 'v1.0.0' failed: unable to verify Git tag"],
  OCIRepository: ["failed to verify the signature using provider 'cosign': no matching signatures were found for 'ghcr.io/example/app:1.0.0'"],
  HelmChart: ["failed to verify the signature using provider 'cosign': no matching signatures were found for 'ghcr.io/example/charts/app:1.0.0'"],
};

/**
 * Error events each kind emits when it fails, as its controller words them (kustomize-controller,
 * helm-controller, source-controller; FLUX-FACTS.md §4 "How failures become alerts"). An Alert
 * covers a kind's failures only if its inclusion and exclusion lists pass every one of them:
 * `exclusionList: [".*"]`, or an `inclusionList` that keeps only signature messages, forwards
 * nothing (or not everything) that says a reconciliation failed.
 */
export const FAILURE_MESSAGES: Record<string, string[]> = {
  Kustomization: [
    "Deployment/apps/web dry-run failed: error validating data: unknown field \"replica\"",
    "health check failed after 5m0s: timeout waiting for: [Deployment/apps/web status: 'InProgress']",
    "kustomize build failed: accumulating resources: accumulation err='accumulating resources from './web'': missing Resource metadata",
  ],
  HelmRelease: ["Helm install failed for release apps/web with chart web@1.2.3: context deadline exceeded", "Helm upgrade failed for release apps/web with chart web@1.2.4: another operation (install/upgrade/rollback) is in progress"],
  GitRepository: ["failed to checkout and determine revision: unable to clone 'ssh://git@git.example.com/fleet': ssh: handshake failed: ssh: unable to authenticate"],
  OCIRepository: ["failed to determine artifact digest: GET https://registry.example.com/v2/fleet/manifests/latest: UNAUTHORIZED: authentication required"],
  HelmRepository: ["failed to fetch Helm repository index: failed to cache index to temporary file: failed to fetch https://charts.example.com/index.yaml : 401 Unauthorized"],
  HelmChart: ["chart pull error: failed to download chart for remote reference: failed to get 'oci://registry.example.com/charts/web:1.2.3': 401 Unauthorized"],
  Bucket: ["failed to confirm existence of 'fleet' bucket: Access Denied"],
};

/** An Alert that forwards nothing, and why (suspended, its Provider absent, suspended or not a pager). */
export interface DroppedAlert {
  alert: ModelObject;
  reason: string;
}

export interface AlertInfo {
  alert: ModelObject;
  /** notification-controller runs with --no-cross-namespace-refs=true: only events of the Alert's own namespace reach it. */
  noCrossNamespaceRefs: boolean;
  sources: JsonObject[];
  inclusion: string[];
  exclusion: string[];
  /** The kinds whose failure events (FAILURE_MESSAGES) all pass the inclusion and exclusion lists; derived once per Alert. */
  failureKinds: ReadonlySet<string>;
}

export interface Coverage {
  alerts: AlertInfo[];
  /** Alerts that deliver no event at all, with the reason. */
  dropped: DroppedAlert[];
  /** Kinds a readiness PrometheusRule covers ("*" for every kind). */
  promKinds: Set<string>;
  /** Alerting rules that rely on metrics Flux does not emit. */
  dead: Array<{ rule: ModelObject; pointer: string; alert: string; metric: string }>;
}

function regexps(v: unknown): string[] {
  return asArray(v as never).filter((x): x is string => typeof x === "string");
}

/** Go regexp → JavaScript, or null when it does not compile (then it is given the benefit of the doubt). */
function compile(re: string): RegExp | null {
  try {
    return new RegExp(re.replace(/\(\?P</g, "(?<"));
  } catch {
    return null;
  }
}

/** Objects of the cluster, plus objects no cluster claims (they may well be deployed with it). */
export function clusterPool(model: FleetModel, cluster: FluxCluster): ModelObject[] {
  return model.objects.filter((m) => m.clusterId === cluster.id || m.clusterId === "(unattached)");
}

export function coverage(model: FleetModel, cluster: FluxCluster): Coverage {
  const pool = clusterPool(model, cluster);
  const providers = pool.filter((m) => isFluxKind(m, GROUP.notification, "Provider"));
  const alerts: AlertInfo[] = [];
  const dropped: DroppedAlert[] = [];
  const nc = cluster.controllers.get("notification-controller");
  const noCrossNamespaceRefs = nc
    ? flagIsTrue(nc.flags.get("no-cross-namespace-refs")?.value)
    : cluster.fluxInstance !== null && path(cluster.fluxInstance.object, "spec", "cluster", "multitenant") === true;
  for (const a of pool) {
    if (!isFluxKind(a, GROUP.notification, "Alert")) continue;
    if (path(a.object, "spec", "suspend") === true) {
      dropped.push({ alert: a, reason: "is suspended" });
      continue;
    }
    const ns = a.object.metadata.namespace;
    const pname = str(a.object, "spec", "providerRef", "name");
    // The Provider is looked up in the Alert's own namespace; without it, notification-controller drops the event.
    const provider = providers.find((p) => p.object.metadata.name === pname && (p.object.metadata.namespace === ns || ns === undefined || p.object.metadata.namespace === undefined));
    if (!provider) {
      dropped.push({ alert: a, reason: pname ? `names Provider ${pname}, which is not in ${model.mode === "files" ? "the repository" : "the cluster"} (notification-controller drops events whose Provider does not exist)` : "names no Provider" });
      continue;
    }
    const ptype = str(provider.object, "spec", "type") ?? "";
    if (path(provider.object, "spec", "suspend") === true) {
      dropped.push({ alert: a, reason: `sends to Provider ${pname}, which is suspended` });
      continue;
    }
    if (NOT_ALERTING.has(ptype)) {
      dropped.push({ alert: a, reason: `sends to Provider ${pname} of type ${ptype}, which sets commit statuses and pages no one` });
      continue;
    }
    const filters = { inclusion: regexps(path(a.object, "spec", "inclusionList")), exclusion: regexps(path(a.object, "spec", "exclusionList")) };
    alerts.push({
      alert: a,
      noCrossNamespaceRefs,
      sources: asArray(path(a.object, "spec", "eventSources")).map((s) => asObject(s) ?? {}),
      ...filters,
      failureKinds: new Set(Object.keys(FAILURE_MESSAGES).filter((kind) => FAILURE_MESSAGES[kind]!.every((msg) => forwards(filters, msg)))),
    });
  }
  const promKinds = new Set<string>();
  const dead: Coverage["dead"] = [];
  for (const r of pool) {
    if (r.object.kind !== "PrometheusRule" || !r.object.apiVersion.startsWith("monitoring.coreos.com/")) continue;
    asArray(path(r.object, "spec", "groups")).forEach((g, gi) => {
      asArray(path(g, "rules")).forEach((rule, ri) => {
        const expr = str(rule, "expr");
        const name = str(rule, "alert");
        if (!expr || !name) return;
        const deadMetric = Object.keys(DEAD_METRICS).find((mtr) => new RegExp(`\\b${mtr}\\b`).test(expr) && !emittedBy(mtr, cluster));
        if (!deadMetric && /\bgotk_reconcile_condition\b/.test(expr) && /\bReady\b/.test(expr)) {
          // A Flux older than v2.5 still emits it: a readiness rule for every kind it names.
          const kinds = [...expr.matchAll(/\bkind\s*(=~|=)\s*"([^"]*)"/g)];
          if (kinds.length === 0) promKinds.add("*");
          for (const [, op, v = ""] of kinds) for (const k of op === "=~" ? v.split("|") : [v]) promKinds.add(k.replace(/[.^$()]/g, ""));
          return;
        }
        if (deadMetric) {
          dead.push({ rule: r, pointer: `/spec/groups/${gi}/rules/${ri}/expr`, alert: name, metric: deadMetric });
          return;
        }
        if (!/\bgotk_resource_info\b/.test(expr) || !/\bready\b/.test(expr)) return;
        const kinds = [...expr.matchAll(/customresource_kind\s*(=~|=)\s*"([^"]*)"/g)];
        if (kinds.length === 0) promKinds.add("*");
        for (const [, op, v = ""] of kinds) for (const k of op === "=~" ? v.split("|") : [v]) promKinds.add(k.replace(/[.^$()]/g, ""));
      });
    });
  }
  return { alerts, dropped, promKinds, dead };
}

/** Whether an Alert's event sources select an object (notification-controller's matching, src/core/alerts.ts). */
export function selects(a: AlertInfo, m: ModelObject): boolean {
  return alertSelects(a.alert.object, m.object, { noCrossNamespaceRefs: a.noCrossNamespaceRefs });
}

/**
 * The watched objects whose failure reaches a human: those an Alert selects or a readiness
 * rule covers, plus, transitively, the Kustomizations and HelmReleases that a covered
 * Kustomization waits for (`wait: true` over what it applies, or `healthChecks`): their
 * failure fails the Kustomization, whose error event the Alert forwards. Sources are never
 * covered that way: a failing fetch keeps the last artifact and the Kustomization stays Ready.
 */
export function coveredObjects(model: FleetModel, cov: Coverage, watched: readonly ModelObject[]): Set<ModelObject> {
  const covered = new Set<ModelObject>(watched.filter((m) => promCovers(cov, m.object.kind) || cov.alerts.some((a) => selects(a, m) && forwardsFailures(a, m.object.kind))));
  const waiting = (): ModelObject[] => [...covered].filter((k) => isFluxKustomization(k.object) && (path(k.object, "spec", "wait") === true || asArray(path(k.object, "spec", "healthChecks")).length > 0));
  let grew = true;
  while (grew) {
    grew = false;
    const ks = waiting();
    for (const m of watched) {
      if (covered.has(m) || !isWaitCoverable(m.object)) continue;
      const by = renderingReconciler(model, m)?.object;
      if (ks.some((k) => kustomizationWaitsFor(k.object, m.object, by === k))) {
        covered.add(m);
        grew = true;
      }
    }
  }
  return covered;
}

/** Whether an Alert forwards an event with this message (inclusion and exclusion lists). */
export function forwards(a: Pick<AlertInfo, "inclusion" | "exclusion">, message: string): boolean {
  if (a.inclusion.length && !a.inclusion.some((re) => compile(re)?.test(message) ?? true)) return false;
  return !a.exclusion.some((re) => compile(re)?.test(message) ?? false);
}

/** Whether an Alert's inclusion and exclusion lists pass every failure event of a kind (FAILURE_MESSAGES). */
export function forwardsFailures(a: AlertInfo, kind: string): boolean {
  return a.failureKinds.has(kind) || FAILURE_MESSAGES[kind] === undefined;
}

export function promCovers(c: Coverage, kind: string): boolean {
  return c.promKinds.has("*") || c.promKinds.has(kind);
}
