import { CONTROLLER_KINDS } from "../../core/model-kinds.js";
import { flagIsTrue } from "../../core/flux.js";
import { defineRule } from "../../core/rule.js";

const INSECURE = ["insecure-kubeconfig-exec", "insecure-kubeconfig-tls"];

export default defineRule({
  meta: {
    id: "controller-insecure-flag",
    title: "A Flux controller runs with an insecure kubeconfig flag",
    severity: "high",
    threats: ["weakness-1-cluster-admin", "adversary-3-kustomization-escalation"],
    summary: "--insecure-kubeconfig-exec or --insecure-kubeconfig-tls is enabled on a controller",
    rationale:
      "`--insecure-kubeconfig-exec` lets a kubeconfig supplied by a Kustomization or HelmRelease run a command inside the controller pod (with its cluster-admin token); `--insecure-kubeconfig-tls` lets remote applies skip TLS verification. Flux's best-practices checklist requires both off.",
    remediation: {
      text: "Remove the flag from the controller's arguments (or the patch that adds it).",
      snippet: `# delete from the kustomize-controller / helm-controller args:
#   - --insecure-kubeconfig-exec=true
#   - --insecure-kubeconfig-tls=true`,
    },
    references: ["https://fluxcd.io/flux/security/best-practices/"],
    reads: [...new Set<string>([...CONTROLLER_KINDS])],
  },
  check({ model, report }) {
    for (const cluster of model.clusters) {
      for (const [name, ctrl] of cluster.controllers) {
        for (const flag of INSECURE) {
          const f = ctrl.flags.get(flag);
          if (!f || !flagIsTrue(f.value)) continue;
          report({ object: ctrl.object, pointer: `${ctrl.containerPointer}/args/${f.index}`, message: `${name} is started with --${flag}=true` });
        }
      }
    }
  },
});
