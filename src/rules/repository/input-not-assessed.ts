import { defineRule } from "../../core/rule.js";

/** Reported by the engine from the loader's `unassessed` list; the check itself is empty. */
export default defineRule({
  meta: {
    id: "input-not-assessed",
    // The engine reports the loader's unassessed inputs; a cluster or admission model has none.
    reads: [],
    title: "Content Flux would apply was not assessed",
    severity: "high",
    threats: ["adversary-1-malicious-commit", "adversary-3-kustomization-escalation"],
    summary: "a file or object could not be read or rendered within fluxguard's bounds (size, encoding, YAML aliases, depth or documents, kustomize time or memory, malformed apiVersion/kind/name), so nothing in it was checked",
    rationale:
      "A pull request can hide an object from an audit by making it unreadable to the auditor but not to Flux: padding a file past the size limit, saving it as UTF-16, or burying it in YAML that exhausts a parser. fluxguard never counts what it did not see as safe: such content is reported at high severity, the run fails, and the posture says the threats are not assessed.",
    remediation: {
      text: "Keep manifests small, UTF-8 and free of alias expansion; split large files. If the content is legitimate, review it by hand.",
      snippet: "# split a large file into several, one object each\n# re-save as UTF-8:\niconv -f UTF-16 -t UTF-8 crb.yaml > crb.utf8.yaml && mv crb.utf8.yaml crb.yaml",
    },
    references: ["https://fluxcd.io/flux/components/kustomize/kustomizations/#path"],
  },
  check() {},
});
