/**
 * Cross-namespace references, defined once: which fields of which Flux kinds may point into
 * another namespace (what `--no-cross-namespace-refs=true` refuses, FLUX-FACTS.md §2.1), and
 * whether a cluster has tenants at all. Shared by cross-namespace-source-ref and
 * multitenancy-lockdown-missing.
 */
import { str } from "../../core/flux.js";
import type { FleetModel, FluxCluster, ModelObject } from "../../core/model.js";
import { describe } from "../util.js";

/** Where each kind keeps a reference that may cross namespaces. */
const REFS: Record<string, string[][]> = {
  Kustomization: [["spec", "sourceRef"]],
  HelmRelease: [
    ["spec", "chart", "spec", "sourceRef"],
    ["spec", "chartRef"],
  ],
  ImageUpdateAutomation: [["spec", "sourceRef"]],
  HelmChart: [["spec", "sourceRef"]],
  ImagePolicy: [["spec", "imageRepositoryRef"]],
};

export interface CrossNamespaceRef {
  object: ModelObject;
  /** Pointer to the reference's `namespace`. */
  pointer: string;
  kind: string;
  namespace: string;
  name: string;
}

const cache = new WeakMap<FleetModel, CrossNamespaceRef[]>();

/** Every reference of a Flux object into another namespace, once per object. */
export function crossNamespaceRefs(model: FleetModel): CrossNamespaceRef[] {
  let out = cache.get(model);
  if (out) return out;
  out = [];
  const seen = new Set<ModelObject>();
  for (const m of model.objects) {
    const paths = REFS[m.object.kind];
    if (!paths || !m.object.apiVersion.includes("toolkit.fluxcd.io") || seen.has(m)) continue;
    seen.add(m);
    const own = m.object.metadata.namespace ?? "default";
    for (const p of paths) {
      const ns = str(m.object, ...p, "namespace");
      if (!ns || ns === own) continue;
      out.push({ object: m, pointer: `/${p.join("/")}/namespace`, kind: str(m.object, ...p, "kind") ?? "a source", namespace: ns, name: str(m.object, ...p, "name") ?? "?" });
    }
  }
  cache.set(model, out);
  return out;
}

/** `Kustomization apps/web → GitRepository flux-system/flux-system`. */
export function describeRef(r: CrossNamespaceRef): string {
  return `${describe(r.object)} → ${r.kind} ${r.namespace}/${r.name}`;
}

/**
 * Whether a cluster has no tenants: every reconciler runs as the platform (the controller's
 * own identity or a platform service account). Its cross-namespace references are the
 * platform's own layout, not a tenant reaching out.
 */
export function hasNoTenants(cluster: FluxCluster | undefined): boolean {
  return cluster !== undefined && cluster.reconcilers.every((r) => r.tier === "platform");
}
