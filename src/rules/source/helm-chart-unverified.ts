import { SOURCE_USER_KINDS, RECONCILER_KINDS } from "../../core/model-kinds.js";
import { GROUP, isHelmRelease, path, str } from "../../core/flux.js";
import { sourceVerification, type SourceVerification } from "../../core/verification.js";
import type { ModelObject } from "../../core/model.js";
import { defineRule } from "../../core/rule.js";
import { auditedObjects, describe, findByKey, isFluxKind, refKey } from "../util.js";
import { isChartSource } from "./ocirepository-unverified.js";
import { usersOf, whoApplies } from "./usage.js";

export default defineRule({
  meta: {
    id: "helm-chart-unverified",
    title: "OCI Helm chart without signature verification",
    severity: "medium",
    threats: ["adversary-4-helm-values-injection", "adversary-1-malicious-commit", "weakness-2-unverified-commits"],
    summary: "a chart from an OCI registry (HelmRepository type oci, HelmChart, or a HelmRelease chartRef to an OCIRepository) is not verified",
    rationale:
      "helm-controller renders whatever chart the registry serves for that version, with the reconciler's privileges. Charts in OCI registries can be signed with cosign or notation, and Flux verifies them: `spec.chart.spec.verify` on the HelmRelease, `spec.verify` on a HelmChart, or `spec.verify` on the OCIRepository a chartRef points at. Without it, a registry compromise or a re-pushed tag deploys an attacker's templates. (Flux cannot verify charts from plain HTTPS Helm repositories.) A notation `verify` counts only as far as its trust policy does (`trustpolicy.json` in the `secretRef` Secret, when in the repository): level `skip`, `audit` or `permissive`, an empty trust store, or registryScopes that miss the chart are weak.",
    remediation: {
      text: "Verify the chart where it is fetched.",
      snippet: `# HelmRelease with chartRef:
apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata:
  name: payments-api-chart
spec:
  url: oci://registry.example.com/charts/payments-api
  layerSelector:
    mediaType: application/vnd.cncf.helm.chart.content.v1.tar+gzip
    operation: copy
  verify:
    provider: cosign
    secretRef:
      name: chart-signing-keys   # cosign.pub
---
# HelmRelease with chart.spec from a HelmRepository of type oci:
spec:
  chart:
    spec:
      verify:
        provider: cosign
        secretRef:
          name: chart-signing-keys`,
    },
    references: ["https://fluxcd.io/flux/components/helm/helmreleases/#chart-template", "https://fluxcd.io/flux/components/source/helmcharts/#verification"],
    reads: [...new Set<string>(["Secret", "ConfigMap", "HelmChart", "HelmRepository", "OCIRepository", ...SOURCE_USER_KINDS, ...RECONCILER_KINDS])],
  },
  check({ model, report }) {
    const objects = auditedObjects(model);
    // Not assessed (a trust policy not seen) is the posture's to say, never a verdict here.
    const weaknesses = (v: SourceVerification): void => {
      if (v.state !== "not-assessed") for (const p of v.problems) report({ object: v.owner, pointer: v.pointer, message: `${describe(v.owner)}: ${p}` });
    };
    const isOciHelmRepo = (m: ModelObject | undefined): boolean => !!m && isFluxKind(m, GROUP.source, "HelmRepository") && str(m.object, "spec", "type") === "oci";
    for (const m of objects) {
      const ns = m.object.metadata.namespace ?? "default";
      if (isHelmRelease(m.object)) {
        const key = refKey(path(m.object, "spec", "chart", "spec", "sourceRef"), ns);
        const repo = key ? findByKey(model, key, m) : undefined;
        if (!isOciHelmRepo(repo)) continue;
        const v = sourceVerification(model, m)!;
        if (!v.verify) report({ object: m, pointer: "/spec/chart/spec", message: `${describe(m)} installs chart ${str(m.object, "spec", "chart", "spec", "chart") ?? "?"} from OCI ${describe(repo!)} without spec.chart.spec.verify` });
        else weaknesses(v);
      } else if (isFluxKind(m, GROUP.source, "HelmChart")) {
        const key = refKey(path(m.object, "spec", "sourceRef"), ns);
        const repo = key ? findByKey(model, key, m) : undefined;
        if (!isOciHelmRepo(repo)) continue;
        const v = sourceVerification(model, m)!;
        if (!v.verify) report({ object: m, pointer: "/spec", message: `${describe(m)} fetches chart ${str(m.object, "spec", "chart") ?? "?"} from OCI ${describe(repo!)} without spec.verify` });
        else weaknesses(v);
      } else if (isFluxKind(m, GROUP.source, "OCIRepository") && isChartSource(model, m)) {
        const v = sourceVerification(model, m)!;
        const users = usersOf(model, m).helmReleases;
        const who = users.length ? `: ${whoApplies(users, "install")} it` : "";
        if (!v.verify) report({ object: m, pointer: "/spec", message: `${describe(m)} serves a Helm chart without spec.verify${who}` });
        else weaknesses(v);
      }
    }
  },
});
