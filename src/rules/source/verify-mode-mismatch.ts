import { SOURCE_USER_KINDS, RECONCILER_KINDS } from "../../core/model-kinds.js";
import { asObject, asString, GROUP, path } from "../../core/flux.js";
import { checksOutTag, describeCheckout, gitCheckout, shadowedRefFields } from "../../core/gitref.js";
import { defineRule } from "../../core/rule.js";
import { auditedObjects, describe, isFluxKind } from "../util.js";
import { effectiveSource, verifyOf } from "./usage.js";

const TAG_MODES = new Set(["Tag", "TagAndHEAD"]);

export default defineRule({
  meta: {
    id: "verify-mode-mismatch",
    title: "Signature verification that cannot work as configured",
    severity: "high",
    threats: ["adversary-1-malicious-commit", "weakness-2-unverified-commits"],
    summary: "verify.mode Tag or TagAndHEAD without a tag, semver or tag name ref, or a verify block without a secretRef",
    rationale:
      "`Tag` and `TagAndHEAD` verify the tag object the ref points at. Checked out through a branch or commit there is no tag (source-controller resolves one ref, by precedence commit > name > semver > tag > branch, so a `ref.tag` beside `ref.name: refs/heads/main` is ignored): source-controller marks the GitRepository Stalled with reason InvalidVerificationMode and never produces an artifact, so the hardening becomes an outage that teams 'fix' by removing verify. A GitRepository `verify` without `secretRef` names no trusted keys and the API server refuses it.",
    remediation: {
      text: "Use mode HEAD with a branch ref, or keep Tag/TagAndHEAD and check out a tag (`ref.tag`, `ref.semver`, or `ref.name: refs/tags/…`); always name the keys Secret.",
      snippet: `spec:
  ref:
    semver: ">=1.0.0 <2.0.0"    # release tags
  verify:
    mode: TagAndHEAD
    secretRef:
      name: trusted-signers`,
    },
    references: ["https://fluxcd.io/flux/components/source/gitrepositories/#verification"],
    reads: [...new Set<string>(["Secret", "ConfigMap", "GitRepository", ...SOURCE_USER_KINDS, ...RECONCILER_KINDS])],
  },
  check({ model, report }) {
    for (const m of auditedObjects(model)) {
      if (!isFluxKind(m, GROUP.source, "GitRepository")) continue;
      const obj = effectiveSource(m);
      const verify = verifyOf(obj, "spec");
      if (!verify) continue;
      const mode = asString(verify["mode"]) ?? "HEAD";
      if (!asObject(verify["secretRef"])) {
        report({ object: m, pointer: "/spec/verify", message: `${describe(m)}: spec.verify has no secretRef, so no key is trusted and the API server refuses the object` });
      }
      if (!TAG_MODES.has(mode)) continue;
      const ref = path(obj, "spec", "ref");
      const checkout = gitCheckout(ref);
      if (checkout.kind === "unknown" || checksOutTag(checkout)) continue;
      const shadowed = shadowedRefFields(ref).filter((f) => f === "tag" || f === "semver");
      const via = `${describeCheckout(checkout)}${shadowed.length ? ` (ref.${shadowed.join(" and ref.")} ${shadowed.length > 1 ? "are" : "is"} ignored: source-controller takes commit, then name, then semver, then tag, then branch)` : ""}`;
      report({
        object: m,
        pointer: "/spec/verify/mode",
        message: `${describe(m)}: verify.mode ${mode} needs a tag checkout but the ref is ${via}: source-controller stalls with InvalidVerificationMode and produces no artifact`,
      });
    }
  },
});
