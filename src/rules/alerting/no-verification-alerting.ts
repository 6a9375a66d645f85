import { CONTROLLER_KINDS, FLUX_KINDS, FLUX_VERSION_KINDS } from "../../core/model-kinds.js";
import { GROUP, isHelmRelease, path } from "../../core/flux.js";
import type { ModelObject } from "../../core/model.js";
import { defineRule } from "../../core/rule.js";
import { checkedClusters, describe, isFluxKind } from "../util.js";
import { effectiveSource, verifyOf } from "../source/usage.js";
import { clusterPool, coverage, forwards, promCovers, selects, VERIFICATION_MESSAGES } from "./coverage.js";

export default defineRule({
  meta: {
    id: "no-verification-alerting",
    title: "Verification failures are not forwarded",
    severity: "medium",
    severityVaries: "medium when nothing forwards a verification failure; low when a readiness alert covers the source but does not say it was a signature",
    threats: ["weakness-6-no-alerting", "adversary-1-malicious-commit", "weakness-2-unverified-commits"],
    summary: "sources are verified, but no Alert forwards their verification failures (error events of those source kinds that pass the inclusion and exclusion lists)",
    rationale:
      "A failed signature check is the moment an attack was stopped (or a signing key expired): source-controller sets SourceVerified=False, keeps the last verified artifact, and emits a Warning event. Only an Alert on that source kind forwards it; there is no verification metric, and kube-state-metrics' gotk_resource_info only shows Ready=False, not why. An inclusionList that does not match the message, or an exclusionList that does, drops it.",
    remediation: {
      text: "Add an Alert on the verified source kinds, with eventSeverity error, whose inclusion list (if any) matches verification messages.",
      snippet: `apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Alert
metadata:
  name: verification-failures
  namespace: flux-system
spec:
  providerRef:
    name: security-oncall
  eventSeverity: error
  eventSources:
    - kind: GitRepository
      name: "*"
    - kind: OCIRepository
      name: "*"
  inclusionList:
    - ".*verif.*"`,
    },
    references: ["https://fluxcd.io/flux/components/notification/alerts/"],
    aggregate: true,
    reads: [...new Set<string>([...FLUX_KINDS, "PrometheusRule", ...CONTROLLER_KINDS, ...FLUX_VERSION_KINDS])],
  },
  check({ model, report }) {
    for (const cluster of checkedClusters(model)) {
      const pool = clusterPool(model, cluster);
      // Verified sources, and where their verification is configured.
      const verified: Array<{ m: ModelObject; kind: string; pointer: string }> = [];
      for (const m of pool) {
        if (isFluxKind(m, GROUP.source, "GitRepository", "OCIRepository", "HelmChart") && verifyOf(effectiveSource(m), "spec")) verified.push({ m, kind: m.object.kind, pointer: "/spec/verify" });
        else if (isHelmRelease(m.object) && path(m.object, "spec", "chart", "spec", "verify") !== undefined) verified.push({ m, kind: "HelmChart", pointer: "/spec/chart/spec/verify" });
      }
      if (verified.length === 0) continue;
      const cov = coverage(model, cluster);
      const lost = verified.filter(({ m, kind }) => {
        const target = kind === m.object.kind ? m : null;
        return !cov.alerts.some((a) => (target ? selects(a, target) : a.sources.some((s) => s["kind"] === "HelmChart")) && VERIFICATION_MESSAGES[kind]!.every((msg) => forwards(a, msg)));
      });
      if (lost.length === 0) continue;
      const kinds = [...new Set(lost.map((v) => v.kind))];
      const readiness = kinds.every((k) => promCovers(cov, k === "HelmChart" ? "HelmRelease" : k));
      const first = lost[0]!;
      report({
        object: first.m,
        pointer: first.pointer,
        severity: readiness ? "low" : "medium",
        message: `${lost.length} verified source(s) (${kinds.join(", ")}; e.g. ${describe(first.m)}) have no Alert that would forward a verification failure${readiness ? "; a readiness alert fires on Ready=False but does not say it was a signature" : ""}`,
      });
    }
  },
});
