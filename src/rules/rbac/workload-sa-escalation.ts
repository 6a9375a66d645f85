import { POD_KINDS, RBAC_KINDS, RECONCILER_KINDS } from "../../core/model-kinds.js";
import { bindingEscalation } from "../../core/escalation.js";
import type { FleetModel, ModelObject } from "../../core/model.js";
import { defineRule } from "../../core/rule.js";
import { severityRank, type Severity } from "../../core/types.js";
import { describe, describeSubject, isFluxControllerSubject, isKubernetesSystemSubject, oncePerLine, podSpecs, renderingReconciler } from "../util.js";

/** Workloads (pod templates) that run as `namespace/name`, for messages. */
function workloadsRunningAs(model: FleetModel, near: ModelObject, namespace: string, name: string): ModelObject[] {
  return model.objects.filter((m) => {
    if (m.clusterId !== near.clusterId || (m.object.metadata.namespace ?? "default") !== namespace) return false;
    return podSpecs(m.object).some((p) => (typeof p.spec["serviceAccountName"] === "string" ? p.spec["serviceAccountName"] : "default") === name);
  });
}

export default defineRule({
  meta: {
    id: "workload-sa-escalation",
    reads: [...new Set<string>([...RBAC_KINDS, ...RECONCILER_KINDS, ...POD_KINDS])],
    title: "A workload's service account is granted escalation-grade RBAC",
    severity: "critical",
    severityVaries: "critical for cluster-admin cluster-wide; high for escalate, bind, impersonate or * on Secrets cluster-wide; medium for any of them inside one namespace",
    threats: ["adversary-3-kustomization-escalation", "adversary-1-malicious-commit", "weakness-1-cluster-admin"],
    summary: "a RoleBinding or ClusterRoleBinding grants cluster-admin, escalate, bind, impersonate or * on Secrets to a service account that is not a Flux controller or a reconciler identity",
    rationale:
      "Adversary 3 as the seed tells it: a developer adds a ClusterRoleBinding to their application directory and Flux applies it. The binding is the escalation: a pod running as that service account (or anyone who can mint its token) holds what it grants. cluster-admin is everything; `escalate` and `bind` let it grant itself any role; `impersonate` lets it act as anyone; `*` on Secrets includes Flux's deploy keys and every service account token. Reconciler identities are reported by reconciler-sa-overprivileged and Flux's controllers by flux-controller-cluster-admin; this rule covers every other service account a manifest in Git binds.",
    remediation: {
      text: "Remove the binding, or bind a Role listing only the verbs and resources the workload needs, in its own namespace.",
      snippet: `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: web
  namespace: web
rules:
  - apiGroups: [""]
    resources: ["configmaps"]
    verbs: ["get", "list", "watch"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: web
  namespace: web
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: web
subjects:
  - kind: ServiceAccount
    name: web
    namespace: web`,
    },
    references: ["https://kubernetes.io/docs/concepts/security/rbac-good-practices/", "https://kubernetes.io/docs/reference/access-authn-authz/rbac/#privilege-escalation-prevention-and-bootstrapping"],
  },
  check({ model, report }) {
    const once = oncePerLine(report);
    for (const cluster of model.clusters) {
      const reconcilerIdentities = new Set(cluster.reconcilers.map((r) => `${r.identity.namespace}/${r.identity.serviceAccount}`));
      for (const b of cluster.rbac.bindings) {
        if (b.object.origin.kind === "synthesized") continue;
        const grants = bindingEscalation(cluster.rbac, b);
        if (grants.length === 0) continue;
        const worst = grants.reduce((a, g) => (severityRank(g.severity) > severityRank(a.severity) ? g : a));
        b.subjects.forEach((s, i) => {
          if (s.kind !== "ServiceAccount" || isFluxControllerSubject(cluster, s) || isKubernetesSystemSubject(s, b)) return;
          if (reconcilerIdentities.has(`${s.namespace ?? ""}/${s.name}`)) return; // reconciler-sa-overprivileged
          const runs = workloadsRunningAs(model, b.object, s.namespace ?? "default", s.name);
          const r = renderingReconciler(model, b.object);
          const by = r ? `; ${describe(r.object)} applies it as ${r.identity.namespace}/${r.identity.serviceAccount}` : "";
          const used = runs.length ? ` (${describe(runs[0]!)}${runs.length > 1 ? ` and ${runs.length - 1} more` : ""} runs as it)` : "";
          const severity: Severity = worst.severity;
          once(
            {
              object: b.object,
              pointer: `/subjects/${i}`,
              severity,
              related: runs,
              message: `${describe(b.object)} grants ${grants.map((g) => g.what).join(", ")} to ${describeSubject(s)}${used}${by}`,
            },
            `${s.namespace}/${s.name}`,
          );
        });
      }
    }
  },
});
