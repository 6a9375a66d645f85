import { defineRule } from "../../core/rule.js";

/** Reported by the engine from the loader's parse errors; the check itself is empty. */
export default defineRule({
  meta: {
    id: "parse-error",
    title: "Malformed YAML",
    severity: "medium",
    threats: [],
    summary: "a YAML document could not be parsed (or exceeded the alias limit); Flux would fail to build it",
    rationale:
      "kustomize-controller fails the whole Kustomization when one document is malformed, so the path stops reconciling, including security fixes. fluxguard also cannot audit what it cannot parse. Documents with too many alias expansions are refused as possible alias bombs.",
    remediation: { text: "Fix the YAML syntax at the reported line.", snippet: "# validate locally:\nkubectl kustomize <path> > /dev/null" },
    references: ["https://yaml.org/spec/1.2.2/"],
  },
  check() {},
});
