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
    model.notAssessed.push({ ...gap, areas: gap.areas === "all" ? "all" : [...gap.areas] });
    return;
  }
  if (prev.areas === "all") return;
  prev.areas = gap.areas === "all" ? "all" : [...new Set([...prev.areas, ...gap.areas])];
}

/** The gaps that touch one posture row, sorted by reason then what (deterministic output). */
export function notAssessedFor(model: CoverageHolder, area: PostureArea): NotAssessed[] {
  return model.notAssessed
    .filter((g) => g.areas === "all" || g.areas.includes(area))
    .sort((a, b) => a.reason.localeCompare(b.reason) || a.what.localeCompare(b.what));
}
