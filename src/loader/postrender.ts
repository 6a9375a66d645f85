/**
 * HelmRelease post-renderers: what `spec.postRenderers[].kustomize` does to a chart's output.
 * helm-controller runs kustomize over the rendered manifests with the release's `patches`
 * (JSON 6902 or strategic merge, with a target), `images`, and (older API versions)
 * `patchesStrategicMerge` and `patchesJson6902` (helm-controller `internal/postrender/kustomize.go`).
 *
 * fluxguard does not render charts, so each patch is applied by the real kustomize to a
 * stand-in of every workload kind it can target (one container, no settings). What the
 * stand-in carries afterwards is what the patch imposes on the chart's workloads.
 */
import { stringify } from "yaml";
import { asArray, asObject, asString, isHelmRelease, path } from "../core/flux.js";
import { clustersOf, markNotAssessed } from "../core/coverage.js";
import { POST_RENDER_STAND_IN, type FleetModel, type ModelObject, type PostRendered } from "../core/model.js";
import { pointer as ptr } from "../core/pointer.js";
import type { JsonObject, JsonValue, K8sObject } from "../core/types.js";
import { parseYamlValue } from "./yaml.js";

/** Workload kinds, their apiVersion, and where their pod spec sits. */
const WORKLOADS: Record<string, { apiVersion: string; pod: string[] }> = {
  Deployment: { apiVersion: "apps/v1", pod: ["spec", "template", "spec"] },
  DaemonSet: { apiVersion: "apps/v1", pod: ["spec", "template", "spec"] },
  StatefulSet: { apiVersion: "apps/v1", pod: ["spec", "template", "spec"] },
  ReplicaSet: { apiVersion: "apps/v1", pod: ["spec", "template", "spec"] },
  Job: { apiVersion: "batch/v1", pod: ["spec", "template", "spec"] },
  CronJob: { apiVersion: "batch/v1", pod: ["spec", "jobTemplate", "spec", "template", "spec"] },
  Pod: { apiVersion: "v1", pod: ["spec"] },
};

/** A stand-in workload of a kind: one container, nothing else set. */
function standIn(kind: string, name: string, namespace: string | undefined): K8sObject {
  const w = WORKLOADS[kind]!;
  const pod: JsonObject = { containers: [{ name: POST_RENDER_STAND_IN.container, image: POST_RENDER_STAND_IN.image }] };
  let spec: JsonObject = pod;
  const inner = w.pod.slice(1).reverse();
  for (const k of inner) spec = { [k]: spec };
  if (kind === "Deployment" || kind === "DaemonSet" || kind === "StatefulSet" || kind === "ReplicaSet") {
    spec = { selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: pod } };
  }
  return { apiVersion: w.apiVersion, kind, metadata: namespace ? { name, namespace } : { name }, spec } as unknown as K8sObject;
}

/** Kinds a patch target (or a strategic-merge document) can select among the workload kinds. */
function targetKinds(kindPattern: string | undefined): string[] {
  if (kindPattern === undefined || kindPattern === "") return Object.keys(WORKLOADS);
  if (WORKLOADS[kindPattern]) return [kindPattern];
  let re: RegExp;
  try {
    re = new RegExp(`^(?:${kindPattern})$`);
  } catch {
    return [];
  }
  return Object.keys(WORKLOADS).filter((k) => re.test(k));
}

interface Step {
  pointer: string;
  /** kustomize `patches` entry text, and the kinds to try. */
  patch: string;
  kinds: string[];
  /** A strategic-merge document names its object: the stand-in takes that name. */
  name: string;
  /** Whether the patch selects by target (else kustomize matches the document's kind and name). */
  targeted: boolean;
  /** An untargeted strategic-merge document matches by its own namespace (none: none). */
  namespace?: string;
}

function smpDoc(v: JsonValue | undefined): JsonObject | undefined {
  if (typeof v === "string") {
    try {
      return asObject(parseYamlValue(v) ?? null);
    } catch {
      return undefined;
    }
  }
  return asObject(v);
}

function docNamespace(doc: JsonObject | undefined): { namespace?: string } {
  const ns = asString(path(doc, "metadata", "namespace"));
  return ns ? { namespace: ns } : {};
}

/** A target name that is a plain object name (not a regular expression), for the stand-in. */
function plainName(n: string | undefined): string | undefined {
  return n !== undefined && /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(n) ? n : undefined;
}

/** The post-renderer steps of one HelmRelease. */
function steps(release: K8sObject): { steps: Step[]; images: Array<{ pointer: string; name: string; to: string }> } {
  const out: Step[] = [];
  const images: Array<{ pointer: string; name: string; to: string }> = [];
  asArray(path(release, "spec", "postRenderers")).forEach((pr, i) => {
    const k = asObject(path(pr, "kustomize"));
    if (!k) return;
    const base = ["spec", "postRenderers", i, "kustomize"] as const;
    asArray(k["patches"]).forEach((p, j) => {
      const text = asString(path(p, "patch"));
      if (text === undefined) return;
      const target = asObject(path(p, "target"));
      const doc = smpDoc(text);
      const kinds = target ? targetKinds(asString(target["kind"])) : targetKinds(asString(doc?.["kind"]) ?? "\u0000");
      out.push({ pointer: ptr(...base, "patches", j, "patch"), patch: text, kinds, name: plainName(asString(target?.["name"])) ?? asString(path(doc, "metadata", "name")) ?? "target", targeted: target !== undefined, ...docNamespace(doc) });
    });
    asArray(k["patchesStrategicMerge"]).forEach((p, j) => {
      const doc = smpDoc(p);
      if (!doc) return;
      out.push({ pointer: ptr(...base, "patchesStrategicMerge", j), patch: stringify(doc), kinds: targetKinds(asString(doc["kind"]) ?? "\u0000"), name: asString(path(doc, "metadata", "name")) ?? "target", targeted: false, ...docNamespace(doc) });
    });
    asArray(k["patchesJson6902"]).forEach((p, j) => {
      const ops = path(p, "patch");
      const text = typeof ops === "string" ? ops : Array.isArray(ops) ? stringify(ops) : undefined;
      if (text === undefined) return;
      out.push({ pointer: ptr(...base, "patchesJson6902", j, "patch"), patch: text, kinds: targetKinds(asString(path(p, "target", "kind"))), name: plainName(asString(path(p, "target", "name"))) ?? "target", targeted: true });
    });
    asArray(k["images"]).forEach((im, j) => {
      const name = asString(path(im, "name"));
      if (!name) return;
      const newName = asString(path(im, "newName"));
      const newTag = asString(path(im, "newTag"));
      const digest = asString(path(im, "digest"));
      if (!newName && !newTag && !digest) return;
      images.push({ pointer: ptr(...base, "images", j), name, to: `${newName ?? name}${digest ? `@${digest}` : newTag ? `:${newTag}` : ""}` });
    });
  });
  return { steps: out, images };
}

/** What builds a scratch kustomization (Renderer.buildScratch). */
export type ScratchBuild = (files: Record<string, string>) => Promise<{ objects: unknown[] } | { error: string } | null>;

/**
 * Applies every HelmRelease post-renderer in the model with kustomize, to stand-ins. A step
 * that kustomize refuses for every kind it targets (or no kustomize) is recorded as not
 * assessed for the "HelmRelease values are injected" row.
 */
export async function postRenderReleases(model: FleetModel, build: ScratchBuild, concurrency = 4): Promise<PostRendered[]> {
  const tasks: Array<() => Promise<PostRendered>> = [];
  const seen = new Set<ModelObject>();
  const immediate: PostRendered[] = [];
  for (const m of model.objects) {
    if (!isHelmRelease(m.object) || seen.has(m)) continue;
    seen.add(m);
    const { steps: st, images } = steps(m.object);
    for (const im of images) immediate.push({ release: m, pointer: im.pointer, objects: [], image: { name: im.name, to: im.to } });
    const ns = asString(path(m.object, "spec", "targetNamespace")) ?? m.object.metadata.namespace ?? "default";
    for (const s of st) tasks.push(() => applyStep(model, m, s, ns, build));
  }
  // A few builds at a time (the kustomize server pool serves them in parallel), results in order.
  const results: PostRendered[] = new Array<PostRendered>(tasks.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, tasks.length)) }, worker));
  return [...immediate, ...results];
}

async function applyStep(model: FleetModel, m: ModelObject, s: Step, ns: string, build: ScratchBuild): Promise<PostRendered> {
  const objects: K8sObject[] = [];
  let problem: string | undefined;
  for (const kind of s.kinds) {
    const entry: JsonObject = { patch: s.patch };
    if (s.targeted) entry["target"] = { kind };
    const res = await build({
      "standin.yaml": stringify(standIn(kind, s.name, s.targeted ? ns : s.namespace)),
      "kustomization.yaml": stringify({ apiVersion: "kustomize.config.k8s.io/v1beta1", kind: "Kustomization", resources: ["standin.yaml"], patches: [entry] }),
    });
    if (res === null) {
      problem = "no kustomize available to apply it";
      break;
    }
    if ("error" in res) {
      problem ??= res.error;
      continue;
    }
    for (const o of res.objects) {
      const obj = o as K8sObject | null;
      if (obj && typeof obj === "object" && obj.kind === kind) objects.push(obj);
    }
  }
  if (objects.length === 0 && s.kinds.length > 0 && problem !== undefined) {
    const where = m.origin.file ? ` (${m.origin.file})` : "";
    markNotAssessed(model, { areas: ["helm-values-injected"], reason: "not-expanded", what: `post-renderer patch of HelmRelease ${m.object.metadata.namespace ?? "default"}/${m.object.metadata.name}${where}: ${problem}`, file: m.origin.file ?? null, ...clustersOf(m.clusterId) });
    return { release: m, pointer: s.pointer, objects: [], problem };
  }
  return { release: m, pointer: s.pointer, objects };
}
