import { CONTROLLER_KINDS } from "../../core/model-kinds.js";
import { asArray } from "../../core/flux.js";
import { pointer } from "../../core/pointer.js";
import { defineRule } from "../../core/rule.js";
import { isRemoteRef } from "../../loader/kustomize.js";
import { UNATTACHED } from "../../loader/repository.js";

export default defineRule({
  meta: {
    id: "remote-kustomize-base",
    // Kustomize files (not cluster objects) and the lockdown's --no-remote-bases.
    reads: [...new Set<string>([...CONTROLLER_KINDS])],
    title: "kustomization pulls a remote base",
    severity: "medium",
    severityVaries: "medium without --no-remote-bases; low when the lockdown will refuse the base",
    threats: ["adversary-1-malicious-commit", "weakness-2-unverified-commits"],
    summary: "a kustomization file lists a remote resource, base or component (a URL or repository reference)",
    rationale:
      "A remote base is fetched at build time from a repository Flux never verifies, so whoever controls that repository (or the network path to it) controls what is applied, past every signature check on your own repository. kustomize-controller refuses them with --no-remote-bases=true.",
    remediation: {
      text: "Vendor the base into the repository, or sync it as its own verified GitRepository/OCIRepository source.",
      snippet: `resources:
  - ../../vendor/podinfo   # vendored and reviewed, instead of
# - https://github.com/stefanprodan/podinfo//kustomize?ref=6.5.0`,
    },
    references: ["https://fluxcd.io/flux/installation/configuration/multitenancy/"],
  },
  check({ model, report }) {
    const attached = model.clusters.filter((c) => c.id !== UNATTACHED);
    const locked = attached.length > 0 && attached.every((c) => c.lockdown["kustomize-controller"].noRemoteBases === true);
    for (const kf of model.kustomizeFiles) {
      for (const field of ["resources", "bases", "components"]) {
        asArray(kf.config[field]).forEach((ref, i) => {
          if (typeof ref !== "string" || !isRemoteRef(ref)) return;
          report({
            file: kf,
            pointer: pointer(field, i),
            severity: locked ? "low" : "medium",
            message: `${kf.file} pulls remote ${field === "components" ? "component" : "base"} '${ref}'${locked ? " (kustomize-controller's --no-remote-bases=true will refuse it)" : ""}`,
          });
        });
      }
    }
  },
});
