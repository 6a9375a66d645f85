import { SOURCE_USER_KINDS, RECONCILER_KINDS } from "../../core/model-kinds.js";
import { GROUP, str } from "../../core/flux.js";
import { sourceVerification } from "../../core/verification.js";
import type { FleetModel, ModelObject } from "../../core/model.js";
import { defineRule } from "../../core/rule.js";
import { auditedObjects, describe, isFluxKind } from "../util.js";
import { appliedBy, effectiveSource, isApplied, usersOf, } from "./usage.js";

/** An OCIRepository that holds a Helm chart: helm-chart-unverified covers it. */
export function isChartSource(model: FleetModel, m: ModelObject): boolean {
  const u = usersOf(model, m);
  return u.helmReleases.length > 0 || /helm\.chart/.test(str(m.object, "spec", "layerSelector", "mediaType") ?? "");
}

export default defineRule({
  meta: {
    id: "ocirepository-unverified",
    title: "OCIRepository without signature verification, or with a weak keyless identity",
    severity: "high",
    severityVaries: "high when something applies the artifact; medium otherwise",
    threats: ["adversary-1-malicious-commit", "weakness-2-unverified-commits"],
    summary: "an OCIRepository has no spec.verify (cosign or notation), or keyless cosign matches any identity",
    rationale:
      "An OCI artifact is as mutable as the registry's access control: whoever can push the tag decides what Flux applies. `spec.verify` with cosign or notation makes source-controller refuse an artifact without a trusted signature (SourceVerified=False, VerificationError). Keyless cosign trusts an identity, not a key: without `matchOIDCIdentity`, or with a wildcard or unanchored subject or issuer, a signature from anyone's CI passes. Notation is judged by its trust policy (`trustpolicy.json` in the `secretRef` Secret, when the repository holds it in the clear): the policy whose registryScopes name the artifact (else the `*` one) must verify at level `strict`; `skip` verifies nothing, `audit` accepts a bad signature, `permissive` ignores expiry and revocation, and a policy with no trust store, a `log` override, or no scope covering the artifact protects nothing.",
    remediation: {
      text: "Verify with cosign (public keys in a Secret, or keyless with exact, anchored identities) or notation.",
      snippet: `apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
spec:
  verify:
    provider: cosign
    matchOIDCIdentity:
      - issuer: "^https://token\\\\.actions\\\\.githubusercontent\\\\.com$"
        subject: "^https://github\\\\.com/example/fleet/\\\\.github/workflows/release\\\\.yaml@refs/heads/main$"`,
    },
    references: ["https://fluxcd.io/flux/components/source/ocirepositories/#verification"],
    reads: [...new Set<string>(["Secret", "ConfigMap", "OCIRepository", ...SOURCE_USER_KINDS, ...RECONCILER_KINDS])],
  },
  check({ model, report }) {
    for (const m of auditedObjects(model)) {
      if (!isFluxKind(m, GROUP.source, "OCIRepository") || isChartSource(model, m)) continue;
      const obj = effectiveSource(m);
      const u = usersOf(model, m);
      const applied = isApplied(u);
      const v = sourceVerification(model, m)!;
      if (!v.verify) {
        report({
          object: m,
          pointer: "/spec",
          severity: applied ? "high" : "medium",
          message: `${describe(m)} has no spec.verify: ${applied ? appliedBy(u) : "Flux accepts"} whatever is pushed to ${str(obj, "spec", "url") ?? "the repository"}${str(obj, "spec", "ref", "tag") ? `:${str(obj, "spec", "ref", "tag")}` : ""}`,
        });
        continue;
      }
      // Not assessed (a trust policy not seen) is the posture's to say, never a verdict here.
      if (v.state !== "not-assessed") for (const p of v.problems) report({ object: m, pointer: "/spec/verify", severity: applied ? "high" : "medium", message: `${describe(m)}: ${p}` });
    }
  },
});
