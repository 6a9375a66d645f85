import { SOURCE_USER_KINDS, RECONCILER_KINDS } from "../../core/model-kinds.js";
import { GROUP, path, str } from "../../core/flux.js";
import { describeCheckout, gitCheckout } from "../../core/gitref.js";
import { defineRule } from "../../core/rule.js";
import { sourceVerification } from "../../core/verification.js";
import { auditedObjects, describe, isFluxKind } from "../util.js";
import { appliedBy, effectiveSource, fleetGitOwners, fromFluxInstance, gitOwner, isApplied, usersOf } from "./usage.js";

export default defineRule({
  meta: {
    id: "gitrepository-unverified",
    title: "GitRepository without commit signature verification",
    severity: "high",
    severityVaries: "high for a branch or semver range an applied source follows; medium for a pinned tag, or a branch nothing applies; low for a pinned commit, or a tag nothing applies",
    threats: ["adversary-1-malicious-commit", "weakness-2-unverified-commits"],
    summary: "a GitRepository has no spec.verify, so Flux applies any commit pushed to it",
    rationale:
      "Without `spec.verify`, source-controller turns whatever the branch points at into an artifact, and every Kustomization on that source applies it within one interval: a stolen developer credential with push access is a cluster operation (Adversary 1). With `verify`, an unsigned or wrongly signed HEAD (or tag) sets SourceVerified=False and no new artifact is produced. `flux bootstrap` never sets verify, and `flux create source git` has no flag for it. Severity follows what a push does: high for a branch (or semver range) whose next commit an applied source serves, medium for a pinned tag (anyone who can push to that repository can move it), low for a pinned commit (it changes only when the pin in your repository does) and for sources nothing applies. Messages name a third party's repository (another host/owner than the fleet's sync source).",
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
    references: ["https://fluxcd.io/flux/components/source/gitrepositories/#verification"],
    reads: [...new Set<string>(["Secret", "ConfigMap", "GitRepository", ...SOURCE_USER_KINDS, ...RECONCILER_KINDS])],
  },
  check({ model, report }) {
    for (const m of auditedObjects(model)) {
      if (!isFluxKind(m, GROUP.source, "GitRepository")) continue;
      const obj = effectiveSource(m);
      if (sourceVerification(model, m)?.verify) continue;
      const u = usersOf(model, m);
      const applied = isApplied(u);
      const checkout = gitCheckout(path(obj, "spec", "ref"));
      const branch = checkout.kind === "branch" && checkout.field !== "default" ? checkout.branch : null;
      const op = fromFluxInstance(m) ? " (the FluxInstance sync source: add spec.verify through spec.kustomize.patches)" : "";
      // A pinned commit never changes; a pinned tag changes only if someone moves it. Either is
      // less exposed than a branch (or a semver range) whose next push Flux applies.
      if (checkout.kind === "commit" || checkout.kind === "tag") {
        const url = str(obj, "spec", "url");
        const owner = url ? gitOwner(url) : null;
        const owners = fleetGitOwners(model);
        const thirdParty = owner !== null && owners.size > 0 && !owners.has(owner);
        const whose = thirdParty ? ` of a third-party repository (${owner}, not the fleet's ${[...owners].sort().join(", ")})` : "";
        const pinned = `pinned to ${describeCheckout(checkout)}${whose}`;
        report({
          object: m,
          pointer: fromFluxInstance(m) ? "/spec/url" : "/spec/ref",
          severity: checkout.kind === "commit" || !applied ? "low" : "medium",
          message:
            checkout.kind === "commit"
              ? `${describe(m)} has no spec.verify but is ${pinned}: what it serves changes only when the pin in this repository does${op}`
              : `${describe(m)} has no spec.verify and is ${pinned}: ${applied ? `${appliedBy(u)} whatever the tag points at, and` : "whatever the tag points at becomes an artifact;"} anyone who can push to that repository can move a tag; pin a commit, or verify with mode: Tag and the publisher's keys${op}`,
        });
        continue;
      }
      const what = branch ? `commit pushed to branch ${branch}` : "commit";
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
