import { RECONCILER_KINDS } from "../../core/model-kinds.js";
import type { FleetModel, Reconciler } from "../../core/model.js";
import { clusterOf } from "../../core/model.js";
import { defineRule, type Rule } from "../../core/rule.js";
import { describe } from "../util.js";

function makeRule(kind: "Kustomization" | "HelmRelease"): Rule {
  const controller = kind === "Kustomization" ? "kustomize-controller" : "helm-controller";
  const id = kind === "Kustomization" ? "kustomization-missing-service-account" : "helmrelease-missing-service-account";
  return defineRule({
    meta: {
      id,
      reads: [...new Set<string>([...RECONCILER_KINDS])],
      title: `${kind} reconciles as ${controller} (cluster-admin)`,
      severity: "high",
      severityVaries: "high for reconcilers outside the Flux namespace; medium for the platform's own in the Flux namespace",
      threats:
        kind === "Kustomization"
          ? ["weakness-4-unscoped-kustomization", "adversary-3-kustomization-escalation", "weakness-1-cluster-admin"]
          : ["adversary-4-helm-values-injection", "weakness-4-unscoped-kustomization", "weakness-1-cluster-admin"],
      summary: `a ${kind} with no serviceAccountName and no --default-service-account lockdown runs as the controller`,
      rationale: `Without spec.serviceAccountName, ${controller} applies the ${kind === "Kustomization" ? "rendered manifests" : "chart"} with its own service account, which Flux binds to cluster-admin, unless the controller runs with --default-service-account. Whoever controls the ${kind === "Kustomization" ? "path" : "values or chart"} then controls the cluster.`,
      remediation: {
        text: `Name a least-privilege service account in the ${kind}'s namespace, or enable the --default-service-account lockdown on ${controller}.`,
        snippet: `apiVersion: ${kind === "Kustomization" ? "kustomize.toolkit.fluxcd.io/v1" : "helm.toolkit.fluxcd.io/v2"}
kind: ${kind}
metadata:
  name: team-a
  namespace: team-a
spec:
  serviceAccountName: team-a-reconciler   # a RoleBinding grants it only team-a's namespace
`,
      },
      references: [
        kind === "Kustomization"
          ? "https://fluxcd.io/flux/components/kustomize/kustomizations/#role-based-access-control"
          : "https://fluxcd.io/flux/components/helm/helmreleases/#role-based-access-control",
      ],
    },
    check({ model, report }) {
      for (const r of model.reconcilers) {
        if (r.kind !== kind || r.identity.source !== "controller") continue;
        report({ object: r.object, pointer: "/spec", cause: "lockdown", severity: severityFor(model, r), message: message(model, r, controller) });
      }
    },
  });
}

function severityFor(model: FleetModel, r: Reconciler): "high" | "medium" {
  const cluster = clusterOf(model, r.object);
  return (r.object.object.metadata.namespace ?? "default") === (cluster?.fluxNamespace ?? "flux-system") ? "medium" : "high";
}

function message(model: FleetModel, r: Reconciler, controller: string): string {
  const cluster = clusterOf(model, r.object);
  return `${describe(r.object)} has no serviceAccountName and ${controller} has no --default-service-account, so it is applied as ${cluster?.fluxNamespace ?? "flux-system"}/${controller}`;
}

export const kustomizationMissingServiceAccount = makeRule("Kustomization");
export const helmreleaseMissingServiceAccount = makeRule("HelmRelease");
