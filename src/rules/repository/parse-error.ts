import { defineRule } from "../../core/rule.js";

/** Reported by the engine from the loader's parse errors; the check itself is empty. */
export default defineRule({
  meta: {
    id: "parse-error",
    // The engine reports the loader's parse errors; a cluster or admission model has none, so no object changes them.
    reads: [],
    title: "Malformed YAML",
    severity: "medium",
    threats: [],
    summary: "a YAML document could not be parsed; Flux would fail to build it",
    rationale:
      "kustomize-controller fails the whole Kustomization when one document is malformed, so the path stops reconciling, including security fixes. fluxguard also cannot audit what it cannot parse. The message names the file, line, column and what is wrong, never the text (a value may be a secret). YAML past a bound (aliases, depth, documents) is input-not-assessed, at high severity.",
    remediation: { text: "Fix the YAML syntax at the reported line.", snippet: "# validate locally:\nkubectl kustomize <path> > /dev/null" },
    references: ["https://yaml.org/spec/1.2.2/"],
  },
  check() {},
});
