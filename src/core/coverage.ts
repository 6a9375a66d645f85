/**
 * What the audit did NOT see. Every part of fluxguard that leaves content unread (a
 * Kustomization it could not render, a ResourceSet it could not expand, a remote cluster, a
 * skipped file, inputs only a live provider knows) records it here, and the posture turns
 * the rows it touches into `not-assessed` instead of `defended`: "no rule fired" over content
 * that was never looked at is not evidence.
 *
 * Loader code calls {@link markNotAssessed} on the model it builds; the posture reads
 * {@link notAssessedFor}. No I/O here.
 */

/**
 * The rows of the posture table (the seed's "Expected Behaviour"), by stable id. The posture
 * (src/engine/posture.ts) defines one row per id, in this order.
 */
export const POSTURE_AREAS = [
  "malicious-commit",
  "developer-pushes-cluster-role-binding",
  "git-credentials-exfiltrated",
  "flux-sa-privilege-escalation",
  "reconciliation-failure-undetected",
  "helm-values-injected",
  "image-automation-overwrites-tag",
] as const;
export type PostureArea = (typeof POSTURE_AREAS)[number];

/**
 * Why something was not seen.
 * - `not-rendered`: a Flux Kustomization's content could not be built (kustomize failed, path missing).
 * - `unmapped-source`: a Kustomization's source is another repository not mapped under `sources:` in `.fluxguard.yaml`.
 * - `not-expanded`: a generator (ResourceSet, chart) whose output was not produced.
 * - `provider-inputs`: inputs only a live provider knows (ResourceSetInputProvider with a remote type).
 * - `remote-cluster`: content Flux applies to another cluster through `spec.kubeConfig`; that cluster's RBAC and identities are not in the repository.
 * - `skipped-file`: a file the walk did not read (size, binary, symlink, limits).
 * - `not-in-repository`: something the row needs that the repository does not contain (e.g. Flux's controllers).
 */
export type NotAssessedReason = "not-rendered" | "unmapped-source" | "not-expanded" | "provider-inputs" | "remote-cluster" | "skipped-file" | "not-in-repository";

export interface NotAssessed {
  /** The posture rows this leaves unassessed; `"all"` when the unseen content could hold anything. */
  areas: readonly PostureArea[] | "all";
  reason: NotAssessedReason;
  /** What was not seen, in Flux's terms, e.g. `Kustomization app/app (source GitRepository/app/app is not this repository)`. */
  what: string;
  /** The file (relative to the scan root) that declares what was not seen, when there is one. */
  file?: string | null;
  /**
   * The clusters (model cluster ids) whose Flux would apply what was not seen. Absent when that
   * is not known (a skipped file, an unattached object): the gap then counts against every
   * cluster. A per-cluster posture also counts a hub's gaps against the clusters it reaches
   * through `spec.kubeConfig` ({@link gapsOfCluster}).
   */
  clusters?: readonly string[];
}

/** Anything that carries the list (a FleetModel, or a builder before the model exists). */
export interface CoverageHolder {
  notAssessed: NotAssessed[];
}

/**
 * Records that part of the fleet was not assessed. Idempotent: the same reason and `what`
 * recorded twice (e.g. once per cluster) keeps one entry, with the union of areas.
 */
export function markNotAssessed(model: CoverageHolder, gap: NotAssessed): void {
  const prev = model.notAssessed.find((g) => g.reason === gap.reason && g.what === gap.what);
  if (!prev) {
    const { clusters, ...rest } = gap;
    model.notAssessed.push({ ...rest, areas: gap.areas === "all" ? "all" : [...gap.areas], ...(clusters ? { clusters: [...new Set(clusters)] } : {}) });
    return;
  }
  // Clusters: the union; a gap recorded once without clusters belongs to every cluster.
  if (!prev.clusters || !gap.clusters) delete prev.clusters;
  else prev.clusters = [...new Set([...prev.clusters, ...gap.clusters])];
  if (prev.areas === "all") return;
  prev.areas = gap.areas === "all" ? "all" : [...new Set([...prev.areas, ...gap.areas])];
}

/**
 * A gap's `clusters` for content one cluster's Flux applies: none (every cluster) when the
 * cluster is unknown or a pseudo-cluster such as `(unattached)`.
 */
export function clustersOf(clusterId: string | null | undefined): { clusters?: string[] } {
  return clusterId && !clusterId.startsWith("(") ? { clusters: [clusterId] } : {};
}

/**
 * The gaps that count against one cluster: those recorded for it, those recorded for no
 * particular cluster, and those of the hubs that reach it through `spec.kubeConfig` (unseen
 * content on a hub may be what it applies to its spokes). `hubOf` gives a cluster's hub id.
 */
export function gapsOfCluster(gaps: readonly NotAssessed[], clusterId: string, hubOf: (id: string) => string | undefined): NotAssessed[] {
  const reach = new Set<string>([clusterId]);
  for (let id = hubOf(clusterId); id !== undefined && !reach.has(id); id = hubOf(id)) reach.add(id);
  return gaps.filter((g) => !g.clusters || g.clusters.some((c) => reach.has(c)));
}

/** The gaps that touch one posture row, sorted by reason then what (deterministic output). */
export function notAssessedFor(model: CoverageHolder, area: PostureArea): NotAssessed[] {
  return model.notAssessed
    .filter((g) => g.areas === "all" || g.areas.includes(area))
    .sort((a, b) => a.reason.localeCompare(b.reason) || a.what.localeCompare(b.what));
}
