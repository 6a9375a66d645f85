/**
 * The one model every rule reads. The loader (files, a live cluster, an admission request)
 * builds it; rules never do I/O.
 */
import type { JsonObject, K8sObject, ResourceRef, SourceLocation } from "./types.js";
import type { RbacGraph } from "./rbac.js";
import type { FluxControllerName } from "./flux.js";
import type { NotAssessed } from "./coverage.js";
import type { DeclaredFluxVersion } from "./flux-version.js";

/** How an object entered the model. */
export type OriginKind = "file" | "rendered" | "cluster" | "synthesized";

/** How a Flux Kustomization's content was produced. */
export type RenderMethod =
  | "kustomize" // a kustomize binary ran over a kustomization file
  | "flux-generated" // no kustomization file: Flux's generated kustomization over every manifest
  | "builtin" // kustomize unavailable or refused: fluxguard's resolver of plain resource lists
  | "cluster" // the live cluster
  | "flux-operator"; // a ResourceSet expanded by `flux-operator build resourceset`, or a FluxInstance rendered by `build instance`

export interface Origin {
  kind: OriginKind;
  /** The source file (relative to the scan root) that produced the object, when known. */
  file?: string;
  docIndex?: number;
  /** Key of the Flux Kustomization that rendered it. */
  renderedBy?: string;
  renderer?: RenderMethod;
  /** Files of kustomize patches that changed this object. */
  patchedBy?: string[];
  /** `ResourceSet/namespace/name` that expanded this object (Flux Operator). */
  resourceSet?: string;
  /** The ResourceSet input set that produced it, by its first value (`team-a`). */
  inputSet?: string;
}

export interface ModelObject {
  /** Unique within the model. */
  key: string;
  object: K8sObject;
  ref: ResourceRef;
  origin: Origin;
  /** The cluster (entrypoint) whose Flux applies this object, or null when unattached. */
  clusterId: string | null;
  /**
   * Resolves a JSON pointer in `object` to where a reader should look: the object's own file
   * and line (its nearest existing ancestor when a patch added the field). Late, by design.
   */
  locate(pointer: string): SourceLocation | null;
  /** Where the kustomize or Flux patch that changed the field at `pointer` is, when one did (rendered objects). */
  patchOf?(pointer: string): SourceLocation | null;
}

/** A parsed kustomize config file (kustomization.yaml). */
export interface KustomizeFile {
  file: string;
  dir: string;
  config: JsonObject;
  locate(pointer: string): SourceLocation;
  /** Reads a file this kustomization refers to (a generator's files or envs), relative to `dir`; null when absent, outside the scan root, binary or too large. */
  readInput?(ref: string): string | null;
}

export interface ControllerInfo {
  name: FluxControllerName;
  namespace: string;
  object: ModelObject;
  /** Pointer to the manager container. */
  containerPointer: string;
  args: string[];
  flags: Map<string, { value: string; index: number }>;
  serviceAccount: string;
  /**
   * Set when the Deployment is not in the repository but `flux-operator build instance`
   * rendered it from this FluxInstance: its arguments are the operator's (profiles,
   * `spec.cluster`, `spec.kustomize.patches`), and findings belong on the FluxInstance.
   */
  fluxInstance?: ModelObject;
}

export type Tier = "platform" | "tenant";

export interface ReconcilerIdentity {
  namespace: string;
  /** The service account; `""` for `kubeconfig` without `serviceAccountName` (the kubeconfig's own identity). */
  serviceAccount: string;
  /**
   * Where the identity comes from. `kubeconfig`: `spec.kubeConfig` is set, so the controller
   * acts on another cluster with the kubeconfig's credentials and impersonates
   * `serviceAccountName` there when it is set (see `Reconciler.remote`).
   */
  source: "spec" | "default-service-account" | "controller" | "kubeconfig";
}

/** Where a reconciler with `spec.kubeConfig` applies: another cluster, reached with credentials the hub holds. */
export interface RemoteTarget {
  /** The id of the target cluster in `FleetModel.clusters`. */
  clusterId: string;
  /** Where the kubeconfig comes from: a Secret (credentials) or a ConfigMap (workload identity, Flux v2.6+). */
  kind: "Secret" | "ConfigMap";
  namespace: string;
  name: string;
  /** The data key of the kubeconfig in the Secret (Flux's default: `value`, then `value.yaml`). */
  key: string | null;
}

export interface RenderRecord {
  method: RenderMethod | null;
  /** Directory (relative to the scan root) the path resolved to. */
  dir: string | null;
  objects: ModelObject[];
  /** Why it was not (fully) rendered; empty when rendered cleanly. */
  problems: string[];
}

export interface Reconciler {
  key: string;
  kind: "Kustomization" | "HelmRelease";
  object: ModelObject;
  clusterId: string | null;
  identity: ReconcilerIdentity;
  tier: Tier;
  /** `spec.dependsOn`, as `namespace/name` of the same kind. */
  dependsOn: string[];
  /** Kustomizations only. */
  render?: RenderRecord;
  /** Set when `spec.kubeConfig` sends what it applies to another cluster. */
  remote?: RemoteTarget;
}

export interface Lockdown {
  /** `undefined` when the controller's configuration is not visible. */
  noCrossNamespaceRefs: boolean | undefined;
  defaultServiceAccount: string | null | undefined;
  noRemoteBases: boolean | undefined;
  /** Where the lockdown was recognised: controller args, FluxInstance or config. */
  evidence: "controller-args" | "kustomize-patches" | "flux-instance" | "config" | "none";
}

export interface FluxCluster {
  id: string;
  /** The sync Kustomization of this cluster (flux-system), if any. */
  entrypoint: ModelObject | null;
  fluxNamespace: string;
  controllers: Map<FluxControllerName, ControllerInfo>;
  fluxInstance: ModelObject | null;
  /**
   * What `flux-operator build instance` rendered for `fluxInstance` (CRDs left out): the
   * controllers in `controllers` and the RBAC in `rbac` come from it. Absent when it was not
   * rendered (no CLI or distribution, a builder error): the lockdown is then inferred from
   * `spec.cluster` and recorded as not assessed.
   */
  fluxInstanceBuild?: ModelObject[];
  /**
   * The Flux Operator's Deployment when it is in the repository (or live): the service account
   * it runs as and its `--default-service-account` / `DEFAULT_SERVICE_ACCOUNT`, which
   * ResourceSets without serviceAccountName impersonate. Absent when it is not seen.
   */
  fluxOperator?: { namespace: string; serviceAccount: string; defaultServiceAccount: string | null; object: ModelObject };
  /** Lockdown per impersonating controller. */
  lockdown: Record<"kustomize-controller" | "helm-controller", Lockdown>;
  objects: ModelObject[];
  rbac: RbacGraph;
  reconcilers: Reconciler[];
  /** Paths (relative) and branches this cluster's Flux reconciles, for environment inference. */
  paths: string[];
  branches: string[];
  /**
   * Set for a cluster that a hub reaches through `spec.kubeConfig` (hub and spoke). Its objects
   * are what the hub's reconcilers apply there; its RBAC is its own, never the hub's, and it
   * runs no Flux unless its objects install one.
   */
  remote?: { hub: string; via: string[] };
  /**
   * The Flux version this cluster declares, with its evidence (src/core/flux-version.ts); null
   * when nothing declares one (rules then judge against CURRENT_FLUX and say so).
   */
  fluxVersion: DeclaredFluxVersion | null;
}

export interface RenderNote {
  reconciler: string;
  file: string | null;
  method: RenderMethod | null;
  objects: number;
  problems: string[];
}

/**
 * A Flux Operator ResourceSet and what `flux-operator build resourceset` expanded it to.
 * `objects` is empty when it was not expanded; `problems` then says why (no CLI, inputs
 * from providers that need the network, a builder error), and its content is not assessed.
 */
export interface ResourceSetExpansion {
  resourceSet: ModelObject;
  clusterId: string | null;
  /** `flux-operator 0.59.0`, or null when the CLI is not available. */
  tool: string | null;
  objects: ModelObject[];
  /** The input sets the objects came from, by label (`team-a`). */
  inputSets: string[];
  /** ResourceSetInputProviders whose inputs could not be resolved offline (`ResourceSetInputProvider flux-system/prs (GitHubPullRequest)`). */
  unresolved: string[];
  /** Why it was not (fully) expanded; empty when expanded cleanly. */
  problems: string[];
}

export interface FleetModel {
  /** "files" for a repository, "cluster" for a live cluster, "admission" for a request. */
  mode: "files" | "cluster" | "admission";
  root: string;
  /** Every effective object: rendered objects, plus file objects no Kustomization renders. */
  objects: ModelObject[];
  /** Objects exactly as they are in files (what is in Git). */
  fileObjects: ModelObject[];
  kustomizeFiles: KustomizeFile[];
  clusters: FluxCluster[];
  reconcilers: Reconciler[];
  renderNotes: RenderNote[];
  /**
   * Each FluxInstance and how it was rendered (files mode): `tool` is `flux-operator 0.59.0`
   * when `flux-operator build instance` rendered it, null when it could not (`problem` says
   * why; its controller arguments are then inferred from `spec.cluster`).
   */
  fluxInstances?: Array<{ instance: ModelObject; tool: string | null; problem: string | null }>;
  /** Flux Operator ResourceSets and their expansion (files mode; absent elsewhere). */
  resourceSets?: ResourceSetExpansion[];
  /** Platform namespaces and service accounts (config or defaults). */
  platform: { namespaces: string[]; serviceAccounts: string[] };
  /** Content the audit did not see, and the posture rows it leaves unassessed (src/core/coverage.ts). */
  notAssessed: NotAssessed[];
  /** What HelmRelease post-renderers change in a chart's output (files mode; src/loader/postrender.ts). */
  postRendered?: PostRendered[];
}

/**
 * One HelmRelease post-renderer step (`spec.postRenderers[].kustomize`: a patch, an older
 * `patchesStrategicMerge`/`patchesJson6902` entry, or an `images` entry) and what it does.
 * The chart itself is not rendered, so a patch is applied by kustomize to a stand-in of each
 * workload kind it targets: an object of that kind with one container,
 * {@link POST_RENDER_STAND_IN}. Whatever the stand-in has afterwards, the patch put there.
 */
export interface PostRendered {
  release: ModelObject;
  /** JSON pointer into the HelmRelease, to the patch or images entry. */
  pointer: string;
  /** The patched stand-ins, one per workload kind the patch targets (empty for images entries). */
  objects: K8sObject[];
  /** An `images` entry: the chart image it matches and the reference it substitutes. */
  image?: { name: string; to: string };
  /** Why the patch could not be applied (kustomize's error, or no kustomize): not assessed. */
  problem?: string;
}

/** The stand-in's container and image in post-rendered objects (PostRendered). */
export const POST_RENDER_STAND_IN = { container: "chart-container-0", image: "chart-image" } as const;

export function refOf(o: K8sObject): ResourceRef {
  return {
    apiVersion: o.apiVersion,
    kind: o.kind,
    name: o.metadata.name,
    namespace: o.metadata.namespace ?? null,
  };
}

export function clusterOf(model: FleetModel, obj: ModelObject): FluxCluster | undefined {
  return obj.clusterId === null ? undefined : model.clusters.find((c) => c.id === obj.clusterId);
}

/** The cluster a reconciler applies to: the remote cluster its `spec.kubeConfig` names, or its own. */
export function targetClusterOf(model: FleetModel, r: Reconciler): FluxCluster | undefined {
  const id = r.remote?.clusterId ?? r.clusterId;
  return id === null ? undefined : model.clusters.find((c) => c.id === id);
}

/** Whether Flux runs on the cluster as far as the model knows (a remote cluster usually does not). */
export function runsFlux(c: FluxCluster): boolean {
  return !c.remote || c.controllers.size > 0 || c.fluxInstance !== null || c.entrypoint !== null;
}

/** Finds objects by kind (and optionally group), across the effective set. */
export function objectsOfKind(model: FleetModel, kind: string, group?: string): ModelObject[] {
  return model.objects.filter(
    (m) => m.object.kind === kind && (group === undefined || m.object.apiVersion.startsWith(`${group}/`)),
  );
}
