import { GROUP, path, str } from "../../core/flux.js";
import type { ModelObject } from "../../core/model.js";
import { defineRule } from "../../core/rule.js";
import { normalizeUrl } from "../../loader/repository.js";
import { auditedObjects, describe, findByKey, isFluxKind, isTemplated, refKey } from "../util.js";
import { usersOf, whoApplies } from "../source/usage.js";

/** The branch a push refspec writes to (`refs/heads/main:refs/heads/auto` → auto). */
function refspecTarget(refspec: string): string | undefined {
  const dst = refspec.includes(":") ? refspec.slice(refspec.indexOf(":") + 1) : refspec;
  return dst.replace(/^\+/, "").replace(/^refs\/heads\//, "") || undefined;
}

export default defineRule({
  meta: {
    id: "image-automation-pushes-to-applied-branch",
    title: "Image automation commits straight to a branch Flux applies",
    severity: "high",
    threats: ["adversary-5-image-automation", "weakness-2-unverified-commits"],
    summary: "an ImageUpdateAutomation pushes to the branch that a Flux source applies from (or sets no push.branch), with no review in between",
    rationale:
      "Without `push.branch`, image-automation-controller commits to the branch it checked out; if Flux applies that branch, a tag pushed to the registry (Adversary 5) is in the cluster one interval later, reviewed by no one. Pushing to a separate branch and merging through a pull request puts a human, CI and branch protection between the registry and the cluster. It also keeps the automation's write credential away from the branch Flux trusts.",
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
  },
  check({ model, report }) {
    const objects = auditedObjects(model);
    const gitRepos = objects.filter((m) => isFluxKind(m, GROUP.source, "GitRepository"));
    for (const m of objects) {
      if (!isFluxKind(m, GROUP.image, "ImageUpdateAutomation")) continue;
      const key = refKey(path(m.object, "spec", "sourceRef"), m.object.metadata.namespace ?? "default", "GitRepository");
      const src = key ? findByKey(model, key, m) : undefined;
      const checkout = str(m.object, "spec", "git", "checkout", "ref", "branch") ?? (src ? str(src.object, "spec", "ref", "branch") : undefined);
      const pushBranch = str(m.object, "spec", "git", "push", "branch");
      const refspec = str(m.object, "spec", "git", "push", "refspec");
      const target = pushBranch ?? (refspec ? refspecTarget(refspec) : undefined) ?? checkout;
      if ([target, pushBranch, refspec].some((v) => isTemplated(v))) continue;
      // Who applies that branch of that repository?
      const url = src ? str(src.object, "spec", "url") : undefined;
      const appliers: ModelObject[] = [];
      if (url && target) {
        for (const g of gitRepos) {
          const gUrl = str(g.object, "spec", "url");
          if (!gUrl || normalizeUrl(gUrl) !== normalizeUrl(url) || str(g.object, "spec", "ref", "branch") !== target) continue;
          const u = usersOf(model, g);
          appliers.push(...u.kustomizations, ...u.generators);
        }
      }
      const applied = appliers.length > 0;
      if (!pushBranch && !refspec) {
        report({
          object: m,
          pointer: path(m.object, "spec", "git", "push") === undefined ? "/spec/git" : "/spec/git/push",
          severity: applied || !target ? "high" : "medium",
          message: `${describe(m)} sets no push.branch, so it commits straight to the checkout branch${target ? ` ${target}` : ""}${applied ? `, which ${whoApplies(appliers)} from: registry tags reach the cluster without review` : ""}`,
        });
      } else if (applied) {
        report({
          object: m,
          pointer: pushBranch ? "/spec/git/push/branch" : "/spec/git/push/refspec",
          message: `${describe(m)} pushes to branch ${target}, which ${whoApplies(appliers)} from: registry tags reach the cluster without review`,
        });
      }
    }
  },
});
