import { GROUP, path } from "../../core/flux.js";
import { defineRule } from "../../core/rule.js";
import type { FleetModel, ModelObject } from "../../core/model.js";
import { auditedObjects, describe, isFluxKind, oncePerLine, reconcilerOf } from "../util.js";

/** Whether a Kustomization rendered cleanly to CustomResourceDefinitions and nothing else. */
function holdsOnlyCrds(model: FleetModel, m: ModelObject): boolean {
  const render = reconcilerOf(model, m)?.render;
  if (!render || render.method === null || render.problems.length > 0 || render.objects.length === 0) return false;
  return render.objects.every((o) => o.object.kind === "CustomResourceDefinition" && o.object.apiVersion.startsWith("apiextensions.k8s.io/"));
}

export default defineRule({
  meta: {
    id: "prune-disabled",
    title: "Kustomization does not prune",
    severity: "low",
    threats: ["adversary-1-malicious-commit", "adversary-3-kustomization-escalation"],
    summary: "a Kustomization sets prune: false, so objects removed from Git stay in the cluster",
    rationale:
      "Reverting a malicious commit only removes what it added if Flux prunes: with `prune: false`, a ClusterRoleBinding or a privileged DaemonSet someone pushed keeps running after it is deleted from Git, and Git stops being the record of what is deployed. A Kustomization that renders only CustomResourceDefinitions is left alone: there `prune: false` is deliberate, since pruning a CRD deletes every custom resource of its kind.",
    remediation: { text: "Set prune: true; protect individual objects that must survive with the kustomize.toolkit.fluxcd.io/prune: disabled annotation.", snippet: `spec:\n  prune: true` },
    references: ["https://fluxcd.io/flux/components/kustomize/kustomizations/#prune"],
    reads: [...new Set<string>(["Kustomization", "CustomResourceDefinition", "ResourceSet"])],
  },
  check({ model, report }) {
    const once = oncePerLine(report);
    for (const m of auditedObjects(model)) {
      if (!isFluxKind(m, GROUP.kustomize, "Kustomization") || path(m.object, "spec", "prune") !== false) continue;
      // Deliberate: pruning a CRD deletes every custom resource of its kind, cluster-wide.
      if (holdsOnlyCrds(model, m)) continue;
      once({ object: m, pointer: "/spec/prune", message: `${describe(m)} sets prune: false: objects deleted from Git (a reverted ClusterRoleBinding, say) stay in the cluster` });
    }
  },
});
