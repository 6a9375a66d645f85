import { RECONCILER_KINDS } from "../../core/model-kinds.js";
import { GROUP, path, str } from "../../core/flux.js";
import { defineRule } from "../../core/rule.js";
import { describe, isFluxKind } from "../util.js";

export default defineRule({
  meta: {
    id: "reconciler-remote-kubeconfig",
    title: "A tenant reconciler targets another cluster with spec.kubeConfig",
    severity: "high",
    threats: ["adversary-3-kustomization-escalation", "weakness-4-unscoped-kustomization"],
    summary: "a tenant-tier Kustomization or HelmRelease sets spec.kubeConfig, so it applies to whatever cluster a Secret's kubeconfig names, with that Secret's credentials",
    rationale:
      "With `spec.kubeConfig`, kustomize-controller and helm-controller apply to the cluster that a kubeconfig in a Secret names, as the identity in it. The lockdown (`--default-service-account`) and this cluster's RBAC do not confine that: a tenant who can write such a Secret, or who is handed one, applies to a cluster the platform never assigned it, often as that cluster's admin. Remote targets are the platform's decision.",
    remediation: {
      text: "Keep spec.kubeConfig to the platform namespace; give a tenant that needs another cluster its own reconciler there.",
      snippet: `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  namespace: team-a
spec:
  serviceAccountName: team-a   # no spec.kubeConfig in tenant namespaces`,
    },
    references: ["https://fluxcd.io/flux/components/kustomize/kustomizations/#kubeconfig-remote-clusters", "https://fluxcd.io/flux/components/helm/helmreleases/#kubeconfig-remote-clusters"],
    reads: [...new Set<string>(["ResourceSet", ...RECONCILER_KINDS])],
  },
  check({ model, report }) {
    for (const r of model.reconcilers) {
      if (r.tier !== "tenant") continue;
      const m = r.object;
      if (!isFluxKind(m, GROUP.kustomize, "Kustomization") && !isFluxKind(m, GROUP.helm, "HelmRelease")) continue;
      if (path(m.object, "spec", "kubeConfig") === undefined) continue;
      const secret = str(m.object, "spec", "kubeConfig", "secretRef", "name");
      const how = secret ? `the kubeconfig in Secret ${secret}` : "a kubeconfig from a cloud provider's workload identity";
      report({
        object: m,
        pointer: "/spec/kubeConfig",
        message: `${describe(m)} applies to another cluster with ${how}, outside this cluster's lockdown and RBAC`,
      });
    }
  },
});
