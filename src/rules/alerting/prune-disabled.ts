import { GROUP, path } from "../../core/flux.js";
import { defineRule } from "../../core/rule.js";
import { auditedObjects, describe, isFluxKind, oncePerLine } from "../util.js";

export default defineRule({
  meta: {
    id: "prune-disabled",
    title: "Kustomization does not prune",
    severity: "low",
    threats: ["adversary-1-malicious-commit", "adversary-3-kustomization-escalation"],
    summary: "a Kustomization sets prune: false, so objects removed from Git stay in the cluster",
    rationale:
      "Reverting a malicious commit only removes what it added if Flux prunes: with `prune: false`, a ClusterRoleBinding or a privileged DaemonSet someone pushed keeps running after it is deleted from Git, and Git stops being the record of what is deployed.",
    remediation: { text: "Set prune: true; protect individual objects that must survive with the kustomize.toolkit.fluxcd.io/prune: disabled annotation.", snippet: `spec:\n  prune: true` },
    references: ["https://fluxcd.io/flux/components/kustomize/kustomizations/#prune"],
  },
  check({ model, report }) {
    const once = oncePerLine(report);
    for (const m of auditedObjects(model)) {
      if (!isFluxKind(m, GROUP.kustomize, "Kustomization") || path(m.object, "spec", "prune") !== false) continue;
      once({ object: m, pointer: "/spec/prune", message: `${describe(m)} sets prune: false: objects deleted from Git (a reverted ClusterRoleBinding, say) stay in the cluster` });
    }
  },
});
