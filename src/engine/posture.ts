/**
 * The seed's "Expected Behaviour" table, evaluated for the audited fleet. A threat is
 * `exposed` when a finding at medium or above stands behind it, `defended` when every rule
 * that guards it ran clean over objects it applies to, and `unknown` otherwise.
 */
import { isGitRepository } from "../core/flux.js";
import type { FleetModel } from "../core/model.js";
import { severityRank } from "../core/types.js";
import type { Finding, PostureEntry } from "./report.js";

interface PostureDef {
  id: string;
  threat: string;
  expected: string;
  rules: string[];
  /** Why the verdict cannot be `defended` for this model, if so. */
  evidence(model: FleetModel): string | null;
  /** When the threat cannot arise in this model at all. */
  notApplicable?(model: FleetModel): string | null;
}

const rendered = (m: FleetModel): string | null => {
  const failed = m.renderNotes.filter((n) => n.method === null);
  return failed.length ? `${failed.length} Kustomization(s) could not be rendered` : null;
};

export const POSTURE: readonly PostureDef[] = [
  {
    id: "malicious-commit",
    threat: "A malicious commit is applied",
    expected: "Rejected: the source's signature verification fails (SourceVerified=False)",
    rules: ["gitrepository-unverified", "verify-mode-mismatch", "ocirepository-unverified", "helm-chart-unverified", "source-insecure-transport"],
    evidence: (m) => (m.objects.some((o) => isGitRepository(o.object) || o.object.kind === "OCIRepository") ? null : "no GitRepository or OCIRepository in the repository"),
  },
  {
    id: "developer-pushes-cluster-role-binding",
    threat: "A developer pushes a ClusterRoleBinding",
    expected: "Denied: the tenant's reconciler service account has no cluster-scoped RBAC",
    rules: ["tenant-applies-cluster-scoped", "kustomization-missing-service-account", "multitenancy-lockdown-missing", "reconciler-sa-overprivileged", "cross-namespace-source-ref"],
    evidence: (m) => rendered(m) ?? (m.reconcilers.some((r) => r.kind === "Kustomization") ? null : "no Flux Kustomization in the repository"),
  },
  {
    id: "git-credentials-exfiltrated",
    threat: "Git credentials are exfiltrated",
    expected: "Limited: read-only deploy keys, encrypted Secrets, no Secret access outside Flux, restricted egress",
    rules: ["flux-secrets-readable", "plaintext-secret-in-git", "git-https-credentials", "ssh-known-hosts-missing", "flux-egress-unrestricted"],
    evidence: () => null,
  },
  {
    id: "flux-sa-privilege-escalation",
    threat: "A Flux service account is used for privilege escalation",
    expected: "Prevented: reconcilers impersonate least-privilege service accounts; controllers are locked down",
    rules: ["flux-controller-cluster-admin", "reconciler-sa-overprivileged", "controller-insecure-flag", "multitenancy-lockdown-missing", "helmrelease-missing-service-account", "kustomization-missing-service-account"],
    evidence: (m) => (m.reconcilers.length ? null : "no Flux reconcilers in the repository"),
  },
  {
    id: "reconciliation-failure-undetected",
    threat: "A reconciliation failure goes undetected",
    expected: "Alerted: error events are forwarded and a not-ready alert fires within 10 minutes",
    rules: ["no-failure-alerting", "no-verification-alerting"],
    evidence: () => null,
  },
  {
    id: "helm-values-injected",
    threat: "HelmRelease values are injected",
    expected: "Blocked: values cannot enable privileged workloads, and charts are pinned and verified",
    rules: ["helmrelease-privileged-values", "workload-privileged", "helmrelease-missing-service-account", "helmrelease-unpinned-chart", "helm-chart-unverified"],
    evidence: (m) => rendered(m),
    notApplicable: (m) => (m.objects.some((o) => o.object.kind === "HelmRelease") ? null : "no HelmRelease in the repository"),
  },
  {
    id: "image-automation-overwrites-tag",
    threat: "Image automation overwrites a tag",
    expected: "Prevented: bounded image policies, allowed registries, and pushes that go through review",
    rules: ["image-automation-pushes-to-applied-branch", "imagepolicy-unbounded", "image-registry-not-allowed", "imagepolicy-invalid-extract"],
    evidence: () => null,
    notApplicable: (m) =>
      m.objects.some((o) => o.object.kind === "ImageUpdateAutomation" || o.object.kind === "ImagePolicy") ? null : "no image automation in the repository",
  },
];

export function evaluatePosture(model: FleetModel, findings: readonly Finding[], enabled: ReadonlySet<string>): PostureEntry[] {
  return POSTURE.map((def) => {
    const hits = findings.filter((f) => !f.suppressed && def.rules.includes(f.ruleId) && severityRank(f.severity) >= severityRank("medium"));
    const base = { id: def.id, threat: def.threat, expected: def.expected };
    if (hits.length) {
      const ids = [...new Set(hits.map((h) => h.ruleId))].sort();
      return { ...base, verdict: "exposed" as const, because: `${hits.length} finding(s): ${ids.join(", ")}`, findings: hits.map((h) => h.fingerprint) };
    }
    // The definitions say "in the repository"; a live model is a cluster.
    const here = (t: string | null | undefined): string | null => (t ? (model.mode === "cluster" ? t.replace(/ in the repository$/, " in the cluster") : t) : null);
    const na = here(def.notApplicable?.(model));
    if (na) return { ...base, verdict: "defended" as const, because: `not applicable: ${na}`, findings: [] };
    const missing = def.rules.filter((r) => !enabled.has(r));
    if (missing.length) return { ...base, verdict: "unknown" as const, because: `not checked: ${missing.join(", ")}`, findings: [] };
    const gap = here(def.evidence(model));
    if (gap) return { ...base, verdict: "unknown" as const, because: gap, findings: [] };
    return { ...base, verdict: "defended" as const, because: `checked by ${def.rules.length} rule(s), none fired`, findings: [] };
  });
}
