import { asObject, GROUP, path, str } from "../../core/flux.js";
import { defineRule } from "../../core/rule.js";
import { checkBoundedRange, isAnchored } from "../../generate/semver.js";
import { auditedObjects, describe, isFluxKind, isTemplated } from "../util.js";

export default defineRule({
  meta: {
    id: "imagepolicy-unbounded",
    title: "Image policy that accepts any tag",
    severity: "medium",
    threats: ["adversary-5-image-automation"],
    summary: "a semver range without an upper bound or `*`, an alphabetical/numerical policy without filterTags, or a filterTags.pattern not anchored with ^…$",
    rationale:
      "Image automation writes the 'latest' tag its policy selects into Git, and Flux applies it. A policy that any pushed tag can win is Adversary 5's entry point: push `99.0.0` (or `zzz`) to the registry and it is deployed. A bounded range and an anchored tag filter limit automation to the release line you meant.",
    remediation: {
      text: "Bound the semver range, and give alphabetical or numerical policies an anchored filterTags.pattern.",
      snippet: `apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
spec:
  filterTags:
    pattern: '^main-[a-f0-9]+-(?P<ts>[0-9]+)$'
    extract: '$ts'
  policy:
    numerical:
      order: asc
---
spec:
  policy:
    semver:
      range: ">=1.0.0 <2.0.0"`,
    },
    references: ["https://fluxcd.io/flux/components/image/imagepolicies/", "https://fluxcd.io/flux/guides/image-update/"],
    reads: [...new Set<string>(["ImagePolicy", "ResourceSet"])],
  },
  check({ model, report }) {
    for (const m of auditedObjects(model)) {
      if (!isFluxKind(m, GROUP.image, "ImagePolicy")) continue;
      const policy = asObject(path(m.object, "spec", "policy")) ?? {};
      const pattern = str(m.object, "spec", "filterTags", "pattern");
      const range = str(policy, "semver", "range");
      if (range !== undefined && !isTemplated(range) && !checkBoundedRange(range).ok) {
        report({ object: m, pointer: "/spec/policy/semver/range", message: `${describe(m)}: semver range '${range}' has no upper bound: any higher version pushed to the registry is deployed` });
      }
      for (const kind of ["alphabetical", "numerical"]) {
        if (policy[kind] !== undefined && pattern === undefined) {
          report({ object: m, pointer: `/spec/policy/${kind}`, message: `${describe(m)}: ${kind} policy without filterTags: every tag in the repository competes, so any pushed tag that sorts last is deployed` });
        }
      }
      if (pattern !== undefined && !isTemplated(pattern) && !isAnchored(pattern)) {
        report({ object: m, pointer: "/spec/filterTags/pattern", message: `${describe(m)}: filterTags.pattern '${pattern}' is not anchored with ^…$, so tags that merely contain a match pass the filter` });
      }
    }
  },
});
