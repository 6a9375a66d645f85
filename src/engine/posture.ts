/**
 * The seed's "Expected Behaviour" table, evaluated for the audited fleet. Each row gets one of
 * four verdicts:
 * - `exposed`: a finding at medium or above stands behind it;
 * - `not-applicable`: the threat cannot arise here (e.g. no HelmRelease), and nothing unseen could change that;
 * - `not-assessed`: content relevant to the threat was not seen (not rendered, not expanded,
 *   another repository, a remote cluster, a disabled rule), or positive evidence is missing for
 *   some relevant object; the row names what;
 * - `defended`: every rule guarding it ran, none fired, nothing relevant went unseen, AND there
 *   is positive evidence of the hardening for every relevant object. "No rule fired" alone is
 *   never `defended`.
 */
import { gapsOfCluster, notAssessedFor, POSTURE_AREAS, type NotAssessed, type PostureArea } from "../core/coverage.js";
import { asArray, asObject, GROUP, groupOf, path, str } from "../core/flux.js";
import type { FleetModel, FluxCluster, ModelObject, Reconciler } from "../core/model.js";
import { sourceVerification } from "../core/verification.js";
import { severityRank } from "../core/types.js";
import type { Finding, PostureEntry } from "./report.js";

/** Positive evidence for a row: how many relevant objects, and which of them lack the hardening (described). */
interface Evidence {
  /** What the evidence is, for the `because` of a defended row, e.g. "3 sources verified". */
  shown: string;
  /** Relevant objects (or facts) without positive evidence; empty when every one has it. */
  lacking: string[];
}

interface PostureDef {
  id: PostureArea;
  threat: string;
  expected: string;
  rules: string[];
  /** Positive evidence of the hardening, or a reason there can be none (a string: not assessed). */
  evidence(model: FleetModel): Evidence | string;
  /** When the threat cannot arise in this model at all. */
  notApplicable?(model: FleetModel): string | null;
}

const describe = (m: ModelObject): string => `${m.object.kind} ${m.object.metadata.namespace ? `${m.object.metadata.namespace}/` : ""}${m.object.metadata.name}`;
const isKind = (m: ModelObject, group: string, ...kinds: string[]): boolean => groupOf(m.object.apiVersion) === group && kinds.includes(m.object.kind);
const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/** A reconciler impersonates a service account (its own, or the lockdown's default), not the controller. */
function impersonates(r: Reconciler): boolean {
  if (r.identity.source === "kubeconfig") return r.identity.serviceAccount !== "";
  return r.identity.source !== "controller";
}

function describeIdentityGap(r: Reconciler): string {
  return r.identity.source === "kubeconfig" ? `${describe(r.object)} runs as a remote kubeconfig's own identity` : `${describe(r.object)} runs as the controller`;
}

/** Why an object's signature verification (src/core/verification.ts) is no positive evidence; null when it is verified. */
function verificationGap(model: FleetModel, o: ModelObject, missing: string): string | null {
  const v = sourceVerification(model, o);
  if (!v || v.state === "verified") return null;
  return v.verify ? `${describe(o)}: ${v.problems[0] ?? "not verified"}` : missing;
}

/** HelmReleases whose chart is fetched from a HelmRepository without verification, or with one that verifies nothing or was not seen. */
function unverifiedCharts(m: FleetModel): string[] {
  const out: string[] = [];
  for (const hr of m.objects.filter((o) => isKind(o, GROUP.helm, "HelmRelease"))) {
    const src = str(hr.object, "spec", "chart", "spec", "sourceRef", "kind");
    const gap = src === "HelmRepository" ? verificationGap(m, hr, `${describe(hr)}'s chart is not verified`) : null;
    if (gap) out.push(gap);
  }
  return out;
}

function identityEvidence(reconcilers: readonly Reconciler[], what: string): Evidence | string {
  if (reconcilers.length === 0) return `no ${what} in the repository`;
  const lacking = reconcilers.filter((r) => !impersonates(r)).map(describeIdentityGap);
  const n = reconcilers.length;
  return { shown: `${plural(n, what.replace(/s$/, ""), what)} ${n === 1 ? "impersonates" : "impersonate"} a service account`, lacking };
}

export const POSTURE: readonly PostureDef[] = [
  {
    id: "malicious-commit",
    threat: "A malicious commit is applied",
    expected: "Rejected: the source's signature verification fails (SourceVerified=False)",
    rules: ["gitrepository-unverified", "verify-mode-mismatch", "ocirepository-unverified", "helm-chart-unverified", "source-insecure-transport"],
    evidence: (m) => {
      const sources = m.objects.filter((o) => isKind(o, GROUP.source, "GitRepository", "OCIRepository"));
      if (sources.length === 0) return "no GitRepository or OCIRepository in the repository";
      // A FluxInstance's sync source carries what its spec.kustomize.patches set (layout 10): the loader renders it.
      const lacking = sources.flatMap((o) => verificationGap(m, o, `${describe(o)} has no spec.verify`) ?? []);
      lacking.push(...unverifiedCharts(m));
      return { shown: `${plural(sources.length, "source")} verified`, lacking };
    },
  },
  {
    id: "developer-pushes-cluster-role-binding",
    threat: "A developer pushes a ClusterRoleBinding",
    expected: "Denied: the tenant's reconciler service account has no cluster-scoped RBAC",
    rules: ["tenant-applies-cluster-scoped", "kustomization-applies-escalation", "workload-sa-escalation", "kustomization-missing-service-account", "multitenancy-lockdown-missing", "reconciler-sa-overprivileged", "cross-namespace-source-ref", "resourceset-missing-service-account"],
    evidence: (m) => identityEvidence(m.reconcilers.filter((r) => r.kind === "Kustomization" && r.tier === "tenant"), "tenant Kustomizations"),
  },
  {
    id: "git-credentials-exfiltrated",
    threat: "Git credentials are exfiltrated",
    expected: "Limited: read-only deploy keys, encrypted Secrets, no Secret access outside Flux, restricted egress",
    rules: ["flux-secrets-readable", "plaintext-secret-in-git", "git-https-credentials", "ssh-known-hosts-missing", "flux-egress-unrestricted"],
    evidence: (m) => {
      const clusters = m.clusters.filter((c) => c.entrypoint || c.fluxInstance || c.controllers.size);
      if (clusters.length === 0) return "no Flux cluster in the repository (no bootstrap, sync Kustomization or FluxInstance)";
      const lacking = clusters.filter((c) => !c.controllers.has("source-controller") && !c.fluxInstance).map((c) => `cluster ${c.id}: Flux's install is not in the repository, so source-controller's egress and Secret access are not seen`);
      return { shown: `Flux's install seen in ${plural(clusters.length, "cluster")}`, lacking };
    },
  },
  {
    id: "flux-sa-privilege-escalation",
    threat: "A Flux service account is used for privilege escalation",
    expected: "Prevented: reconcilers impersonate least-privilege service accounts; controllers are locked down",
    rules: ["flux-controller-cluster-admin", "reconciler-sa-overprivileged", "flux-object-write-access", "controller-insecure-flag", "multitenancy-lockdown-missing", "helmrelease-missing-service-account", "kustomization-missing-service-account", "resourceset-missing-service-account"],
    evidence: (m) => {
      const ev = identityEvidence(m.reconcilers, "Flux reconcilers");
      if (typeof ev === "string") return ev;
      for (const c of m.clusters) {
        if (!c.entrypoint && !c.fluxInstance && !c.controllers.size) continue;
        for (const [name, ld] of Object.entries(c.lockdown)) if (ld.evidence === "none") ev.lacking.push(`cluster ${c.id}: ${name}'s lockdown flags are not in the repository`);
      }
      return ev;
    },
  },
  {
    id: "reconciliation-failure-undetected",
    threat: "A reconciliation failure goes undetected",
    expected: "Alerted: error events are forwarded and a not-ready alert fires within 10 minutes",
    rules: ["no-failure-alerting", "no-verification-alerting"],
    evidence: (m) => {
      const alerts = m.objects.filter((o) => isKind(o, GROUP.notification, "Alert") || (o.object.kind === "PrometheusRule" && o.object.apiVersion.startsWith("monitoring.coreos.com/")));
      if (alerts.length === 0) return "no Alert or PrometheusRule in the repository";
      return { shown: `${plural(alerts.length, "Alert or PrometheusRule", "Alerts or PrometheusRules")} in place`, lacking: [] };
    },
  },
  {
    id: "helm-values-injected",
    threat: "HelmRelease values are injected",
    expected: "Blocked: values cannot enable privileged workloads, and charts are pinned and verified",
    rules: ["helmrelease-privileged-values", "workload-privileged", "helmrelease-missing-service-account", "helmrelease-unpinned-chart", "helm-chart-unverified"],
    evidence: (m) => {
      const ev = identityEvidence(m.reconcilers.filter((r) => r.kind === "HelmRelease"), "HelmReleases");
      if (typeof ev !== "string") ev.lacking.push(...unverifiedCharts(m));
      return ev;
    },
    notApplicable: (m) => (m.objects.some((o) => o.object.kind === "HelmRelease") ? null : "no HelmRelease in the repository"),
  },
  {
    id: "image-automation-overwrites-tag",
    threat: "Image automation overwrites a tag",
    expected: "Prevented: bounded image policies, allowed registries, and pushes that go through review",
    rules: ["image-automation-pushes-to-applied-branch", "imagepolicy-unbounded", "image-registry-not-allowed", "imagepolicy-invalid-extract"],
    evidence: (m) => {
      const iuas = m.objects.filter((o) => isKind(o, GROUP.image, "ImageUpdateAutomation"));
      const policies = m.objects.filter((o) => isKind(o, GROUP.image, "ImagePolicy"));
      const lacking = iuas
        .filter((o) => !str(o.object, "spec", "git", "push", "branch") && asArray(path(o.object, "spec", "git", "push", "refspec")).length === 0 && !str(o.object, "spec", "git", "push", "refspec"))
        .map((o) => `${describe(o)} pushes to its checkout branch`);
      lacking.push(...policies.filter((o) => !asObject(path(o.object, "spec", "policy"))).map((o) => `${describe(o)} has no spec.policy`));
      return { shown: `${plural(iuas.length, "automation")} push for review, ${plural(policies.length, "policy", "policies")} bounded`, lacking };
    },
    notApplicable: (m) => (m.objects.some((o) => o.object.kind === "ImageUpdateAutomation" || o.object.kind === "ImagePolicy") ? null : "no image automation in the repository"),
  },
];

if (POSTURE.map((p) => p.id).join() !== POSTURE_AREAS.join()) throw new Error("posture rows and POSTURE_AREAS disagree");

/** What a row names as not seen: `reason: what` lines, capped for the text table. */
function unseen(gaps: readonly NotAssessed[]): PostureEntry["notAssessed"] {
  return gaps.map((g) => ({ reason: g.reason, what: g.what, file: g.file ?? null }));
}

function summarize(items: readonly string[], max = 3): string {
  return items.length <= max ? items.join("; ") : `${items.slice(0, max).join("; ")}; and ${items.length - max} more`;
}

/**
 * Evaluates every posture row. `enabled` is the set of rule ids that ran. Exposed wins over
 * everything (a finding is evidence whatever else went unseen); then content not seen makes a
 * row `not-assessed`; then `not-applicable`; then positive evidence decides between
 * `defended` and `not-assessed`.
 */
export function evaluatePosture(model: FleetModel, findings: readonly Finding[], enabled: ReadonlySet<string>): PostureEntry[] {
  const rows = evaluateRows(model, findings, enabled);
  const clusters = model.clusters.filter((c) => !c.id.startsWith("("));
  if (clusters.length === 0) return rows;
  const perCluster = clusters.map((c) => ({
    id: c.id,
    rows: evaluateRows(clusterView(model, c), findings.filter((f) => f.context.clusters.includes(c.id)), enabled, `cluster ${c.id}`),
  }));
  return rows.map((r, i) => ({ ...r, clusters: perCluster.map((c) => ({ cluster: c.id, verdict: c.rows[i]!.verdict, because: c.rows[i]!.because })) }));
}

/**
 * The model as one cluster sees it: its objects, reconcilers, ResourceSets and post-renderers,
 * and what was not seen there (src/core/coverage.ts gapsOfCluster): gaps recorded for this
 * cluster or its hub, and gaps recorded for no particular cluster (those count against each
 * one: never a `defended` the unseen content could contradict).
 */
function clusterView(model: FleetModel, c: FluxCluster): FleetModel {
  const objects = model.objects.filter((o) => o.clusterId === c.id);
  const hubOf = (id: string): string | undefined => model.clusters.find((x) => x.id === id)?.remote?.hub;
  const notAssessed = gapsOfCluster(model.notAssessed, c.id, hubOf);
  const view: FleetModel = { ...model, objects, reconcilers: c.reconcilers, clusters: [c], notAssessed };
  if (model.resourceSets) view.resourceSets = model.resourceSets.filter((e) => e.clusterId === c.id);
  if (model.postRendered) view.postRendered = model.postRendered.filter((p) => p.release.clusterId === c.id);
  return view;
}

function evaluateRows(model: FleetModel, findings: readonly Finding[], enabled: ReadonlySet<string>, scope?: string): PostureEntry[] {
  // The definitions say "in the repository"; a live model is a cluster, a view is one cluster.
  const where = scope ? ` in ${scope}` : model.mode === "cluster" ? " in the cluster" : null;
  const here = (t: string): string => (where ? t.replace(/ in the repository\b/g, where) : t);
  return POSTURE.map((def) => {
    const gaps = notAssessedFor(model, def.id);
    const base = { id: def.id, threat: def.threat, expected: def.expected, notAssessed: unseen(gaps) };
    const hits = findings.filter((f) => !f.suppressed && def.rules.includes(f.ruleId) && severityRank(f.severity) >= severityRank("medium"));
    if (hits.length) {
      const ids = [...new Set(hits.map((h) => h.ruleId))].sort();
      return { ...base, verdict: "exposed" as const, because: `${hits.length} finding(s): ${ids.join(", ")}`, findings: hits.map((h) => h.fingerprint) };
    }
    if (gaps.length) return { ...base, verdict: "not-assessed" as const, because: here(`not seen: ${summarize(gaps.map((g) => g.what))}`), findings: [] };
    const na = def.notApplicable?.(model);
    if (na) return { ...base, verdict: "not-applicable" as const, because: here(na), findings: [] };
    const missing = def.rules.filter((r) => !enabled.has(r));
    if (missing.length) return { ...base, verdict: "not-assessed" as const, because: `not checked: ${missing.join(", ")}`, findings: [] };
    const ev = def.evidence(model);
    if (typeof ev === "string") return { ...base, verdict: "not-assessed" as const, because: here(ev), findings: [] };
    if (ev.lacking.length) return { ...base, verdict: "not-assessed" as const, because: here(`no positive evidence: ${summarize(ev.lacking)}`), findings: [] };
    return { ...base, verdict: "defended" as const, because: `${ev.shown}; ${plural(def.rules.length, "rule")} ran clean`, findings: [] };
  });
}
