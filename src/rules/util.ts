/** Helpers shared by rules. Pure functions over the model. */
import { FLUX_CONTROLLERS } from "../core/flux.js";
import type { FleetModel, FluxCluster, Lockdown, ModelObject, Reconciler } from "../core/model.js";
import type { Subject } from "../core/rbac.js";

export function isFluxControllerSubject(cluster: FluxCluster, s: Subject): boolean {
  return s.kind === "ServiceAccount" && (s.namespace ?? "") === cluster.fluxNamespace && (FLUX_CONTROLLERS as readonly string[]).includes(s.name);
}

export function reconcilerSubject(r: Reconciler): Subject {
  return { kind: "ServiceAccount", name: r.identity.serviceAccount, namespace: r.identity.namespace };
}

export function describeSubject(s: Subject): string {
  return s.kind === "ServiceAccount" ? `ServiceAccount ${s.namespace ?? ""}/${s.name}` : `${s.kind} ${s.name}`;
}

/** A short human reference to an object: `Kustomization flux-system/apps`. */
export function describe(m: ModelObject): string {
  const ns = m.object.metadata.namespace;
  return `${m.object.kind} ${ns ? `${ns}/` : ""}${m.object.metadata.name}`;
}

/** Why lockdown is unknown, for messages. */
export function lockdownNote(ld: Lockdown): string {
  if (ld.evidence === "none") {
    return " (the Flux controllers are not in this repository, so Flux's default is assumed: no --default-service-account; declare platform.defaultServiceAccount in .fluxguard.yaml if your cluster sets it)";
  }
  return "";
}

export function clustersWithObjects(model: FleetModel): FluxCluster[] {
  return model.clusters.filter((c) => c.objects.length > 0);
}

export const CLUSTER_ADMIN = "cluster-admin";
