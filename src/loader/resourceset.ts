/**
 * Where a Flux Operator ResourceSet's inputs come from, offline: `spec.inputs`, and the
 * ResourceSetInputProviders `spec.inputsFrom` names (by name or label selector, in the
 * ResourceSet's namespace). A provider of type Static exports its `spec.defaultValues`; every
 * other type asks a remote service (GitHub, GitLab, an OCI registry...) and is unresolved
 * unless `.fluxguard.yaml` gives its input sets under `inputs:`.
 */
import { asArray, asObject, asString, GROUP, isKind, path as at } from "../core/flux.js";
import type { ModelObject } from "../core/model.js";
import { selectorMatches } from "../core/rbac.js";
import type { JsonObject, K8sObject } from "../core/types.js";

export const isResourceSet = (o: K8sObject): boolean => isKind(o, GROUP.operator, "ResourceSet");
export const isInputProvider = (o: K8sObject): boolean => isKind(o, GROUP.operator, "ResourceSetInputProvider");

/** Builds of one ResourceSet (more than one when `.fluxguard.yaml` gives a provider several input sets). */
export interface ResourceSetInputs {
  /** Whether there is anything to build. */
  runnable: boolean;
  /** The Static providers to hand the builder, per build. */
  builds: K8sObject[][];
  /** Providers named by `spec.inputsFrom` that could not be resolved offline. */
  unresolved: string[];
  problems: string[];
}

/** At most this many builds per ResourceSet (a product of multi-set providers). */
const MAX_BUILDS = 32;

/**
 * Resolves the input providers of a ResourceSet from the objects the model already holds and
 * from `.fluxguard.yaml`'s `inputs:` (keyed `namespace/name` or `name`).
 */
export function resourceSetProviders(rs: ModelObject, pool: readonly ModelObject[], configInputs: Record<string, JsonObject[]>): ResourceSetInputs {
  const inputsFrom = asArray(at(rs.object, "spec", "inputsFrom"));
  if (inputsFrom.length === 0) return { runnable: true, builds: [[]], unresolved: [], problems: [] };
  const ns = rs.object.metadata.namespace ?? "default";
  const candidates = new Map<string, K8sObject>();
  for (const m of pool) if (isInputProvider(m.object) && (m.object.metadata.namespace ?? ns) === ns) candidates.set(m.object.metadata.name, m.object);
  const fromConfig = (name: string): JsonObject[] | undefined => configInputs[`${ns}/${name}`] ?? configInputs[name];
  const chosen = new Map<string, K8sObject[]>();
  const unresolved: string[] = [];
  const take = (name: string, p: K8sObject | undefined): void => {
    if (chosen.has(name)) return;
    const given = fromConfig(name);
    const type = p ? (asString(at(p, "spec", "type")) ?? "?") : null;
    if (given) {
      chosen.set(name, given.map((set) => staticProvider(name, ns, p?.metadata.labels, set)));
    } else if (p && type === "Static") {
      chosen.set(name, [{ ...p, metadata: { ...p.metadata, namespace: ns } }]);
    } else {
      unresolved.push(`ResourceSetInputProvider ${ns}/${name} (${p ? `type ${type}, resolved only live` : "not in the repository"})`);
    }
  };
  for (const ref of inputsFrom) {
    const r = asObject(ref) ?? {};
    const name = asString(r["name"]);
    const selector = asObject(r["selector"]);
    if (name) take(name, candidates.get(name));
    else if (selector) {
      const matched = [...candidates.values()].filter((p) => selectorMatches(selector, p.metadata.labels ?? {}));
      if (matched.length === 0) unresolved.push(`ResourceSetInputProviders in ${ns} selected by ${JSON.stringify(selector)} (none in the repository)`);
      for (const p of matched) take(p.metadata.name, p);
    }
  }
  const problems: string[] = [];
  if (unresolved.length) {
    problems.push(
      `inputs from ${unresolved.join(", ")} are not resolved offline, so the objects they would create are not assessed; give their input sets under 'inputs' in .fluxguard.yaml`,
    );
  }
  const inline = asArray(at(rs.object, "spec", "inputs")).length > 0;
  if (chosen.size === 0 && !inline) return { runnable: false, builds: [], unresolved, problems };
  // One build per combination of the providers' input sets (Static providers export one set).
  let builds: K8sObject[][] = [[]];
  for (const sets of chosen.values()) {
    builds = builds.flatMap((b) => sets.map((p) => [...b, p]));
    if (builds.length > MAX_BUILDS) {
      problems.push(`the input sets given in .fluxguard.yaml combine to more than ${MAX_BUILDS} builds; only the first ${MAX_BUILDS} are assessed`);
      builds = builds.slice(0, MAX_BUILDS);
    }
  }
  return { runnable: true, builds, unresolved, problems };
}

function staticProvider(name: string, namespace: string, labels: Record<string, string> | undefined, set: JsonObject): K8sObject {
  return {
    apiVersion: `${GROUP.operator}/v1`,
    kind: "ResourceSetInputProvider",
    metadata: { name, namespace, ...(labels ? { labels } : {}) },
    spec: { type: "Static", defaultValues: set },
  };
}
