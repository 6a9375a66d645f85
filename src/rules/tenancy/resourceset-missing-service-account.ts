import { CONTROLLER_KINDS } from "../../core/model-kinds.js";
import { clusterOf } from "../../core/model.js";
import { defineRule } from "../../core/rule.js";
import { str } from "../../core/flux.js";
import { isResourceSet } from "../../loader/resourceset.js";
import { describe } from "../util.js";

/**
 * A ResourceSet without `spec.serviceAccountName` is applied by the Flux Operator with its own
 * identity (flux-operator `internal/controller/resourceset_controller.go`: it impersonates
 * `serviceAccountName`, or the operator's `--default-service-account` / `DEFAULT_SERVICE_ACCOUNT`,
 * and otherwise applies as itself). A default install binds the operator to cluster-admin.
 */
export default defineRule({
  meta: {
    id: "resourceset-missing-service-account",
    // The operator's Deployment (cluster.fluxOperator) and the Flux namespace: CONTROLLER_KINDS.
    reads: [...new Set<string>(["ResourceSet", ...CONTROLLER_KINDS])],
    title: "ResourceSet applied as the Flux Operator (cluster-admin)",
    severity: "high",
    severityVaries: "high for ResourceSets outside the Flux namespace; medium for the platform's own in the Flux namespace",
    threats: ["weakness-4-unscoped-kustomization", "adversary-3-kustomization-escalation", "weakness-1-cluster-admin"],
    summary: "a ResourceSet with no serviceAccountName, while the Flux Operator has no --default-service-account, is applied with the operator's own identity",
    rationale:
      "The Flux Operator applies what a ResourceSet creates by impersonating spec.serviceAccountName, or the operator's --default-service-account; with neither it applies as itself, and a default install binds the operator to cluster-admin. Whoever can write the ResourceSet, its inputs or an input provider's answers then controls the cluster, like a Kustomization without serviceAccountName and no lockdown.",
    remediation: {
      text: "Name a least-privilege service account in the ResourceSet's namespace, or start the Flux Operator with --default-service-account (DEFAULT_SERVICE_ACCOUNT) so every ResourceSet impersonates one.",
      snippet: `apiVersion: fluxcd.controlplane.io/v1
kind: ResourceSet
metadata:
  name: tenants
  namespace: team-a
spec:
  serviceAccountName: team-a-reconciler   # a RoleBinding grants it only what the ResourceSet creates
`,
    },
    references: ["https://fluxcd.control-plane.io/operator/resourceset/#role-based-access-control"],
  },
  check({ model, report }) {
    for (const m of model.objects) {
      if (!isResourceSet(m.object) || str(m.object, "spec", "serviceAccountName")) continue;
      const cluster = clusterOf(model, m);
      const operator = cluster?.fluxOperator;
      if (operator?.defaultServiceAccount) continue;
      const fluxNs = cluster?.fluxNamespace ?? "flux-system";
      const identity = operator ? `${operator.namespace}/${operator.serviceAccount}` : `${fluxNs}/flux-operator`;
      report({
        object: m,
        pointer: "/spec",
        cause: "lockdown",
        severity: (m.object.metadata.namespace ?? "default") === fluxNs ? "medium" : "high",
        message: `${describe(m)} has no serviceAccountName and the Flux Operator has no --default-service-account, so what it creates is applied as ${identity}${operator ? "" : " (cluster-admin in a default install)"}`,
      });
    }
  },
});
