import { RBAC_KINDS, RECONCILER_KINDS } from "../../core/model-kinds.js";
import { bindingEscalation, isClusterAdmin } from "../../core/escalation.js";
import { str } from "../../core/flux.js";
import { clusterOf } from "../../core/model.js";
import { defineRule } from "../../core/rule.js";
import { severityRank, type Severity } from "../../core/types.js";
import { describe, isFluxControllerSubject } from "../util.js";

export default defineRule({
  meta: {
    id: "kustomization-applies-escalation",
    reads: [...new Set<string>([...RBAC_KINDS, ...RECONCILER_KINDS])],
    title: "An application Kustomization applies an RBAC escalation as the controller",
    severity: "critical",
    severityVaries: "the severity of what the bindings it applies grant: critical for cluster-admin cluster-wide, high for escalate, bind, impersonate or * on Secrets cluster-wide, medium inside one namespace",
    threats: ["adversary-3-kustomization-escalation", "weakness-1-cluster-admin", "weakness-4-unscoped-kustomization"],
    summary: "a Kustomization that manages an application namespace runs as kustomize-controller (no serviceAccountName, no --default-service-account) and applies a RoleBinding or ClusterRoleBinding granting cluster-admin, escalate, bind, impersonate or * on Secrets",
    rationale:
      "The seed's Adversary 3: a developer's Kustomization manages their namespace (targetNamespace), names no service account, and the controllers run without `--default-service-account`, so kustomize-controller applies it with its own cluster-admin. A ClusterRoleBinding the developer adds to the application directory is applied like any other manifest: the escalation is the Kustomization's, and it is worth what the binding grants, not merely a missing service account. With a tenant service account (or the lockdown), the API server refuses a binding the tenant could not grant itself.",
    remediation: {
      text: "Give the Kustomization a service account limited to its namespace (and turn on --default-service-account for the ones that forget), and remove the binding from the application directory.",
      snippet: `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: web
  namespace: web
spec:
  targetNamespace: web
  serviceAccountName: web-reconciler   # a Role in namespace web, no RBAC verbs`,
    },
    references: ["https://fluxcd.io/flux/components/kustomize/kustomizations/#role-based-access-control", "https://fluxcd.io/flux/installation/configuration/multitenancy/"],
  },
  check({ model, report }) {
    for (const r of model.reconcilers) {
      if (r.kind !== "Kustomization" || r.identity.source !== "controller" || !r.render) continue;
      const cluster = clusterOf(model, r.object);
      if (!cluster || cluster.entrypoint === r.object) continue;
      // An application Kustomization: it manages a namespace other than Flux's own.
      const target = str(r.object.object, "spec", "targetNamespace");
      const own = r.object.object.metadata.namespace ?? "default";
      if (!target && own === cluster.fluxNamespace) continue;
      const controller = { kind: "ServiceAccount" as const, name: r.identity.serviceAccount, namespace: r.identity.namespace };
      if (!isClusterAdmin(cluster.rbac, controller)) continue;
      const found: Array<{ what: string; severity: Severity }> = [];
      for (const m of r.render.objects) {
        if (m.object.kind !== "RoleBinding" && m.object.kind !== "ClusterRoleBinding") continue;
        const b = cluster.rbac.bindings.find((x) => x.object === m);
        if (!b || b.subjects.every((s) => isFluxControllerSubject(cluster, s))) continue;
        const grants = bindingEscalation(cluster.rbac, b);
        if (grants.length === 0) continue;
        const top = grants.reduce((a, g) => (severityRank(g.severity) > severityRank(a.severity) ? g : a));
        found.push({ what: `${describe(m)} (${grants.map((g) => g.what).join(", ")})`, severity: top.severity });
      }
      if (found.length === 0) continue;
      const worst = found.reduce((a, f) => (severityRank(f.severity) > severityRank(a.severity) ? f : a));
      const manages = target ? `manages namespace ${target}` : `lives in namespace ${own}`;
      report({
        object: r.object,
        pointer: target ? "/spec/targetNamespace" : "/spec",
        severity: worst.severity,
        message: `${describe(r.object)} ${manages} but runs as ${r.identity.namespace}/${r.identity.serviceAccount} (cluster-admin: no serviceAccountName, no --default-service-account) and applies ${found.map((f) => f.what).join(", ")}: whoever can change its path grants that`,
      });
    }
  },
});
