import { CONTROLLER_KINDS, FLUX_KINDS } from "../../core/model-kinds.js";
import { clusterOf } from "../../core/model.js";
import { defineRule } from "../../core/rule.js";
import { describe } from "../util.js";
import { crossNamespaceRefs, describeRef, hasNoTenants, type CrossNamespaceRef } from "./cross-namespace.js";

export default defineRule({
  meta: {
    id: "cross-namespace-source-ref",
    title: "Reference to a source in another namespace",
    severity: "medium",
    severityVaries: "medium in a cluster with tenants and no --no-cross-namespace-refs; low when the lockdown will refuse the reference; info, once per cluster, when every reconciler is the platform",
    threats: ["adversary-3-kustomization-escalation", "weakness-4-unscoped-kustomization", "weakness-5-shared-instance"],
    summary: "a sourceRef, chart sourceRef or chartRef points into another namespace",
    rationale:
      "A cross-namespace reference lets one tenant consume (and be steered by) another namespace's source, including the platform's flux-system repository. Flux's lockdown (`--no-cross-namespace-refs=true`) refuses them; without it they are how tenants reach sources they should not. In a cluster with no tenants (every reconciler runs as the platform) they are the platform's own layout: one info finding for the cluster, and multitenancy-lockdown-missing says they must move before the lockdown goes on.",
    remediation: { text: "Define the source in the same namespace as the object that uses it.", snippet: `spec:\n  sourceRef:\n    kind: GitRepository\n    name: team-a        # in the Kustomization's own namespace; no 'namespace:'` },
    references: ["https://fluxcd.io/flux/components/kustomize/kustomizations/#cross-namespace-references"],
    reads: [...new Set<string>([...FLUX_KINDS, ...CONTROLLER_KINDS])],
  },
  check({ model, report }) {
    const platformOnly = new Map<string, CrossNamespaceRef[]>();
    for (const r of crossNamespaceRefs(model)) {
      const m = r.object;
      const cluster = clusterOf(model, m);
      const blocked = cluster?.lockdown["kustomize-controller"].noCrossNamespaceRefs === true;
      if (!blocked && cluster && hasNoTenants(cluster)) {
        const list = platformOnly.get(cluster.id) ?? [];
        list.push(r);
        platformOnly.set(cluster.id, list);
        continue;
      }
      report({
        object: m,
        pointer: r.pointer,
        severity: blocked ? "low" : "medium",
        message: `${describe(m)} references ${r.kind} ${r.namespace}/${r.name} in another namespace${blocked ? " (the --no-cross-namespace-refs lockdown will refuse it)" : ""}`,
      });
    }
    // No tenants: every reconciler is the platform, so these references are its own layout.
    // One info finding per cluster; multitenancy-lockdown-missing says they block the lockdown.
    for (const [id, refs] of platformOnly) {
      const where = model.clusters.length > 1 && id !== "(unattached)" ? ` in ${id}` : "";
      report({
        object: refs[0]!.object,
        pointer: refs[0]!.pointer,
        severity: "info",
        related: refs.slice(1).map((r) => r.object),
        message: `${refs.length} reference(s) cross namespaces${where} (e.g. ${describeRef(refs[0]!)}), where every reconciler is the platform (no tenants): not an escalation today, but --no-cross-namespace-refs would refuse them, so move the sources before turning the lockdown on (see multitenancy-lockdown-missing)`,
      });
    }
  },
});
