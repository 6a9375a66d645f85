/**
 * Which objects' events reach a notification-controller Alert, defined once. Followed:
 * notification-controller `internal/server/event_handlers.go` (`eventMatchesAlertSources`,
 * `eventMatchesAlertSource`, `getNotificationParams`) and `api/v1beta3/alert_types.go`;
 * kustomize-controller's health assessment (`spec.wait`, `spec.healthChecks`).
 */
import { asArray, asObject, asString, GROUP, groupOf } from "./flux.js";
import type { JsonObject, JsonValue, K8sObject } from "./types.js";

function templated(v: string): boolean {
  return /\$\{[^}]*\}/.test(v) || /<<[^>]*>>/.test(v);
}

/**
 * Whether one `eventSources[]` entry of an Alert selects an object, as notification-controller
 * decides it: the kind must be equal; the namespace is compared literally and defaults to the
 * Alert's namespace (`namespace: "*"` matches no namespace); the name is equal or exactly
 * `*` (no other globbing); `matchLabels`, when present, must all be on the object. A name or
 * namespace that is a placeholder (`${var}`) is given the benefit of the doubt.
 */
export function eventSourceSelects(source: JsonObject, alertNamespace: string, o: K8sObject): boolean {
  if (asString(source["kind"]) !== o.kind) return false;
  const name = asString(source["name"]) ?? "";
  const ns = asString(source["namespace"]) || alertNamespace;
  const objNs = o.metadata.namespace ?? "default";
  if (!templated(ns) && ns !== objNs) return false;
  if (!templated(name) && name !== "*" && name !== o.metadata.name) return false;
  const labels = asObject(source["matchLabels"] as JsonValue | undefined);
  if (labels) {
    const own = o.metadata.labels ?? {};
    if (Object.entries(labels).some(([k, v]) => own[k] !== v)) return false;
  }
  return true;
}

/**
 * Whether an Alert receives an object's events. With notification-controller's
 * `--no-cross-namespace-refs=true`, events of objects outside the Alert's namespace are
 * dropped even when an event source names their namespace.
 */
export function alertSelects(alert: K8sObject, o: K8sObject, opts: { noCrossNamespaceRefs?: boolean } = {}): boolean {
  const alertNs = alert.metadata.namespace ?? "default";
  if (opts.noCrossNamespaceRefs && (o.metadata.namespace ?? "default") !== alertNs) return false;
  return asArray(asObject(alert["spec"] as JsonValue | undefined)?.["eventSources"]).some((s) => {
    const so = asObject(s);
    return so !== undefined && eventSourceSelects(so, alertNs, o);
  });
}

/** Event sources of an Alert whose namespace is `*` or another glob, which notification-controller compares literally. */
export function literalNamespaceGlobs(alert: K8sObject): string[] {
  return asArray(asObject(alert["spec"] as JsonValue | undefined)?.["eventSources"])
    .map((s) => asString(asObject(s)?.["namespace"]))
    .filter((ns): ns is string => ns !== undefined && ns.includes("*"));
}

/**
 * Whether a Flux Kustomization's health assessment covers an object, so that the object's
 * failure becomes the Kustomization's failure (and its error event): with `spec.wait: true`,
 * every object it applies (`appliedByIt`); with `spec.healthChecks`, each listed object
 * (kind, name, namespace defaulting to the Kustomization's target namespace, then its own).
 */
export function kustomizationWaitsFor(ks: K8sObject, o: K8sObject, appliedByIt: boolean): boolean {
  const spec = asObject(ks["spec"] as JsonValue | undefined) ?? {};
  if (spec["wait"] === true && appliedByIt) return true;
  const defaultNs = asString(spec["targetNamespace"]) ?? ks.metadata.namespace ?? "default";
  return asArray(spec["healthChecks"]).some((h) => {
    const ho = asObject(h);
    if (!ho || asString(ho["kind"]) !== o.kind || asString(ho["name"]) !== o.metadata.name) return false;
    const api = asString(ho["apiVersion"]);
    if (api && groupOf(api) !== groupOf(o.apiVersion)) return false;
    return (asString(ho["namespace"]) ?? defaultNs) === (o.metadata.namespace ?? "default");
  });
}

/** Flux kinds whose failure a waiting Kustomization reports (reconcilers, not sources: a failing fetch keeps the last artifact, so the Kustomization stays Ready). */
export function isWaitCoverable(o: K8sObject): boolean {
  const g = groupOf(o.apiVersion);
  return g !== GROUP.source && g !== "source.extensions.fluxcd.io";
}
