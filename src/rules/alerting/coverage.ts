/**
 * What failure events and metrics reach a human, per cluster: notification-controller Alerts
 * (with their providers, event sources, inclusion and exclusion lists) and Prometheus rules
 * on the readiness metric Flux documents. FLUX-FACTS.md §3 and §4.
 */
import { asArray, asObject, GROUP, path, str } from "../../core/flux.js";
import type { FleetModel, FluxCluster, ModelObject } from "../../core/model.js";
import type { JsonObject } from "../../core/types.js";
import { isFluxKind, isTemplated } from "../util.js";

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

export const SOURCE_EVENT_KINDS = ["GitRepository", "OCIRepository", "HelmRepository", "HelmChart", "Bucket"];

/** Events a verification failure produces, per kind (source-controller's messages). */
export const VERIFICATION_MESSAGES: Record<string, string[]> = {
  GitRepository: ["signature verification of commit 'a1b2c3d' failed: unable to verify Git commit: no PGP public key matches", "signature verification of tag 'v1.0.0' failed: unable to verify Git tag"],
  OCIRepository: ["failed to verify the signature using provider 'cosign': no matching signatures were found for 'ghcr.io/example/app:1.0.0'"],
  HelmChart: ["failed to verify the signature using provider 'cosign': no matching signatures were found for 'ghcr.io/example/charts/app:1.0.0'"],
};

export interface AlertInfo {
  alert: ModelObject;
  sources: JsonObject[];
  inclusion: string[];
  exclusion: string[];
}

export interface Coverage {
  alerts: AlertInfo[];
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
  for (const a of pool) {
    if (!isFluxKind(a, GROUP.notification, "Alert") || path(a.object, "spec", "suspend") === true) continue;
    const ns = a.object.metadata.namespace;
    const pname = str(a.object, "spec", "providerRef", "name");
    const provider = providers.find((p) => p.object.metadata.name === pname && (p.object.metadata.namespace === ns || ns === undefined || p.object.metadata.namespace === undefined));
    if (provider && (path(provider.object, "spec", "suspend") === true || NOT_ALERTING.has(str(provider.object, "spec", "type") ?? ""))) continue;
    alerts.push({
      alert: a,
      sources: asArray(path(a.object, "spec", "eventSources")).map((s) => asObject(s) ?? {}),
      inclusion: regexps(path(a.object, "spec", "inclusionList")),
      exclusion: regexps(path(a.object, "spec", "exclusionList")),
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
        const deadMetric = Object.keys(DEAD_METRICS).find((mtr) => new RegExp(`\\b${mtr}\\b`).test(expr));
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
  return { alerts, promKinds, dead };
}

function globMatch(pattern: string, value: string): boolean {
  if (pattern === "*") return true;
  if (!pattern.includes("*")) return pattern === value;
  return new RegExp(`^${pattern.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`).test(value);
}

/** Whether an Alert's event sources select an object. */
export function selects(a: AlertInfo, m: ModelObject): boolean {
  const alertNs = a.alert.object.metadata.namespace;
  return a.sources.some((s) => {
    if (str(s, "kind") !== m.object.kind) return false;
    const name = str(s, "name") ?? "";
    if (isTemplated(name)) return true;
    if (!globMatch(name, m.object.metadata.name)) return false;
    const ns = str(s, "namespace") ?? alertNs;
    if (ns !== undefined && ns !== "*" && ns !== (m.object.metadata.namespace ?? "default")) return false;
    const labels = asObject(s["matchLabels"]);
    if (labels && name === "*") {
      const own = m.object.metadata.labels ?? {};
      if (Object.entries(labels).some(([k, v]) => own[k] !== v)) return false;
    }
    return true;
  });
}

/** Whether an Alert forwards an event with this message (inclusion and exclusion lists). */
export function forwards(a: AlertInfo, message: string): boolean {
  if (a.inclusion.length && !a.inclusion.some((re) => compile(re)?.test(message) ?? true)) return false;
  return !a.exclusion.some((re) => compile(re)?.test(message) ?? false);
}

export function promCovers(c: Coverage, kind: string): boolean {
  return c.promKinds.has("*") || c.promKinds.has(kind);
}
