import { defineRule } from "../../core/rule.js";
import { describe } from "../util.js";

export default defineRule({
  meta: {
    id: "resourceset-not-expanded",
    title: "fluxguard could not expand what a Flux Operator ResourceSet creates",
    severity: "info",
    threats: [],
    summary: "a ResourceSet was not expanded, or only for some of its inputs, so rules did not see the objects it creates",
    rationale:
      "A Flux Operator ResourceSet stamps out objects per input set: service accounts, RBAC, sources, Kustomizations, image automation. fluxguard expands it with the Flux Operator's own CLI (`flux-operator build resourceset`), offline. When the CLI is not available, when inputs come from providers that only resolve live (GitHub pull requests, OCI tags...), or when the build fails, what the ResourceSet creates is not assessed, and the posture says so.",
    remediation: {
      text: "Build the CLI (`npm run build:flux-operator`, needs Go), or give the live-only providers' input sets under `inputs` in .fluxguard.yaml.",
      snippet: `# .fluxguard.yaml
inputs:
  flux-system/pull-requests:
    - id: "42"
      branch: feature-x`,
    },
    references: ["https://fluxoperator.dev/docs/crd/resourceset/", "https://fluxoperator.dev/docs/crd/resourcesetinputprovider/"],
    modes: ["files"],
  },
  check({ model, report }) {
    for (const e of model.resourceSets ?? []) {
      if (e.problems.length === 0) continue;
      const what = e.objects.length === 0 ? "was not expanded" : `was expanded only in part (${e.objects.length} objects${e.inputSets.length ? ` from input sets ${e.inputSets.join(", ")}` : ""})`;
      report({ object: e.resourceSet, pointer: e.unresolved.length ? "/spec/inputsFrom" : "/spec", message: `${describe(e.resourceSet)} ${what}: ${e.problems.join("; ")}` });
    }
  },
});
