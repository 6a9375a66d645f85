import { GROUP, path } from "../../core/flux.js";
import { gitCheckout } from "../../core/gitref.js";
import { defineRule } from "../../core/rule.js";
import { auditedObjects, describe, isFluxKind } from "../util.js";
import { appliedBy, effectiveSource, fromFluxInstance, isApplied, usersOf, verifyOf } from "./usage.js";

export default defineRule({
  meta: {
    id: "gitrepository-unverified",
    title: "GitRepository without commit signature verification",
    severity: "high",
    threats: ["adversary-1-malicious-commit", "weakness-2-unverified-commits"],
    summary: "a GitRepository has no spec.verify, so Flux applies any commit pushed to it",
    rationale:
      "Without `spec.verify`, source-controller turns whatever the branch points at into an artifact, and every Kustomization on that source applies it within one interval: a stolen developer credential with push access is a cluster operation (Adversary 1). With `verify`, an unsigned or wrongly signed HEAD (or tag) sets SourceVerified=False and no new artifact is produced. `flux bootstrap` never sets verify, and `flux create source git` has no flag for it.",
    remediation: {
      text: "Add `spec.verify` with the trusted public keys in a Secret in the same namespace (`.asc` armored PGP keys, or `.sshpub` SSH keys from Flux v2.9). For a Flux Operator sync source, add it through the FluxInstance's kustomize patches.",
      snippet: `apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
spec:
  verify:
    mode: HEAD              # or Tag / TagAndHEAD with a tag or semver ref
    secretRef:
      name: trusted-signers # keys: alice.asc, bob.sshpub
---
# Flux Operator (FluxInstance):
spec:
  kustomize:
    patches:
      - target:
          kind: GitRepository
        patch: |
          - op: add
            path: /spec/verify
            value:
              mode: HEAD
              secretRef:
                name: trusted-signers`,
    },
    references: ["https://fluxcd.io/flux/components/source/gitrepositories/#verification", "FLUX-FACTS.md §1.1"],
  },
  check({ model, report }) {
    for (const m of auditedObjects(model)) {
      if (!isFluxKind(m, GROUP.source, "GitRepository")) continue;
      const obj = effectiveSource(model, m);
      if (verifyOf(obj, "spec")) continue;
      const u = usersOf(model, m);
      const applied = isApplied(u);
      const checkout = gitCheckout(path(obj, "spec", "ref"));
      const branch = checkout.kind === "branch" && checkout.field !== "default" ? checkout.branch : null;
      const what = branch ? `commit pushed to branch ${branch}` : "commit";
      const op = fromFluxInstance(m) ? " (the FluxInstance sync source: add spec.verify through spec.kustomize.patches)" : "";
      report({
        object: m,
        pointer: fromFluxInstance(m) ? "/spec/url" : "/spec",
        severity: applied ? "high" : "medium",
        message: applied
          ? `${describe(m)} has no spec.verify: ${appliedBy(u)} any ${what}, signed or not${op}`
          : `${describe(m)} has no spec.verify: any ${what} becomes an artifact${u.automations.length ? ` (image automation pushes to it)` : ""}${op}`,
      });
    }
  },
});
