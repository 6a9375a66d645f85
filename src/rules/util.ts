/** Helpers shared by rules. Pure functions over the model. */
import { substitutionLiteral } from "../core/envsubst.js";
import { asArray, asObject, asString, FLUX_CONTROLLERS, GROUP, groupOf, isTemplated, objectId, path, str } from "../core/flux.js";
import { refOf, runsFlux, type FleetModel, type FluxCluster, type ModelObject, type Reconciler } from "../core/model.js";
import type { BindingNode, Subject } from "../core/rbac.js";
import type { Report } from "../core/rule.js";
import { isSopsEncryptedValue } from "../core/sops.js";
import type { JsonObject, K8sObject } from "../core/types.js";

export function isFluxControllerSubject(cluster: FluxCluster, s: Subject): boolean {
  return s.kind === "ServiceAccount" && (s.namespace ?? "") === cluster.fluxNamespace && (FLUX_CONTROLLERS as readonly string[]).includes(s.name);
}

export function reconcilerSubject(r: Reconciler): Subject {
  return { kind: "ServiceAccount", name: r.identity.serviceAccount, namespace: r.identity.namespace };
}

export function describeSubject(s: Subject): string {
  return s.kind === "ServiceAccount" ? `ServiceAccount ${s.namespace ?? ""}/${s.name}` : `${s.kind} ${s.name}`;
}

/** A short human reference to an object: `Kustomization flux-system/apps`. */
export function describe(m: ModelObject): string {
  const ns = m.object.metadata.namespace;
  return `${m.object.kind} ${ns ? `${ns}/` : ""}${m.object.metadata.name}`;
}

/**
 * Kubernetes' own control-plane identities (bound by the bootstrap RBAC policy, or named
 * `system:*`): they read Secrets by design and are not a finding.
 */
export function isKubernetesSystemSubject(s: Subject, binding?: BindingNode): boolean {
  if (s.kind !== "ServiceAccount" && s.name.startsWith("system:")) return true;
  const bootstrap = binding?.object.object.metadata.labels?.["kubernetes.io/bootstrapping"] === "rbac-defaults";
  return bootstrap && (s.kind !== "ServiceAccount" || s.namespace === "kube-system");
}

export function clustersWithObjects(model: FleetModel): FluxCluster[] {
  return model.clusters.filter((c) => c.objects.length > 0);
}

export const CLUSTER_ADMIN = "cluster-admin";

export { isTemplated } from "../core/flux.js";

/**
 * Whether a string is a placeholder resolved outside Git (secret managers, templating). A
 * substitution expression with a literal default (`${VAR:=literal}`, src/core/envsubst.ts) is
 * not: Flux applies the literal whenever VAR is unset, so the literal is what is judged.
 */
export function isExternalReference(v: string): boolean {
  const literal = substitutionLiteral(v);
  if (literal !== null) return literal.trim() === "" || isExternalReference(literal);
  const t = v.trim();
  return (
    isTemplated(t) ||
    isSopsEncryptedValue(t) ||
    /^(op|vault|ref\+[a-z0-9]+|awssm|gcpsm|azkv|sops|secret|env|file|akv|bws|infisical):\/\//i.test(t) ||
    /^<path:[^>]+>$/.test(t) ||
    /^\{\{.*\}\}$/s.test(t)
  );
}

const templateCache = new WeakMap<FleetModel, ModelObject[]>();

/**
 * The objects a Flux Operator ResourceSet would create, as templates: `spec.resources[]`
 * with `<< inputs.* >>` fields left in place (rules treat them as unknown). Each one locates
 * into its ResourceSet.
 */
function resourceSetTemplates(model: FleetModel): ModelObject[] {
  let out = templateCache.get(model);
  if (out) return out;
  out = [];
  // A ResourceSet the Flux Operator CLI expanded is audited through what it created; so is one
  // whose objects are live (labelled with its name by the operator).
  const expanded = new Set((model.resourceSets ?? []).filter((e) => e.objects.length > 0).map((e) => e.resourceSet));
  const live = new Set(
    model.mode === "cluster"
      ? model.objects.flatMap((m) => {
          const l = m.object.metadata.labels;
          const name = l?.["resourceset.fluxcd.controlplane.io/name"];
          return name ? [`${l["resourceset.fluxcd.controlplane.io/namespace"] ?? ""}/${name}`] : [];
        })
      : [],
  );
  for (const rs of model.objects) {
    if (rs.object.kind !== "ResourceSet" || !rs.object.apiVersion.startsWith(`${GROUP.operator}/`)) continue;
    if (expanded.has(rs) || live.has(`${rs.object.metadata.namespace ?? ""}/${rs.object.metadata.name}`)) continue;
    asArray(path(rs.object, "spec", "resources")).forEach((r, i) => {
      const o = asObject(r);
      if (!o || typeof o["apiVersion"] !== "string" || typeof o["kind"] !== "string") return;
      const md = asObject(o["metadata"]) ?? {};
      const obj = {
        ...o,
        metadata: { ...md, name: asString(md["name"]) ?? "<< template >>", namespace: asString(md["namespace"]) ?? rs.object.metadata.namespace },
      } as unknown as K8sObject;
      if (obj.metadata.namespace === undefined) delete obj.metadata.namespace;
      const base = `/spec/resources/${i}`;
      out!.push({
        key: `template:${rs.key}#${i}`,
        object: obj,
        ref: refOf(obj),
        origin: { kind: "synthesized", ...(rs.origin.file ? { file: rs.origin.file } : {}) },
        clusterId: rs.clusterId,
        locate: (p) => rs.locate(`${base}${p}`) ?? rs.locate(base),
      });
    });
  }
  templateCache.set(model, out);
  return out;
}

/** The effective objects plus ResourceSet templates: what Flux objects rules should check. */
export function auditedObjects(model: FleetModel): ModelObject[] {
  const t = resourceSetTemplates(model);
  return t.length ? [...model.objects, ...t] : model.objects;
}

/** Whether an object is of a Flux toolkit kind (any version). */
export function isFluxKind(m: ModelObject, group: string, ...kinds: string[]): boolean {
  return groupOf(m.object.apiVersion) === group && kinds.includes(m.object.kind);
}

const renderedByCache = new WeakMap<FleetModel, Map<ModelObject, Reconciler>>();

/** The Flux Kustomization (reconciler) whose rendering produced an object, if any. */
export function renderingReconciler(model: FleetModel, m: ModelObject): Reconciler | undefined {
  let map = renderedByCache.get(model);
  if (!map) {
    map = new Map();
    for (const r of model.reconcilers) for (const o of r.render?.objects ?? []) if (!map.has(o)) map.set(o, r);
    renderedByCache.set(model, map);
  }
  const found = map.get(m);
  if (found || !m.origin.renderedBy?.startsWith("HelmRelease/")) return found;
  // Live objects helm-controller applied name their HelmRelease in their labels (cluster loader).
  return model.reconcilers.find((r) => r.kind === "HelmRelease" && objectId(r.object.object) === m.origin.renderedBy);
}

/**
 * Content that Flux applies: objects a Kustomization renders (files mode), or live objects a
 * Kustomization's inventory lists or that kustomize-/helm-controller labelled (cluster mode).
 */
export function isAppliedContent(m: ModelObject): boolean {
  return m.origin.kind === "rendered" || (m.origin.kind === "cluster" && m.origin.renderedBy !== undefined);
}

/** The reconciler record of a Kustomization or HelmRelease object. */
export function reconcilerOf(model: FleetModel, m: ModelObject): Reconciler | undefined {
  return model.reconcilers.find((r) => r.object === m);
}

/** `Kind/namespace/name` of the source an object's `sourceRef`-like reference points to. */
export function refKey(ref: unknown, defaultNamespace: string, defaultKind?: string): string | null {
  const kind = str(ref, "kind") ?? defaultKind;
  const name = str(ref, "name");
  if (!kind || !name) return null;
  return `${kind}/${str(ref, "namespace") ?? defaultNamespace}/${name}`;
}

export function objectKey(m: ModelObject): string {
  return `${m.object.kind}/${m.object.metadata.namespace ?? "default"}/${m.object.metadata.name}`;
}

const byKeyCache = new WeakMap<FleetModel, Map<string, ModelObject[]>>();

/** Finds an audited object by `Kind/namespace/name`, preferring the same cluster as `near`. */
export function findByKey(model: FleetModel, key: string, near?: ModelObject): ModelObject | undefined {
  let index = byKeyCache.get(model);
  if (!index) {
    index = new Map();
    for (const m of auditedObjects(model)) {
      const k = objectKey(m);
      const list = index.get(k);
      if (list) list.push(m);
      else index.set(k, [m]);
    }
    byKeyCache.set(model, index);
  }
  const hits = index.get(key) ?? [];
  return hits.find((m) => near === undefined || m.clusterId === near.clusterId) ?? hits[0];
}

/** Every pod spec in a workload: `{ pointer, spec }` (Pod, controllers, Job, CronJob). */
export function podSpecs(o: K8sObject): Array<{ pointer: string; spec: JsonObject }> {
  const at = (...p: string[]): Array<{ pointer: string; spec: JsonObject }> => {
    const s = asObject(path(o, ...p));
    return s ? [{ pointer: `/${p.join("/")}`, spec: s }] : [];
  };
  switch (o.kind) {
    case "Pod":
      return at("spec");
    case "Deployment":
    case "StatefulSet":
    case "DaemonSet":
    case "ReplicaSet":
    case "ReplicationController":
    case "Job":
      return at("spec", "template", "spec");
    case "CronJob":
      return at("spec", "jobTemplate", "spec", "template", "spec");
    default:
      return [];
  }
}

/** The containers of a pod spec, with their pointers (init and ephemeral ones included). */
export function containersOf(podPointer: string, spec: JsonObject): Array<{ pointer: string; container: JsonObject }> {
  const out: Array<{ pointer: string; container: JsonObject }> = [];
  for (const field of ["initContainers", "containers", "ephemeralContainers"]) {
    asArray(spec[field]).forEach((c, i) => {
      const o = asObject(c);
      if (o) out.push({ pointer: `${podPointer}/${field}/${i}`, container: o });
    });
  }
  return out;
}

/** kustomize patch target matching: kind, name and namespace (regular expressions), group and version. */
export function targetMatches(target: JsonObject | undefined, o: K8sObject): boolean {
  if (!target) return false;
  const re = (field: string, value: string | undefined): boolean => {
    const want = asString(target[field]);
    if (want === undefined) return true;
    try {
      return new RegExp(`^(?:${want})$`).test(value ?? "");
    } catch {
      return want === value;
    }
  };
  return re("kind", o.kind) && re("name", o.metadata.name) && re("namespace", o.metadata.namespace) && re("group", groupOf(o.apiVersion)) && re("version", o.apiVersion.split("/").pop());
}

/** A container image reference, split: `ghcr.io/org/app:1.2@sha256:…`. */
export interface ImageRef {
  /** Registry host, with Docker Hub's default (`docker.io`) filled in. */
  registry: string;
  /** Repository path, with Docker Hub's `library/` filled in for official images. */
  repository: string;
  tag: string | null;
  digest: string | null;
}

export function parseImage(image: string): ImageRef {
  const [nameTag = "", digest] = image.trim().split("@", 2);
  const slash = nameTag.lastIndexOf("/");
  const colon = nameTag.lastIndexOf(":");
  const name = colon > slash ? nameTag.slice(0, colon) : nameTag;
  const tag = colon > slash ? nameTag.slice(colon + 1) : null;
  const first = name.split("/")[0]!;
  const hasRegistry = name.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost");
  const registry = hasRegistry ? first : "docker.io";
  let repository = hasRegistry ? name.slice(first.length + 1) : name;
  if (registry === "docker.io" && !repository.includes("/")) repository = `library/${repository}`;
  return { registry: registry === "index.docker.io" || registry === "registry-1.docker.io" ? "docker.io" : registry, repository, tag, digest: digest ?? null };
}

/** Clusters a per-cluster rule checks: the real ones, or the repository itself when it has no cluster entrypoint. */
export function checkedClusters(model: FleetModel): FluxCluster[] {
  // A remote cluster reached through spec.kubeConfig runs no Flux of its own (unless its objects install one).
  const real = model.clusters.filter((c) => c.id !== "(unattached)" && runsFlux(c));
  return real.length ? real : model.clusters;
}

/**
 * Wraps `report` so that a problem is reported once per source location: the rendered copies
 * of one line (a component in many namespaces, a base in several clusters) are one mistake.
 * `problem` tells different problems at the same place apart.
 */
export function oncePerLine(report: (r: Report) => void): (r: Report & { object: ModelObject; pointer: string }, problem?: string) => void {
  const seen = new Set<string>();
  return (r, problem = "") => {
    const loc = r.location ?? r.object.locate(r.pointer);
    const key = `${loc ? `${loc.file}:${loc.line}:${loc.column}` : `${r.object.key}#${r.pointer}`}|${problem}`;
    if (seen.has(key)) return;
    seen.add(key);
    report(r);
  };
}
