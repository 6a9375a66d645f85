import { RECONCILER_KINDS } from "../../core/model-kinds.js";
import { controllersPattern, flagIsTrue, LOCKDOWN_FLAGS, path as at } from "../../core/flux.js";
import type { ControllerInfo, FleetModel } from "../../core/model.js";
import { defineRule } from "../../core/rule.js";
import type { Severity } from "../../core/types.js";
import { crossNamespaceRefs, describeRef } from "./cross-namespace.js";

/** The lockdown flags each controller should carry, from the one table in core/flux.ts. */
const REQUIRED: Record<string, string[]> = {};
for (const l of LOCKDOWN_FLAGS) for (const c of l.controllers) (REQUIRED[c] ??= []).push(l.flag);

const SNIPPET = `patches:
${LOCKDOWN_FLAGS.map(
  (l) => `  - patch: |
      - op: add
        path: /spec/template/spec/containers/0/args/-
        value: --${l.flag}=${l.value}
    target:
      kind: Deployment
      name: "${controllersPattern(l.controllers)}"`,
).join("\n")}
  - patch: |
      - op: add
        path: /spec/serviceAccountName
        value: kustomize-controller
    target:
      kind: Kustomization
      name: "flux-system"
# Flux Operator:
# spec:
#   cluster:
#     multitenant: true
#     tenantDefaultServiceAccount: flux`;

function present(ctrl: ControllerInfo, flag: string): boolean {
  const v = ctrl.flags.get(flag)?.value;
  if (flag === "default-service-account") return v !== undefined && v !== "" && v !== "true";
  return flagIsTrue(v);
}

/** When kustomize could not run, look for the lockdown in the kustomization patches' text. */
function inPatches(model: FleetModel, ctrl: ControllerInfo, flag: string): boolean {
  if (ctrl.object.origin.renderer !== "builtin") return false;
  return model.kustomizeFiles.some((k) => JSON.stringify(k.config["patches"] ?? []).includes(`--${flag}`));
}

export default defineRule({
  meta: {
    id: "multitenancy-lockdown-missing",
    title: "Flux controllers lack the multi-tenancy lockdown",
    severity: "high",
    severityVaries: "high when kustomize-controller or helm-controller lacks --default-service-account; medium for the other lockdown flags",
    threats: ["weakness-4-unscoped-kustomization", "adversary-3-kustomization-escalation", "weakness-1-cluster-admin"],
    summary: "a controller Deployment or FluxInstance lacks --no-cross-namespace-refs, --default-service-account or --no-remote-bases",
    rationale:
      "Flux's defaults let a Kustomization or HelmRelease reference sources in other namespaces, pull remote kustomize bases, and apply as the controller (cluster-admin) when it names no service account. The lockdown patch closes all three; Flux documents it but does not apply it.",
    remediation: {
      text: "Add the lockdown patch to the flux-system kustomization (or set `cluster.multitenant: true` on the FluxInstance), and give the flux-system Kustomization `serviceAccountName: kustomize-controller`.",
      snippet: SNIPPET,
    },
    references: ["https://fluxcd.io/flux/installation/configuration/multitenancy/"],
    reads: [...new Set<string>([...RECONCILER_KINDS])],
  },
  check({ model, report }) {
    const refs = crossNamespaceRefs(model);
    /** What turning on --no-cross-namespace-refs would refuse in this cluster, for the message. */
    const wouldBreak = (clusterId: string): string => {
      const mine = refs.filter((r) => r.object.clusterId === clusterId);
      if (mine.length === 0) return "";
      return `; turning on --no-cross-namespace-refs would refuse ${mine.length} cross-namespace reference(s) (e.g. ${describeRef(mine[0]!)}): define those sources in each namespace first`;
    };
    for (const cluster of model.clusters) {
      const rendered: Array<{ name: string; missing: string[] }> = [];
      for (const [name, ctrl] of cluster.controllers) {
        if (ctrl.fluxInstance) {
          // Rendered by flux-operator build instance: one finding on the FluxInstance, below.
          const missing = (REQUIRED[name] ?? []).filter((f) => !present(ctrl, f));
          if (missing.length) rendered.push({ name, missing });
          continue;
        }
        const required = REQUIRED[name];
        if (!required) continue;
        const missing = required.filter((f) => !present(ctrl, f) && !inPatches(model, ctrl, f));
        if (missing.length === 0) continue;
        const impersonating = name === "kustomize-controller" || name === "helm-controller";
        const severity: Severity = impersonating && missing.includes("default-service-account") ? "high" : "medium";
        report({
          object: ctrl.object,
          pointer: `${ctrl.containerPointer}/args`,
          severity,
          cause: "lockdown",
          message: `${name} runs without ${missing.map((f) => (f === "default-service-account" ? `--${f}` : `--${f}=true`)).join(", ")}${name === "kustomize-controller" && missing.includes("no-cross-namespace-refs") ? wouldBreak(cluster.id) : ""}`,
        });
      }
      const inst = cluster.fluxInstance;
      const multitenant = inst ? at(inst.object, "spec", "cluster", "multitenant") === true : false;
      if (inst && rendered.length) {
        // The verdict from the controller Deployments the operator renders (profiles, spec.cluster, spec.kustomize.patches).
        const flag = (f: string): string => (f === "default-service-account" ? `--${f}` : `--${f}=true`);
        const severity: Severity = rendered.some((r) => (r.name === "kustomize-controller" || r.name === "helm-controller") && r.missing.includes("default-service-account")) ? "high" : "medium";
        const list = rendered.map((r) => `${r.name} without ${r.missing.map(flag).join(", ")}`).join("; ");
        const ks = rendered.find((r) => r.name === "kustomize-controller");
        report({
          object: inst,
          pointer: multitenant ? "/spec/cluster/multitenant" : "/spec/cluster",
          severity,
          cause: "lockdown",
          message: `${multitenant ? "FluxInstance sets cluster.multitenant: true, but" : "FluxInstance does not set cluster.multitenant: true, so"} the controllers flux-operator build instance renders run ${list}${ks?.missing.includes("no-cross-namespace-refs") ? wouldBreak(cluster.id) : ""}`,
        });
      } else if (inst && cluster.controllers.size === 0 && !multitenant) {
        // Not rendered (no CLI): inferred from spec.cluster, and the posture says the arguments were not seen.
        report({
          object: inst,
          pointer: "/spec/cluster",
          cause: "lockdown",
          message: `FluxInstance does not set cluster.multitenant: true, so the controllers run without --no-cross-namespace-refs and --default-service-account (inferred from spec.cluster: flux-operator build instance did not run)${wouldBreak(cluster.id)}`,
        });
      }
    }
  },
});
