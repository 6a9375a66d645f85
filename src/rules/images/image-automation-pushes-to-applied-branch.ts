import { SOURCE_USER_KINDS, RECONCILER_KINDS } from "../../core/model-kinds.js";
import { GROUP, path, str } from "../../core/flux.js";
import { automationPushes, describeCheckout, gitCheckout, trackedBranch } from "../../core/gitref.js";
import type { ModelObject } from "../../core/model.js";
import { defineRule } from "../../core/rule.js";
import { normalizeUrl } from "../../loader/repository.js";
import { auditedObjects, describe, findByKey, isFluxKind, refKey } from "../util.js";
import { effectiveSource, usersOf, whoApplies } from "../source/usage.js";

export default defineRule({
  meta: {
    id: "image-automation-pushes-to-applied-branch",
    title: "Image automation commits straight to a branch Flux applies",
    severity: "high",
    severityVaries: "high when the automation commits to a branch an applied source tracks (or to an unknown checkout branch); medium when it commits straight to a known checkout branch no source applies",
    threats: ["adversary-5-image-automation", "weakness-2-unverified-commits"],
    summary: "an ImageUpdateAutomation pushes (through push.branch, the checkout branch or a push.refspec destination) to a branch that a Flux source applies from, or sets no push.branch, with no review in between",
    rationale:
      "Without `push.branch`, image-automation-controller commits to the branch it checked out, and it does so even when `push.refspec` is set: a refspec adds a destination (`HEAD:refs/heads/main` writes main too). The checkout branch is resolved like any Git ref (`ref.name: refs/heads/main` is branch main). If Flux applies any of these branches, a tag pushed to the registry (Adversary 5) is in the cluster one interval later, reviewed by no one. Pushing to a separate branch and merging through a pull request puts a human, CI and branch protection between the registry and the cluster. It also keeps the automation's write credential away from the branch Flux trusts.",
    remediation: {
      text: "Push to a dedicated branch and merge it with a reviewed pull request (optionally auto-merged after CI).",
      snippet: `apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageUpdateAutomation
spec:
  git:
    checkout:
      ref:
        branch: main
    push:
      branch: image-updates     # reviewed PR into main`,
    },
    references: ["https://fluxcd.io/flux/components/image/imageupdateautomations/#push", "https://fluxcd.io/flux/guides/image-update/"],
    reads: [...new Set<string>(["ImageUpdateAutomation", "GitRepository", ...SOURCE_USER_KINDS, ...RECONCILER_KINDS])],
  },
  check({ model, report }) {
    const objects = auditedObjects(model);
    const gitRepos = objects.filter((m) => isFluxKind(m, GROUP.source, "GitRepository"));
    for (const m of objects) {
      if (!isFluxKind(m, GROUP.image, "ImageUpdateAutomation")) continue;
      const key = refKey(path(m.object, "spec", "sourceRef"), m.object.metadata.namespace ?? "default", "GitRepository");
      const src = key ? findByKey(model, key, m) : undefined;
      const srcSpec = src ? effectiveSource(src)["spec"] : undefined;
      const pushes = automationPushes(path(m.object, "spec"), src ? path(srcSpec, "ref") : undefined);
      // Without the source in the model and no checkout ref of its own, the checkout branch is unknown.
      const checkoutKnown = src !== undefined || path(m.object, "spec", "git", "checkout", "ref") !== undefined;
      if (!checkoutKnown) pushes.destinations = pushes.destinations.filter((d) => d.via !== "checkout");
      const pushBranch = str(m.object, "spec", "git", "push", "branch");
      const refspec = str(m.object, "spec", "git", "push", "refspec");
      if (pushes.unknown && pushes.destinations.length === 0) continue;
      // Who applies each destination branch of that repository?
      const url = src ? str(src.object, "spec", "url") : undefined;
      const appliersOf = (branch: string): ModelObject[] => {
        const out: ModelObject[] = [];
        if (!url) return out;
        for (const g of gitRepos) {
          const gUrl = str(g.object, "spec", "url");
          if (!gUrl || normalizeUrl(gUrl) !== normalizeUrl(url)) continue;
          if (trackedBranch(gitCheckout(path(effectiveSource(g)["spec"], "ref"))) !== branch) continue;
          const u = usersOf(model, g);
          out.push(...u.kustomizations, ...u.generators);
        }
        return out;
      };
      const checkoutWords = pushes.checkout.kind === "branch" ? ` ${describeCheckout(pushes.checkout).replace(/^branch /, "")}` : "";
      let reported = false;
      for (const d of pushes.destinations) {
        const appliers = appliersOf(d.branch);
        if (appliers.length === 0) continue;
        reported = true;
        const tail = `, which ${whoApplies(appliers)} from: registry tags reach the cluster without review`;
        const message =
          d.via === "checkout"
            ? `${describe(m)} sets no push.branch, so it commits straight to the checkout branch${checkoutWords}${refspec ? " (push.refspec adds a destination, it does not replace this one)" : ""}${tail}`
            : d.via === "push.branch"
              ? `${describe(m)} pushes to branch ${d.branch}${tail}`
              : `${describe(m)} also pushes to branch ${d.branch} through push.refspec ${refspec}${tail}`;
        report({ object: m, pointer: d.pointer, message });
      }
      if (reported || pushBranch) continue;
      // No applied destination, but no push.branch either: the checkout branch takes every commit.
      const target = checkoutKnown ? trackedBranch(pushes.checkout) : null;
      report({
        object: m,
        pointer: path(m.object, "spec", "git", "push") === undefined ? "/spec/git" : "/spec/git/push",
        severity: target ? "medium" : "high",
        message: `${describe(m)} sets no push.branch, so it commits straight to the checkout branch${target ? checkoutWords : ""}${refspec ? " (push.refspec adds a destination, it does not replace this one)" : ""}`,
      });
    }
  },
});
