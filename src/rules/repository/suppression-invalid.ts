import { defineRule } from "../../core/rule.js";
import { IGNORE_ANNOTATION, parseSuppressions } from "../../core/suppressions.js";
import { describe } from "../util.js";

export default defineRule({
  meta: {
    id: "suppression-invalid",
    reads: { allKindsBut: [], why: "every object's fluxguard.io/ignore annotation" },
    title: "fluxguard suppression without a reason",
    severity: "low",
    threats: [],
    summary: `a ${IGNORE_ANNOTATION} annotation is not of the form "<rule-id>: <reason>"`,
    rationale: "Suppressions must say why, so that a reviewer can judge them later. One without a reason suppresses nothing.",
    remediation: { text: "Write the rule id and the reason.", snippet: `metadata:\n  annotations:\n    ${IGNORE_ANNOTATION}: "kustomization-force-apply: the Job template changes every release"` },
    references: [],
  },
  check({ model, report }) {
    for (const m of model.objects) {
      const { invalid } = parseSuppressions(m.object.metadata.annotations?.[IGNORE_ANNOTATION]);
      for (const bad of invalid) report({ object: m, pointer: `/metadata/annotations/${IGNORE_ANNOTATION.replace("/", "~1")}`, message: `${describe(m)}: suppression '${bad}' needs the form "<rule-id>: <reason>"` });
    }
  },
});
