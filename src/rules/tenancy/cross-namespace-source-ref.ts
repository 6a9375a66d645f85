import { str } from "../../core/flux.js";
import { clusterOf, type ModelObject } from "../../core/model.js";
import { defineRule } from "../../core/rule.js";
import { describe } from "../util.js";

/** Where each kind keeps a reference that may cross namespaces. */
const REFS: Record<string, string[][]> = {
  Kustomization: [["spec", "sourceRef"]],
  HelmRelease: [
    ["spec", "chart", "spec", "sourceRef"],
    ["spec", "chartRef"],
  ],
  ImageUpdateAutomation: [["spec", "sourceRef"]],
  HelmChart: [["spec", "sourceRef"]],
  ImagePolicy: [["spec", "imageRepositoryRef"]],
};

export default defineRule({
  meta: {
    id: "cross-namespace-source-ref",
    title: "Reference to a source in another namespace",
    severity: "medium",
    threats: ["adversary-3-kustomization-escalation", "weakness-4-unscoped-kustomization", "weakness-5-shared-instance"],
    summary: "a sourceRef, chart sourceRef or chartRef points into another namespace",
    rationale:
      "A cross-namespace reference lets one tenant consume (and be steered by) another namespace's source, including the platform's flux-system repository. Flux's lockdown (`--no-cross-namespace-refs=true`) refuses them; without it they are how tenants reach sources they should not.",
    remediation: { text: "Define the source in the same namespace as the object that uses it.", snippet: `spec:\n  sourceRef:\n    kind: GitRepository\n    name: team-a        # in the Kustomization's own namespace; no 'namespace:'` },
    references: ["https://fluxcd.io/flux/components/kustomize/kustomizations/#cross-namespace-references", "FLUX-FACTS.md §2.1"],
  },
  check({ model, report }) {
    const seen = new Set<ModelObject>();
    for (const m of model.objects) {
      const paths = REFS[m.object.kind];
      if (!paths || !m.object.apiVersion.includes("toolkit.fluxcd.io")) continue;
      if (seen.has(m)) continue;
      seen.add(m);
      const own = m.object.metadata.namespace ?? "default";
      for (const p of paths) {
        const ns = str(m.object, ...p, "namespace");
        if (!ns || ns === own) continue;
        const cluster = clusterOf(model, m);
        const blocked = cluster?.lockdown["kustomize-controller"].noCrossNamespaceRefs === true;
        report({
          object: m,
          pointer: `/${p.join("/")}/namespace`,
          severity: blocked ? "low" : "medium",
          message: `${describe(m)} references ${str(m.object, ...p, "kind") ?? "a source"} ${ns}/${str(m.object, ...p, "name") ?? "?"} in another namespace${blocked ? " (the --no-cross-namespace-refs lockdown will refuse it)" : ""}`,
        });
      }
    }
  },
});
