import { RECONCILER_KINDS } from "../../core/model-kinds.js";
import { isFluxKustomization, path as at } from "../../core/flux.js";
import { defineRule } from "../../core/rule.js";
import { describe } from "../util.js";

export default defineRule({
  meta: {
    id: "kustomization-force-apply",
    title: "Kustomization force-applies (recreates) objects",
    severity: "medium",
    threats: ["adversary-3-kustomization-escalation", "weakness-4-unscoped-kustomization"],
    summary: "spec.force: true makes Flux delete and recreate objects whose immutable fields changed",
    rationale:
      "With `force: true`, kustomize-controller recreates any object it cannot patch. A commit can then replace immutable fields (selectors, Job templates, PVC specs) and cause data loss or take over objects owned by someone else, without review of the recreation.",
    remediation: { text: "Remove `force: true`; handle immutable-field changes deliberately.", snippet: `spec:\n  force: false   # or omit` },
    references: ["https://fluxcd.io/flux/components/kustomize/kustomizations/#force"],
    reads: [...new Set<string>(["ResourceSet", ...RECONCILER_KINDS])],
  },
  check({ model, report }) {
    for (const m of model.objects) {
      if (!isFluxKustomization(m.object) || at(m.object, "spec", "force") !== true) continue;
      report({ object: m, pointer: "/spec/force", message: `${describe(m)} sets force: true` });
    }
  },
});
