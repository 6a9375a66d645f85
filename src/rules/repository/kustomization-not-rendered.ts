import { defineRule } from "../../core/rule.js";
import { describe } from "../util.js";

export default defineRule({
  meta: {
    id: "kustomization-not-rendered",
    title: "fluxguard could not render what a Kustomization applies",
    severity: "info",
    threats: [],
    summary: "a Flux Kustomization's content could not be rendered, or only in part, so rules did not see all of it",
    rationale:
      "fluxguard audits what Flux will apply. When a path comes from a source that is not this repository, is missing, reaches outside the repository, or needs remote bases, the rendered content (and any finding in it) is unknown. The report lists why.",
    remediation: {
      text: "Map foreign sources to local checkouts in .fluxguard.yaml, install kustomize, or fix the path.",
      snippet: `# .fluxguard.yaml
sources:
  "ssh://git@github.com/example/team-a-apps": ../team-a-apps`,
    },
    references: [],
    modes: ["files"],
  },
  check({ model, report }) {
    for (const r of model.reconcilers) {
      if (r.kind !== "Kustomization" || !r.render || r.render.problems.length === 0) continue;
      const what = r.render.method === null ? "was not rendered" : `was rendered only in part (${r.render.method})`;
      report({ object: r.object, pointer: "/spec/path", message: `${describe(r.object)} ${what}: ${r.render.problems.join("; ")}` });
    }
  },
});
