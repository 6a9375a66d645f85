/**
 * Escalation through RBAC and through Flux, defined once for the static rules and the live
 * analysis (src/engine/live.ts):
 *
 * - what a role grants at a binding's scope that amounts to privilege escalation
 *   (cluster-admin, `escalate`, `bind`, `impersonate`, `*` on Secrets);
 * - where a new Kustomization or HelmRelease would run as cluster-admin: every namespace when
 *   the controller has no `--default-service-account` (a reconciler without
 *   serviceAccountName impersonates nobody and acts as the controller, FLUX-FACTS.md §2.1), and
 *   any namespace holding a service account bound to cluster-admin, which a reconciler there
 *   may name in `spec.serviceAccountName` even under the lockdown (the controllers' own
 *   accounts in the Flux namespace are such accounts).
 */
import type { FluxCluster } from "./model.js";
import { ruleAllows, type BindingNode, type PolicyRule, type RbacGraph, type Subject } from "./rbac.js";
import type { Severity } from "./types.js";

const RBAC = "rbac.authorization.k8s.io";

/** A rule granting every verb on every resource of every group (what cluster-admin holds). */
export function isFullAccess(rule: PolicyRule): boolean {
  return rule.verbs.includes("*") && rule.resources.includes("*") && rule.apiGroups.includes("*") && rule.resourceNames.length === 0;
}

/** Whether a subject holds cluster-admin (full access) cluster-wide. */
export function isClusterAdmin(rbac: RbacGraph, subject: Subject): boolean {
  return rbac.grantsFor(subject).some((g) => g.scope === "*" && isFullAccess(g.rule));
}

export interface EscalationGrant {
  /** `cluster-admin cluster-wide`, `'bind' on ClusterRoles in namespace web`, `* on Secrets cluster-wide`. */
  what: string;
  /** What it is worth: critical for cluster-admin cluster-wide, high for the other grants cluster-wide, medium inside one namespace. */
  severity: Severity;
}

/**
 * The escalation-grade permissions a binding grants its subjects, at its scope (a
 * ClusterRoleBinding: cluster-wide; a RoleBinding: its namespace). Empty when its role is
 * unknown or grants none. Never throws.
 */
export function bindingEscalation(rbac: RbacGraph, b: BindingNode): EscalationGrant[] {
  const role = rbac.roleFor(b);
  if (!role) return [];
  const wide = b.namespace === null;
  const where = wide ? "cluster-wide" : `in namespace ${b.namespace}`;
  const out: EscalationGrant[] = [];
  if (role.rules.some(isFullAccess)) {
    out.push({ what: `${role.name === "cluster-admin" ? "cluster-admin" : "* on *"} ${where}`, severity: wide ? "critical" : "medium" });
    return out;
  }
  const any = (verb: string, group: string, resources: string[]): boolean => role.rules.some((r) => resources.some((res) => ruleAllows(r, verb, group, res)));
  if (any("escalate", RBAC, ["roles", "clusterroles"])) out.push({ what: `'escalate' on roles ${where}`, severity: wide ? "high" : "medium" });
  if (any("bind", RBAC, ["roles", "clusterroles"])) out.push({ what: `'bind' on roles ${where}`, severity: wide ? "high" : "medium" });
  if (any("impersonate", "", ["users", "groups", "serviceaccounts"])) out.push({ what: `'impersonate' ${where}`, severity: wide ? "high" : "medium" });
  if (role.rules.some((r) => r.verbs.includes("*") && r.resourceNames.length === 0 && ruleAllows(r, "*", "", "secrets"))) out.push({ what: `* on Secrets ${where}`, severity: wide ? "high" : "medium" });
  return out;
}

export type ReconcilerKind = "Kustomization" | "HelmRelease";

/** The resource and group of the Flux kinds whose objects are reconcilers. */
export const RECONCILER_RESOURCES: ReadonlyArray<{ kind: ReconcilerKind; resource: string; group: string; controller: "kustomize-controller" | "helm-controller" }> = [
  { kind: "Kustomization", resource: "kustomizations", group: "kustomize.toolkit.fluxcd.io", controller: "kustomize-controller" },
  { kind: "HelmRelease", resource: "helmreleases", group: "helm.toolkit.fluxcd.io", controller: "helm-controller" },
];

export interface ClusterAdminReconcilers {
  /** The controller runs without --default-service-account and holds cluster-admin: a reconciler anywhere runs as cluster-admin. */
  anywhere: boolean;
  /** Namespaces with service accounts bound to cluster-admin that a reconciler there may name, with those accounts. */
  nameable: Map<string, string[]>;
}

/**
 * Where a new Kustomization or HelmRelease of `kind` would run as cluster-admin in this
 * cluster (module doc). Reads the lockdown the model recognised and the cluster's RBAC graph.
 */
export function clusterAdminReconcilers(cluster: FluxCluster, kind: ReconcilerKind): ClusterAdminReconcilers {
  const r = RECONCILER_RESOURCES.find((x) => x.kind === kind)!;
  const controller: Subject = { kind: "ServiceAccount", name: r.controller, namespace: cluster.fluxNamespace };
  const anywhere = !cluster.lockdown[r.controller].defaultServiceAccount && isClusterAdmin(cluster.rbac, controller);
  const nameable = new Map<string, string[]>();
  for (const s of cluster.rbac.allSubjects()) {
    if (s.kind !== "ServiceAccount" || s.namespace === undefined) continue;
    if (!isClusterAdmin(cluster.rbac, s)) continue;
    const list = nameable.get(s.namespace) ?? [];
    if (!list.includes(s.name)) list.push(s.name);
    nameable.set(s.namespace, list.sort());
  }
  return { anywhere, nameable };
}
