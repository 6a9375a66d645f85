/**
 * The Flux CRD schemas fluxguard validates against, generated from the real CRDs by
 * scripts/gen-flux-schemas.mjs (src/rules/api/schemas/flux-crds.json), and what Flux's
 * release history says about API versions that are no longer served (FLUX-FACTS.md §5.1).
 */
import data from "./schemas/flux-crds.json" with { type: "json" };
import { groupOf, versionOf } from "../../core/flux.js";
import type { StructuralSchema } from "./validate.js";

export interface CrdKind {
  group: string;
  kind: string;
  plural: string;
  scope: "Namespaced" | "Cluster";
  /** The version the API server stores: the one to migrate to. */
  storage: string | null;
  versions: Record<string, { schema: StructuralSchema; deprecated?: string | true }>;
  from: { module: string; file: string; sha256: string };
}

interface Bundle {
  flux: string;
  modules: Record<string, { module: string; version: string; sum: string }>;
  kinds: Record<string, CrdKind>;
}

const bundle = data as unknown as Bundle;

/** The Flux release the schemas come from, e.g. `v2.9.4`. */
export const FLUX_RELEASE = bundle.flux;
/** `v2.9` */
export const FLUX_MINOR = FLUX_RELEASE.split(".").slice(0, 2).join(".");

export function crdFor(apiVersion: string, kind: string): CrdKind | undefined {
  return bundle.kinds[`${groupOf(apiVersion)}/${kind}`];
}

export const FLUX_GROUPS: ReadonlySet<string> = new Set(Object.values(bundle.kinds).map((k) => k.group));

/**
 * The release that stopped serving an API version, when known: the "Upgrade Procedure" of each
 * release announcement (fluxcd/website content/en/blog/…-announcing-flux-v2.N.0, and the roadmap's
 * "EOL and Deprecations"; FLUX-FACTS.md §5.1 for v2.8 and v2.9). Flux v2.7 removed the first beta
 * versions of every group; v2.8 and v2.9 the second.
 */
export const REMOVED_IN: Readonly<Record<string, string>> = {
  "source.toolkit.fluxcd.io/v1beta1": "v2.7",
  "kustomize.toolkit.fluxcd.io/v1beta1": "v2.7",
  "helm.toolkit.fluxcd.io/v2beta1": "v2.7",
  "image.toolkit.fluxcd.io/v1beta1": "v2.7",
  "notification.toolkit.fluxcd.io/v1beta1": "v2.7",
  "source.toolkit.fluxcd.io/v1beta2": "v2.8",
  "kustomize.toolkit.fluxcd.io/v1beta2": "v2.8",
  "helm.toolkit.fluxcd.io/v2beta2": "v2.8",
  "image.toolkit.fluxcd.io/v1beta2": "v2.9",
  "notification.toolkit.fluxcd.io/v1beta2": "v2.9",
};

export function removedIn(apiVersion: string): string | undefined {
  return REMOVED_IN[apiVersion];
}

/**
 * What a migration from a removed version changes, by field (JSON pointer with `*` for list
 * items), for the fields the current schema no longer declares. From the Flux API
 * changelogs; only shown next to a field the schema itself rejects.
 */
export const MIGRATION_HINTS: Record<string, Record<string, string>> = {
  "kustomize.toolkit.fluxcd.io/Kustomization": {
    "/spec/patchesStrategicMerge": "move each patch into spec.patches",
    "/spec/patchesJson6902": "move each patch into spec.patches (patch + target)",
    "/spec/validation": "remove it: Flux always validates with a server-side dry run",
  },
  "helm.toolkit.fluxcd.io/HelmRelease": {
    "/spec/chart/spec/valuesFile": "use spec.chart.spec.valuesFiles",
    "/spec/postRenderers/*/kustomize/patchesStrategicMerge": "move each patch into kustomize.patches",
    "/spec/postRenderers/*/kustomize/patchesJson6902": "move each patch into kustomize.patches",
  },
  "source.toolkit.fluxcd.io/GitRepository": {
    "/spec/gitImplementation": "remove it: go-git is the only implementation",
    "/spec/accessFrom": "remove it",
  },
};

export function migrationHint(apiVersion: string, kind: string, pointer: string): string | undefined {
  const hints = MIGRATION_HINTS[`${groupOf(apiVersion)}/${kind}`];
  if (!hints) return undefined;
  const generic = pointer.replace(/\/\d+(?=\/|$)/g, "/*");
  return hints[pointer] ?? hints[generic];
}

export { groupOf, versionOf };
