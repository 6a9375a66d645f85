import { GROUP, str } from "../../core/flux.js";
import { defineRule } from "../../core/rule.js";
import { auditedObjects, describe, isFluxKind, isTemplated } from "../util.js";
import { captureGroups, templateRefs } from "./regexp.js";

export default defineRule({
  meta: {
    id: "imagepolicy-invalid-extract",
    title: "ImagePolicy extract names a group the pattern does not define",
    severity: "medium",
    threats: ["adversary-5-image-automation"],
    summary: "filterTags.extract refers to a capture group that filterTags.pattern does not define",
    rationale:
      "image-reflector-controller expands `extract` with Go's Regexp.Expand, which turns a group that does not exist into an empty string without an error. Every tag then extracts to '' and the policy compares nothing: it selects no image or an arbitrary one. The seed's ImagePolicy extracts `$timestamp` from `^v[0-9]+\\.[0-9]+\\.[0-9]+$`, which has no groups at all.",
    remediation: {
      text: "Define the group in the pattern (`(?P<name>…)`), or drop extract when the whole tag is the value.",
      snippet: `filterTags:
  pattern: '^v(?P<version>[0-9]+\\.[0-9]+\\.[0-9]+)$'
  extract: '$version'`,
    },
    references: ["https://fluxcd.io/flux/components/image/imagepolicies/#filter-tags", "https://pkg.go.dev/regexp#Regexp.Expand"],
    reads: [...new Set<string>(["ImagePolicy", "ResourceSet"])],
  },
  check({ model, report }) {
    for (const m of auditedObjects(model)) {
      if (!isFluxKind(m, GROUP.image, "ImagePolicy")) continue;
      const extract = str(m.object, "spec", "filterTags", "extract");
      if (extract === undefined || isTemplated(extract)) continue;
      const pattern = str(m.object, "spec", "filterTags", "pattern") ?? "";
      if (isTemplated(pattern)) continue;
      const { count, names } = captureGroups(pattern);
      const missing = templateRefs(extract).filter((ref) => (/^\d+$/.test(ref) ? Number(ref) > count : !names.includes(ref)));
      if (missing.length === 0) continue;
      const defined = names.length ? `named groups: ${names.join(", ")}` : count ? `${count} unnamed group(s)` : "no groups";
      report({
        object: m,
        pointer: "/spec/filterTags/extract",
        message: `${describe(m)}: extract '${extract}' refers to ${missing.map((x) => `'${x}'`).join(", ")}, which pattern '${pattern}' does not define (${defined}): every tag extracts to an empty string`,
      });
    }
  },
});
