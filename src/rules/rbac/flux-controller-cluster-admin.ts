import { RECONCILER_KINDS, RBAC_KINDS } from "../../core/model-kinds.js";
import { IMPERSONATING_CONTROLLERS } from "../../core/flux.js";
import { runsFlux } from "../../core/model.js";
import { defineRule } from "../../core/rule.js";
import { ruleAllows } from "../../core/rbac.js";
import { CLUSTER_ADMIN, describe } from "../util.js";

export default defineRule({
  meta: {
    id: "flux-controller-cluster-admin",
    title: "Flux reconcilers are bound to cluster-admin without the impersonation lockdown",
    severity: "high",
    severityVaries: "high without the --default-service-account lockdown; low when the lockdown confines the controller to reconcilers that name it",
    threats: ["weakness-1-cluster-admin", "adversary-3-kustomization-escalation"],
    summary: "cluster-admin (or a wildcard ClusterRole) is bound to kustomize-controller or helm-controller",
    rationale:
      "Flux installs kustomize-controller and helm-controller with cluster-admin. Without `--default-service-account`, every Kustomization or HelmRelease that does not name a service account is applied with those rights, so anyone who can create one, or push to a path one reconciles, is cluster-admin. With the lockdown the binding remains but only the platform tier, which names the controller account on purpose, uses it.",
    remediation: {
      text: "Keep the controllers' binding for the platform tier, but add the multi-tenancy lockdown so that everything else impersonates a least-privilege account.",
      snippet: `# clusters/<cluster>/flux-system/kustomization.yaml
patches:
  - patch: |
      - op: add
        path: /spec/template/spec/containers/0/args/-
        value: --default-service-account=default
    target:
      kind: Deployment
      name: "(kustomize-controller|helm-controller)"
`,
    },
    references: ["https://fluxcd.io/flux/installation/configuration/multitenancy/"],
    reads: [...new Set<string>([...RBAC_KINDS, ...RECONCILER_KINDS])],
  },
  check({ model, report }) {
    for (const cluster of model.clusters) {
      if (!runsFlux(cluster)) continue; // a remote cluster reached through spec.kubeConfig runs no Flux of its own
      for (const b of cluster.rbac.bindings) {
        if (b.kind !== "ClusterRoleBinding") continue;
        const role = cluster.rbac.roleFor(b);
        if (!role) continue;
        const wildcard = role.name === CLUSTER_ADMIN || role.rules.some((r) => ruleAllows(r, "*", "*", "*") && r.verbs.includes("*") && r.resources.includes("*"));
        if (!wildcard) continue;
        b.subjects.forEach((s, i) => {
          if (s.kind !== "ServiceAccount" || (s.namespace ?? "") !== cluster.fluxNamespace) return;
          const controller = IMPERSONATING_CONTROLLERS.find((c) => c === s.name);
          if (!controller) return;
          const ld = cluster.lockdown[controller];
          const locked = typeof ld.defaultServiceAccount === "string" && ld.defaultServiceAccount !== "";
          report({
            object: b.object,
            pointer: `/subjects/${i}`,
            severity: locked ? "low" : "high",
            ...(locked ? {} : { cause: "lockdown" as const }),
            message: locked
              ? `${controller} is bound to ${role.name} by ${describe(b.object)}; the --default-service-account=${ld.defaultServiceAccount} lockdown confines it to reconcilers that name it`
              : `${controller} is bound to ${role.name} by ${describe(b.object)} and there is no --default-service-account lockdown: every ${controller === "kustomize-controller" ? "Kustomization" : "HelmRelease"} without serviceAccountName runs as ${role.name}`,
          });
        });
      }
    }
  },
});
