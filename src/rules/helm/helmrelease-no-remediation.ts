import { CONTROLLER_KINDS } from "../../core/model-kinds.js";
import { asArray, asObject, isFluxInstance, isHelmRelease, path, str } from "../../core/flux.js";
import type { FleetModel, ModelObject } from "../../core/model.js";
import { clusterOf } from "../../core/model.js";
import { defineRule } from "../../core/rule.js";
import { auditedObjects, describe, targetMatches } from "../util.js";

/** Whether helm-controller runs with the DefaultToRetryOnFailure feature gate (args, or FluxInstance patches). */
function retriesByDefault(model: FleetModel, m: ModelObject): boolean {
  const gate = /DefaultToRetryOnFailure=true/;
  const cluster = clusterOf(model, m);
  if (cluster?.controllers.get("helm-controller")?.args.some((a) => gate.test(a))) return true;
  const instances = cluster?.fluxInstance ? [cluster.fluxInstance] : model.objects.filter((o) => isFluxInstance(o.object));
  const deployment = { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "helm-controller" } };
  return instances.some((inst) =>
    asArray(path(inst.object, "spec", "kustomize", "patches")).some((p) => gate.test(str(p, "patch") ?? "") && targetMatches(asObject(path(p, "target")), deployment)),
  );
}

function retries(m: ModelObject, action: "install" | "upgrade"): number {
  const r = path(m.object, "spec", action, "remediation", "retries");
  return typeof r === "number" ? r : 0;
}

export default defineRule({
  meta: {
    id: "helmrelease-no-remediation",
    title: "HelmRelease without remediation on failure",
    severity: "low",
    threats: ["weakness-6-no-alerting", "adversary-4-helm-values-injection"],
    summary: "no install or upgrade remediation (retries), no RetryOnFailure strategy and no rollback: a failed release stays failed",
    rationale:
      "By default helm-controller does not retry or roll back: install and upgrade remediation retries are 0, so a failed upgrade (a bad chart, bad values) leaves the release failed, half-applied, until someone notices. `spec.rollback` only configures how a rollback runs; it does not turn one on. The seed's `rollback.enable: true` is not a field at all.",
    remediation: {
      text: "Enable remediation with retries and a rollback strategy for upgrades (or the RetryOnFailure strategy), and alert on failures.",
      snippet: `spec:
  install:
    remediation:
      retries: 3
  upgrade:
    cleanupOnFail: true
    remediation:
      retries: 3
      strategy: rollback   # roll back to the last release once retries run out`,
    },
    references: ["https://fluxcd.io/flux/components/helm/helmreleases/#configuring-failure-handling"],
    reads: [...new Set<string>(["HelmRelease", "ResourceSet", ...CONTROLLER_KINDS])],
  },
  check({ model, report }) {
    for (const m of auditedObjects(model)) {
      if (!isHelmRelease(m.object)) continue;
      if (retries(m, "install") !== 0 || retries(m, "upgrade") !== 0) continue;
      if (path(m.object, "spec", "upgrade", "remediation", "remediateLastFailure") === true) continue;
      if (str(m.object, "spec", "install", "strategy", "name") === "RetryOnFailure" || str(m.object, "spec", "upgrade", "strategy", "name") === "RetryOnFailure") continue;
      if (retriesByDefault(model, m)) continue;
      const enable = path(m.object, "spec", "rollback", "enable") !== undefined;
      report({
        object: m,
        pointer: enable ? "/spec/rollback/enable" : "/spec",
        message: `${describe(m)} has no install or upgrade remediation: a failed release stays failed${enable ? " (spec.rollback.enable does not exist: rollback only happens through upgrade.remediation)" : ""}`,
      });
    }
  },
});
