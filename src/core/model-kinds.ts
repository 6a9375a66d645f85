/**
 * The kinds of objects behind the model's derived views, for rules' `meta.reads` (src/core/rule.ts):
 * a rule that reads a view reads every kind the view is built from. Admission runs a rule only
 * for changes to kinds it reads; src/rules/reads.test.ts checks the lists by difference.
 */

/** Every Flux toolkit and Flux Operator kind the live model holds. */
export const FLUX_KINDS = [
  "GitRepository",
  "OCIRepository",
  "HelmRepository",
  "HelmChart",
  "Bucket",
  "ExternalArtifact",
  "Kustomization",
  "HelmRelease",
  "ImageRepository",
  "ImagePolicy",
  "ImageUpdateAutomation",
  "Alert",
  "Provider",
  "Receiver",
  "FluxInstance",
  "ResourceSet",
  "ResourceSetInputProvider",
  "ArtifactGenerator",
] as const;

/**
 * `cluster.controllers`, `lockdown`, `fluxNamespace`, `fluxInstance`, `entrypoint`: Flux's
 * controller Deployments, the FluxInstance, and the sync Kustomization (whose namespace is
 * the Flux namespace when nothing else says).
 */
export const CONTROLLER_KINDS = ["Deployment", "FluxInstance", "Kustomization"] as const;

/**
 * `reconcilers` (who each Kustomization and HelmRelease runs as: the lockdown's default
 * service account, the Flux namespace), what each Kustomization applied (its inventory, and the
 * `renderedBy` of objects), and `paths`.
 */
export const RECONCILER_KINDS = ["Kustomization", "HelmRelease", ...CONTROLLER_KINDS] as const;

/** `cluster.branches`: the branches the GitRepositories the reconcilers apply from track. */
export const BRANCH_KINDS = [...RECONCILER_KINDS, "GitRepository"] as const;

/** `cluster.rbac`: roles, bindings, and the service accounts subjects name. */
export const RBAC_KINDS = ["Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding", "ServiceAccount"] as const;

/** `cluster.fluxVersion`: what can declare the Flux version (src/core/flux-version.ts). */
export const FLUX_VERSION_KINDS = ["FluxInstance", "Deployment", "Kustomization", "GitRepository", "OCIRepository"] as const;

/**
 * `auditedObjects` (src/rules/util.ts) adds the objects unexpanded ResourceSets would create,
 * and `usersOf` (src/rules/source/usage.ts) indexes who uses a source; `effectiveSource` applies
 * a FluxInstance's patches to its sync source.
 */
export const SOURCE_USER_KINDS = ["ResourceSet", "FluxInstance", "Kustomization", "HelmRelease", "HelmChart", "ImageUpdateAutomation", "ArtifactGenerator"] as const;

/** The kinds that carry a pod spec (`podSpecs`, src/rules/util.ts): what the workload rules read. */
export const POD_KINDS = ["Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job", "CronJob"] as const;
