import { RECONCILER_KINDS } from "../../core/model-kinds.js";
import { CLUSTER_SCOPED_KINDS, isClusterScopedKind, str } from "../../core/flux.js";
import { defineRule } from "../../core/rule.js";
import { CLUSTER_ADMIN, describe } from "../util.js";

export default defineRule({
  meta: {
    id: "tenant-applies-cluster-scoped",
    reads: [...new Set<string>([...RECONCILER_KINDS, ...CLUSTER_SCOPED_KINDS, "RoleBinding"])],
    title: "A tenant Kustomization applies cluster-scoped objects or binds cluster-admin",
    severity: "high",
    threats: ["adversary-3-kustomization-escalation", "weakness-4-unscoped-kustomization"],
    summary: "a tenant-tier Kustomization renders a cluster-scoped kind or a binding to cluster-admin",
    rationale:
      "A tenant's path should hold only namespaced objects in the tenant's namespaces. A ClusterRoleBinding, ClusterRole, Namespace, CRD or webhook in it is either an escalation attempt (Adversary 3) or will fail once the tenant's RBAC is right; a binding to cluster-admin is escalation outright.",
    remediation: {
      text: "Move cluster-scoped objects to the platform repository, reconciled by the platform tier, and deny them to tenants with admission policy.",
      snippet: `# platform/tenants/team-a/ (platform tier) owns:
apiVersion: v1
kind: Namespace
metadata:
  name: team-a
# and the tenant path holds only namespaced objects in team-a`,
    },
    references: ["https://fluxcd.io/flux/installation/configuration/multitenancy/"],
  },
  check({ model, report }) {
    for (const r of model.reconcilers) {
      if (r.kind !== "Kustomization" || r.tier !== "tenant" || !r.render) continue;
      for (const m of r.render.objects) {
        const kind = m.object.kind;
        if (isClusterScopedKind(kind)) {
          report({ object: m, pointer: "/kind", message: `${describe(r.object)} (tenant, runs as ${r.identity.namespace}/${r.identity.serviceAccount}${r.remote ? ` on remote cluster ${r.remote.clusterId}` : ""}) applies cluster-scoped ${kind} ${m.object.metadata.name}` });
        } else if ((kind === "RoleBinding" || kind === "ClusterRoleBinding") && str(m.object, "roleRef", "name") === CLUSTER_ADMIN) {
          report({ object: m, pointer: "/roleRef/name", message: `${describe(r.object)} (tenant) applies ${describe(m)} binding ${CLUSTER_ADMIN}` });
        }
      }
    }
  },
});
