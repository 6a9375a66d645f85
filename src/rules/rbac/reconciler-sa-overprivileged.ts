import { RECONCILER_KINDS, RBAC_KINDS } from "../../core/model-kinds.js";
import { isFullAccess } from "../../core/escalation.js";
import type { BindingNode, Grant, RbacGraph } from "../../core/rbac.js";
import { ruleAllows } from "../../core/rbac.js";
import { defineRule } from "../../core/rule.js";
import type { Severity } from "../../core/types.js";
import type { Reconciler } from "../../core/model.js";
import { CLUSTER_ADMIN, describe, describeSubject, isFluxControllerSubject, reconcilerSubject } from "../util.js";

/**
 * Service accounts bound to full access cluster-wide, by namespace, in one pass over the
 * bindings (a ClusterRoleBinding whose role grants `*` on `*`).
 */
function clusterAdminAccounts(rbac: RbacGraph): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const b of rbac.bindings) {
    // Flux's default binding that fluxguard synthesizes names controller accounts, not accounts that exist in a tenant namespace.
    if (b.namespace !== null || b.object.origin.kind === "synthesized") continue;
    const role = rbac.roleFor(b);
    if (!role?.rules.some(isFullAccess)) continue;
    for (const s of b.subjects) {
      if (s.kind !== "ServiceAccount" || !s.namespace) continue;
      const list = out.get(s.namespace) ?? [];
      if (!list.includes(s.name)) list.push(s.name);
      out.set(s.namespace, list.sort());
    }
  }
  return out;
}

interface Problem {
  binding: BindingNode;
  severity: Severity;
  what: string;
}

export default defineRule({
  meta: {
    id: "reconciler-sa-overprivileged",
    title: "A reconciler's service account holds escalation-grade permissions",
    severity: "critical",
    severityVaries: "critical for cluster-admin (or wildcard access) cluster-wide; high for escalation verbs (impersonating its own namespace's service accounts only when one of them is cluster-admin), binding creation, access in another namespace or Secrets outside its own; low for admin inside its own namespace, or creating RoleBindings there",
    threats: ["adversary-3-kustomization-escalation", "weakness-1-cluster-admin", "weakness-4-unscoped-kustomization"],
    summary: "the service account a Kustomization or HelmRelease runs as has cluster-admin, escalate/bind/impersonate, binding creation or foreign Secret access",
    rationale:
      "Impersonation only confines a tenant if the impersonated account is small. An account with cluster-wide wildcards, `escalate`, `bind` or `impersonate`, the right to create RoleBindings, or read access to other namespaces' Secrets lets whatever it applies climb to cluster-admin or read the Flux Git credentials.",
    remediation: {
      text: "Bind the reconciler account to a Role in its own namespace listing only the kinds the tenant ships.",
      snippet: `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: team-a-reconciler
  namespace: team-a
rules:
  - apiGroups: ["apps"]
    resources: ["deployments"]
    verbs: ["get", "list", "watch", "create", "update", "patch", "delete"]
  - apiGroups: [""]
    resources: ["services", "configmaps"]
    verbs: ["get", "list", "watch", "create", "update", "patch", "delete"]`,
    },
    references: ["https://kubernetes.io/docs/concepts/security/rbac-good-practices/", "https://fluxcd.io/flux/security/#multi-tenancy"],
    reads: [...new Set<string>([...RBAC_KINDS, ...RECONCILER_KINDS])],
  },
  check({ model, report }) {
    for (const cluster of model.clusters) {
      const seen = new Set<string>();
      let admins: Map<string, string[]> | undefined;
      // The reconcilers that act on this cluster: its own, and a hub's that reach it through
      // spec.kubeConfig (their service account lives here, in this cluster's RBAC).
      const acting = model.reconcilers.filter((r) => (r.remote?.clusterId ?? r.clusterId) === cluster.id);
      for (const r of acting) {
        if (r.identity.source === "kubeconfig" && !r.identity.serviceAccount) continue; // the kubeconfig's own identity: not in the repository
        const subject = reconcilerSubject(r);
        if (isFluxControllerSubject(cluster, subject)) continue; // flux-controller-cluster-admin covers these
        const key = `${subject.namespace}/${subject.name}`;
        if (seen.has(key)) continue;
        seen.add(key);
        const problems = new Map<string, Problem>();
        const add = (g: Grant, severity: Severity, what: string): void => {
          const k = `${g.binding.object.key}|${what}`;
          if (!problems.has(k)) problems.set(k, { binding: g.binding, severity, what });
        };
        for (const g of cluster.rbac.grantsFor(subject)) {
          const ownNs = g.scope === subject.namespace;
          const full = g.role.name === CLUSTER_ADMIN || (ruleAllows(g.rule, "*", "*", "*") && g.rule.verbs.includes("*") && g.rule.resources.includes("*"));
          if (full) {
            if (g.scope === "*") add(g, "critical", `${g.role.name === CLUSTER_ADMIN ? CLUSTER_ADMIN : "wildcard verbs on wildcard resources"} cluster-wide`);
            else if (ownNs) add(g, "low", `${g.role.name === CLUSTER_ADMIN ? CLUSTER_ADMIN : "wildcard access"} inside its own namespace ${g.scope} (the 'flux create tenant' pattern; includes RoleBinding creation and the namespace's Secrets)`);
            else add(g, "high", `${g.role.name === CLUSTER_ADMIN ? CLUSTER_ADMIN : "wildcard access"} in namespace ${g.scope}, which is not its own`);
            continue;
          }
          for (const verb of ["escalate", "bind", "impersonate"]) {
            if (verb === "impersonate" && ownNs && (g.rule.verbs.includes(verb) || g.rule.verbs.includes("*")) && !["users", "groups"].some((x) => ruleAllows(g.rule, verb, "", x))) {
              // Impersonating the service accounts of its own namespace (the built-in edit role
              // grants it) reaches only those accounts: it matters when one of them holds more.
              if (ruleAllows(g.rule, verb, "", "serviceaccounts")) {
                admins ??= clusterAdminAccounts(cluster.rbac);
                const stronger = (admins.get(g.scope) ?? []).filter((n) => n !== subject.name);
                if (stronger.length) add(g, "high", `'impersonate' on the service accounts of its own namespace ${g.scope}, where ServiceAccount ${g.scope}/${stronger[0]!} holds cluster-admin`);
              }
              continue;
            }
            if (g.rule.verbs.includes(verb) || g.rule.verbs.includes("*")) {
              const res = verb === "impersonate" ? ["users", "groups", "serviceaccounts"] : ["roles", "clusterroles"];
              const grp = verb === "impersonate" ? "" : "rbac.authorization.k8s.io";
              if (res.some((x) => ruleAllows(g.rule, verb, grp, x))) add(g, "high", `'${verb}'${g.scope === "*" ? " cluster-wide" : ` in ${g.scope}`}`);
            }
          }
          for (const res of ["rolebindings", "clusterrolebindings"]) {
            if (ruleAllows(g.rule, "create", "rbac.authorization.k8s.io", res)) add(g, ownNs && res === "rolebindings" ? "low" : "high", `create on ${res}${g.scope === "*" ? " cluster-wide" : ` in ${g.scope}`}`);
          }
          if (!ownNs && ["get", "list", "watch"].some((v) => ruleAllows(g.rule, v, "", "secrets"))) {
            add(g, "high", `read access to Secrets ${g.scope === "*" ? "in every namespace" : `in namespace ${g.scope}`}`);
          }
        }
        for (const p of problems.values()) {
          const idx = p.binding.subjects.findIndex((s) => s.kind === "ServiceAccount" && s.name === subject.name && (s.namespace ?? "") === subject.namespace);
          report({
            object: p.binding.object,
            pointer: idx >= 0 ? `/subjects/${idx}` : "/roleRef",
            severity: p.severity,
            message: `${describeSubject(subject)}, which ${describe(r.object)} runs as${r.remote ? ` on remote cluster ${r.remote.clusterId}` : ""}${setByPatch(r)}, holds ${p.what} through ${describe(p.binding.object)}`,
            related: [r.object],
          });
        }
      }
    }
  },
});

/** Where a parent's patch set the reconciler's serviceAccountName (layout 06: the message names the patch). */
function setByPatch(r: Reconciler): string {
  if (r.identity.source !== "spec") return "";
  const at = r.object.patchOf?.("/spec/serviceAccountName") ?? null;
  return at ? ` (its serviceAccountName is set by the patch at ${at.file}:${at.line})` : "";
}
