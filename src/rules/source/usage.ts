/** Who uses a Flux source, and what its verification looks like. Shared by the source rules. */
import { asArray, asObject, GROUP, isFluxKustomization, isHelmRelease, path, str } from "../../core/flux.js";
import type { FleetModel, ModelObject } from "../../core/model.js";
import type { JsonObject } from "../../core/types.js";
import { auditedObjects, describe, isFluxKind, objectKey, refKey } from "../util.js";

export interface SourceUsers {
  /** Flux Kustomizations that apply the source's content. */
  kustomizations: ModelObject[];
  /** HelmReleases whose chart comes from it (chartRef or chart.spec.sourceRef). */
  helmReleases: ModelObject[];
  helmCharts: ModelObject[];
  /** ImageUpdateAutomations that push to it. */
  automations: ModelObject[];
  /** source-watcher ArtifactGenerators that build artifacts (which Kustomizations apply) from it. */
  generators: ModelObject[];
}

const cache = new WeakMap<FleetModel, Map<string, SourceUsers>>();

function index(model: FleetModel): Map<string, SourceUsers> {
  let idx = cache.get(model);
  if (idx) return idx;
  idx = new Map();
  const users = (key: string | null): SourceUsers | undefined => {
    if (!key) return undefined;
    let u = idx!.get(key);
    if (!u) idx!.set(key, (u = { kustomizations: [], helmReleases: [], helmCharts: [], automations: [], generators: [] }));
    return u;
  };
  for (const m of auditedObjects(model)) {
    const ns = m.object.metadata.namespace ?? "default";
    if (isFluxKustomization(m.object)) users(refKey(path(m.object, "spec", "sourceRef"), ns))?.kustomizations.push(m);
    else if (isHelmRelease(m.object)) {
      users(refKey(path(m.object, "spec", "chartRef"), ns))?.helmReleases.push(m);
      users(refKey(path(m.object, "spec", "chart", "spec", "sourceRef"), ns))?.helmReleases.push(m);
    } else if (isFluxKind(m, GROUP.source, "HelmChart")) users(refKey(path(m.object, "spec", "sourceRef"), ns))?.helmCharts.push(m);
    else if (isFluxKind(m, GROUP.image, "ImageUpdateAutomation")) users(refKey(path(m.object, "spec", "sourceRef"), ns, "GitRepository"))?.automations.push(m);
    else if (m.object.kind === "ArtifactGenerator") {
      for (const s of asArray(path(m.object, "spec", "sources"))) users(refKey(s, ns))?.generators.push(m);
    }
  }
  cache.set(model, idx);
  return idx;
}

export function usersOf(model: FleetModel, source: ModelObject): SourceUsers {
  return index(model).get(objectKey(source)) ?? { kustomizations: [], helmReleases: [], helmCharts: [], automations: [], generators: [] };
}

/** Whether anything applies the source's content to a cluster (Kustomization, chart, artifact). */
export function isApplied(u: SourceUsers): boolean {
  return u.kustomizations.length + u.helmReleases.length + u.helmCharts.length + u.generators.length > 0;
}

/** "Kustomization flux-system/apps applies" or "Kustomization flux-system/apps and 2 more apply". */
export function whoApplies(users: readonly ModelObject[], verb = "apply"): string {
  const names = [...new Set(users.map(describe))];
  if (names.length === 0) return "";
  const third = verb.endsWith("y") ? `${verb.slice(0, -1)}ies` : `${verb}s`;
  return names.length === 1 ? `${names[0]} ${third}` : `${names[0]} and ${names.length - 1} more ${verb}`;
}

export function appliedBy(u: SourceUsers): string {
  return whoApplies([...u.kustomizations, ...u.helmReleases, ...u.helmCharts, ...u.generators]);
}

/**
 * The source as Flux will see it. A FluxInstance's sync source already carries what the
 * operator renders (its `spec.kustomize.patches`, where verification of the sync source is
 * configured): the loader takes it from `flux-operator build instance`, or from kustomize
 * (src/loader/repository.ts, renderFluxInstances).
 */
export function effectiveSource(m: ModelObject): JsonObject {
  return m.object as unknown as JsonObject;
}

/** Whether a source comes from a FluxInstance's `spec.sync`. */
export function fromFluxInstance(m: ModelObject): boolean {
  return m.key.startsWith("synth:sync-source:");
}

export function verifyOf(o: JsonObject, ...at: string[]): JsonObject | undefined {
  return asObject(path(o, ...at, "verify"));
}

/**
 * `host/owner` of a Git URL (`ssh://git@github.com/acme/fleet`, `git@github.com:acme/fleet.git`,
 * `https://github.com/acme/fleet`), lower-cased; null when it has no owner segment.
 */
export function gitOwner(url: string): string | null {
  const t = url.trim();
  const scp = /^[^@/:]+@([^:/]+):\/?([^/]+)\/.+$/.exec(t);
  if (scp) return `${scp[1]}/${scp[2]}`.toLowerCase();
  const m = /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/]+@)?([^/:]+)(?::\d+)?\/([^/]+)\/.+$/i.exec(t);
  return m ? `${m[1]}/${m[2]}`.toLowerCase() : null;
}

const ownersCache = new WeakMap<FleetModel, Set<string>>();

/**
 * The fleet's own Git owners: `host/owner` of the GitRepositories the cluster entrypoints
 * (flux-system sync Kustomizations, FluxInstance sync sources) reconcile from.
 */
export function fleetGitOwners(model: FleetModel): Set<string> {
  let out = ownersCache.get(model);
  if (out) return out;
  out = new Set();
  for (const c of model.clusters) {
    const entry = c.entrypoint;
    if (!entry) continue;
    const key = refKey(path(entry.object, "spec", "sourceRef"), entry.object.metadata.namespace ?? "default");
    const src = key ? auditedObjects(model).find((m) => objectKey(m) === key && isFluxKind(m, GROUP.source, "GitRepository")) : undefined;
    const url = src ? str(src.object, "spec", "url") : undefined;
    const owner = url ? gitOwner(url) : null;
    if (owner) out.add(owner);
  }
  ownersCache.set(model, out);
  return out;
}
