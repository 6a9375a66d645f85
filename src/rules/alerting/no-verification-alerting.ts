import { CONTROLLER_KINDS, FLUX_KINDS, FLUX_VERSION_KINDS } from "../../core/model-kinds.js";
import type { ModelObject } from "../../core/model.js";
import { defineRule } from "../../core/rule.js";
import { checkedClusters, describe } from "../util.js";
import { sourceVerification } from "../../core/verification.js";
import { clusterPool, coverage, forwards, promCovers, selects, VERIFICATION_MESSAGES } from "./coverage.js";

/** "2 verified source(s)"; sources whose notation trust policy was not seen are never called verified. */
function what(lost: ReadonlyArray<{ assessed: boolean }>): string {
  const unseen = lost.filter((v) => !v.assessed).length;
  if (unseen === 0) return `${lost.length} verified source(s)`;
  if (unseen === lost.length) return `${lost.length} source(s) that verify with a notation trust policy fluxguard did not see`;
  return `${lost.length} source(s) that verify signatures, ${unseen} of them with a notation trust policy fluxguard did not see`;
}

export default defineRule({
  meta: {
    id: "no-verification-alerting",
    title: "Verification failures are not forwarded",
    severity: "medium",
    severityVaries: "medium when nothing forwards a verification failure; low when a readiness alert covers the source but does not say it was a signature",
    threats: ["weakness-6-no-alerting", "adversary-1-malicious-commit", "weakness-2-unverified-commits"],
    summary: "sources are verified, but no Alert forwards their verification failures (error events of those source kinds that pass the inclusion and exclusion lists)",
    rationale:
      "A failed signature check is the moment an attack was stopped (or a signing key expired): source-controller sets SourceVerified=False, keeps the last verified artifact, and emits a Warning event. Only an Alert on that source kind forwards it; there is no verification metric, and kube-state-metrics' gotk_resource_info only shows Ready=False, not why. An inclusionList that does not match the message, or an exclusionList that does, drops it. A source counts when its verification can refuse an artifact (src/core/verification.ts): a notation trust policy at level skip or audit lets every artifact through, so there is nothing to forward (ocirepository-unverified reports it); one whose trust policy is not in the repository counts, but is never called verified.",
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
    reads: [...new Set<string>([...FLUX_KINDS, "Secret", "PrometheusRule", ...CONTROLLER_KINDS, ...FLUX_VERSION_KINDS])],
  },
  check({ model, report }) {
    for (const cluster of checkedClusters(model)) {
      const pool = clusterPool(model, cluster);
      // Sources whose verification can refuse an artifact (src/core/verification.ts): verified
      // ones, and those whose notation trust policy was not seen (never called verified). A
      // verify that lets anything through (notation skip/audit) has no failure to forward;
      // the source rules report it as unverified.
      const verified: Array<{ m: ModelObject; kind: string; pointer: string; assessed: boolean }> = [];
      for (const m of pool) {
        const v = sourceVerification(model, m);
        if (v?.verify && v.state !== "unverified") verified.push({ m, kind: v.verifier, pointer: v.pointer, assessed: v.state === "verified" });
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
        message: `${what(lost)} (${kinds.join(", ")}; e.g. ${describe(first.m)}) have no Alert that would forward a verification failure${readiness ? "; a readiness alert fires on Ready=False but does not say it was a signature" : ""}`,
      });
    }
  },
});
