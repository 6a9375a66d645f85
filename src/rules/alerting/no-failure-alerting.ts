import { CONTROLLER_KINDS, FLUX_KINDS, FLUX_VERSION_KINDS } from "../../core/model-kinds.js";
import { GROUP } from "../../core/flux.js";
import type { FluxCluster, ModelObject } from "../../core/model.js";
import { defineRule } from "../../core/rule.js";
import { checkedClusters, describe, isFluxKind } from "../util.js";
import { literalNamespaceGlobs } from "../../core/alerts.js";
import { formatFluxVersion } from "../../core/flux-version.js";
import { clusterPool, coverage, coveredObjects, DEAD_METRICS, FAILURE_MESSAGES, forwards, forwardsFailures, selects, SOURCE_EVENT_KINDS, type AlertInfo, type Coverage } from "./coverage.js";

const WATCHED = ["Kustomization", "HelmRelease", ...SOURCE_EVENT_KINDS];

export default defineRule({
  meta: {
    id: "no-failure-alerting",
    title: "Reconciliation failures reach no one",
    severity: "high",
    severityVaries: "high when nothing alerts on a cluster's failures or an alert relies on a metric Flux does not emit; medium when some Kustomizations or sources are uncovered; low for a dead-metric alert where other alerting covers the cluster",
    threats: ["weakness-6-no-alerting"],
    summary: "no notification-controller Alert forwards errors of Kustomizations and sources, and no Prometheus rule alerts on Flux readiness (rules on gotk_reconcile_condition never fire)",
    rationale:
      "When a Kustomization fails, Flux keeps the last applied state and logs an event; without an Alert the cluster diverges from Git silently, and a verification failure (an attack stopped) looks the same as nothing happening. notification-controller skips a suspended Alert, drops the event when the Alert's Provider is missing or suspended, and applies the exclusionList (which wins) and inclusionList regexes to the message, so an Alert that excludes failure messages covers nothing. It matches event sources exactly: the kind, the name (or exactly `*`), and the namespace compared literally (it defaults to the Alert's namespace; `namespace: \"*\"` selects nothing), narrowed by `matchLabels`. A Kustomization with `wait: true` or `healthChecks` fails when what it waits for fails, so an Alert on it covers those HelmReleases and Kustomizations, but not the sources: a failing fetch (a revoked deploy key) keeps the last artifact and only the source's own event says so. Flux 2.5+ emits no gotk_reconcile_condition, so the classic Prometheus rule (and the seed's Step 6) never fires; readiness comes from kube-state-metrics' gotk_resource_info. Metrics such as flux_git_fetch_failure_total and flux_commit_verification_failures_total never existed.",
    remediation: {
      text: "Forward error events of Kustomizations, HelmReleases and sources to an on-call Provider, and/or alert on gotk_resource_info{ready=\"False\"} from kube-state-metrics.",
      snippet: `apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Alert
metadata:
  name: reconcile-failures
  namespace: flux-system
spec:
  providerRef:
    name: oncall
  eventSeverity: error
  eventSources:
    - kind: Kustomization
      name: "*"
    - kind: HelmRelease
      name: "*"
    - kind: GitRepository
      name: "*"
    - kind: OCIRepository
      name: "*"
---
# kube-state-metrics custom resource state (flux2-monitoring-example):
- alert: FluxReconciliationNotReady
  expr: max by (customresource_kind, exported_namespace, name) (gotk_resource_info{ready="False"}) > 0
  for: 10m`,
    },
    references: ["https://fluxcd.io/flux/monitoring/alerts/", "https://fluxcd.io/flux/monitoring/metrics/"],
    aggregate: true,
    reads: [...new Set<string>([...FLUX_KINDS, "PrometheusRule", ...CONTROLLER_KINDS, ...FLUX_VERSION_KINDS])],
  },
  check({ model, report }) {
    for (const cluster of checkedClusters(model)) {
      const pool = clusterPool(model, cluster);
      const watched = pool.filter((m) => WATCHED.some((k) => isFluxKind(m, k === "Kustomization" ? GROUP.kustomize : k === "HelmRelease" ? GROUP.helm : GROUP.source, k)));
      if (!watched.some((m) => m.object.kind === "Kustomization")) continue;
      const cov = coverage(model, cluster);
      const covered = coveredObjects(model, cov, watched);
      const uncovered = new Map<string, ModelObject[]>();
      for (const m of watched) {
        if (covered.has(m)) continue;
        const list = uncovered.get(m.object.kind);
        if (list) list.push(m);
        else uncovered.set(m.object.kind, [m]);
      }
      const missingCore = uncovered.has("Kustomization") || SOURCE_EVENT_KINDS.some((k) => uncovered.has(k));
      // Alerts that select no watched object are no alerting at all (e.g. namespace: "*", which is compared literally).
      const idle = cov.alerts.filter((a) => !watched.some((m) => selects(a, m)));
      // Alerts that select some, but whose inclusion or exclusion list drops their failure events.
      const filtered = cov.alerts.filter((a) => !idle.includes(a) && watched.some((m) => selects(a, m) && !covered.has(m) && !forwardsFailures(a, m.object.kind)));
      // Nothing pages: every delivering Alert selects nothing or forwards none of the failures it selects.
      const nothing = cov.promKinds.size === 0 && cov.alerts.every((a) => idle.includes(a) || !watched.some((m) => selects(a, m) && forwardsFailures(a, m.object.kind)));
      const globs = idle.filter((a) => literalNamespaceGlobs(a.alert.object).length > 0);
      for (const d of cov.dead) {
        report({
          object: d.rule,
          pointer: d.pointer,
          severity: missingCore ? "high" : "low",
          message: `alert ${d.alert} relies on ${d.metric}, so it never fires: ${DEAD_METRICS[d.metric]}${versionNote(cluster, d.metric)}; alert on gotk_resource_info{ready="False"} (kube-state-metrics) or forward events with a notification-controller Alert`,
        });
      }
      if (!missingCore) continue;
      const plural = (k: string, n: number): string => (n === 1 ? k : k.endsWith("y") ? `${k.slice(0, -1)}ies` : `${k}s`);
      const entries = [...uncovered.entries()].sort(([a], [b]) => WATCHED.indexOf(a) - WATCHED.indexOf(b));
      const list = entries.map(([k, ms]) => `${ms.length} ${plural(k, ms.length)}`).join(", ");
      // The first by name, so the message does not depend on the order a renderer emitted objects in.
      const example = entries[0]![1].reduce((a, b) => (describe(b).localeCompare(describe(a)) < 0 ? b : a));
      const anchor = cluster.entrypoint ?? example;
      report({
        object: anchor,
        pointer: "",
        severity: nothing || cov.dead.length > 0 ? "high" : "medium",
        related: [...cov.dead.map((d) => d.rule), ...idle.map((a) => a.alert), ...filtered.map((a) => a.alert), ...cov.dropped.map((d) => d.alert)],
        message: `${cluster.id === "(unattached)" ? "this repository" : `cluster ${cluster.id}`}: no Alert or readiness alert covers ${list} (e.g. ${describe(example)})${cov.dead.length ? `; ${cov.dead.length} Prometheus alert(s) rely on metrics Flux does not emit` : nothing ? (idle.length ? `; ${idle.map((a) => describe(a.alert)).join(", ")} select${idle.length === 1 ? "s" : ""} no object${globs.length ? ` (notification-controller compares eventSources[].namespace literally: namespace "*" is no wildcard; list each namespace, or omit it for the Alert's own)` : ""}` : cov.dropped.length || filtered.length ? "" : "; there is no Alert or Flux PrometheusRule at all") : ""}${droppedNote(cov)}${filteredNote(filtered, uncovered)}`,
      });
    }
  },
});

/** Why Alerts that exist deliver nothing: suspended, no Provider, a suspended or non-paging Provider. */
function droppedNote(cov: Coverage): string {
  return cov.dropped.map((d) => `; ${describe(d.alert)} ${d.reason}`).join("");
}

/** Alerts whose inclusion or exclusion list drops failure events, with one dropped message each. */
function filteredNote(filtered: readonly AlertInfo[], uncovered: ReadonlyMap<string, ModelObject[]>): string {
  return filtered
    .map((a) => {
      const kind = [...uncovered.keys()].find((k) => (FAILURE_MESSAGES[k] ?? []).some((msg) => !forwards(a, msg)));
      const msg = kind ? FAILURE_MESSAGES[kind]!.find((x) => !forwards(a, x))! : "";
      const list = a.exclusion.length ? "exclusionList" : "inclusionList";
      return `; ${describe(a.alert)} selects them, but its ${list} drops failure events such as "${msg.length > 60 ? `${msg.slice(0, 59)}…` : msg}"`;
    })
    .join("");
}

/** Which Flux the judgement is about: the cluster's declared version, or none declared (Flux today). */
function versionNote(cluster: FluxCluster, metric: string): string {
  if (!/^gotk_(reconcile_condition|suspend_status)$/.test(metric)) return "";
  const v = cluster.fluxVersion;
  return v ? ` (this cluster declares Flux ${formatFluxVersion(v.version)}: ${v.evidence.detail})` : " (no Flux version is declared in the repository; judged against Flux v2.9)";
}
