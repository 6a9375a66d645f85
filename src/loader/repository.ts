/**
 * Turns a directory of manifests into the FleetModel: parses every YAML file, finds each
 * cluster's entrypoint, renders what every Flux Kustomization applies (breadth first, one
 * batch per level), and works out who every reconciler runs as.
 */
import { availableParallelism } from "node:os";
import { basename, dirname, resolve } from "node:path";
import { existsSync } from "node:fs";
import type { FleetConfig } from "../core/config.js";
import {
  asArray,
  asObject,
  asString,
  GROUP,
  isFluxInstance,
  isFluxKustomization,
  isHelmRelease,
  path as at,
  spec,
  str,
} from "../core/flux.js";
import type {
  FleetModel,
  FluxCluster,
  KustomizeFile,
  ModelObject,
  RenderNote,
  RenderRecord,
  ResourceSetExpansion,
} from "../core/model.js";
import { refOf } from "../core/model.js";
import { getAt, pointer } from "../core/pointer.js";
import { clustersOf, markNotAssessed, type NotAssessed } from "../core/coverage.js";
import type { JsonObject, JsonValue, K8sObject, SourceLocation } from "../core/types.js";
import { isInside, KUSTOMIZATION_FILES, toRel, walkYaml, type Notice } from "./files.js";
import { DEFAULT_MAX_FILE_BYTES, readTextBounded, ReadGuard, secureJoin } from "./guard.js";
import { findKustomize, kustomizationRefs, type KustomizeTool } from "./kustomize.js";
import { CONFIG_FILE } from "./config.js";
import { postRenderReleases } from "./postrender.js";
import { fluxSettings, Renderer, substitute, type RenderedDoc, type RenderJob } from "./render.js";
import { RenderCache } from "./render-cache.js";
import { parseYamlFile, type ParsedDocument, type YamlError } from "./yaml.js";
import { buildCluster, kubeConfigTarget, lockdownPatches, normalizePath } from "./tenancy.js";
import { findFluxOperator, FluxOperatorRunner, inputSetLabel, templateDocumentOf, templateDocuments, type FluxOperatorTool } from "./flux-operator.js";
import { isResourceSet, resourceSetProviders } from "./resourceset.js";

export interface LoadOptions {
  root: string;
  config: FleetConfig;
  env?: Record<string, string | undefined>;
  maxFileBytes?: number;
  concurrency?: number;
  /** The persistent render cache directory; null disables it (default: from the environment). */
  cacheDir?: string | null;
  /** Overrides kustomize discovery (tests). `null` forces the built-in resolver. */
  kustomize?: KustomizeTool | null;
  /** Overrides Flux Operator CLI discovery (tests). `null`: ResourceSets are not expanded. */
  fluxOperator?: FluxOperatorTool | null;
}

export interface LoadResult {
  model: FleetModel;
  parseErrors: YamlError[];
  skipped: Notice[];
  /**
   * What Flux would apply but fluxguard could not assess: files too large or undecodable,
   * YAML past a bound, objects whose apiVersion, kind or name is not a string, builds past
   * kustomize's time or memory bound. Each is a high finding; the run cannot pass.
   */
  unassessed: Notice[];
  /** Documents that are not Kubernetes objects (verbose output). */
  nonObjects: Notice[];
  kustomize: string | null;
  /** `flux-operator <version>` when ResourceSets were expanded with it, else null. */
  fluxOperator?: string | null;
  filesScanned: number;
}

export const UNATTACHED = "(unattached)";

function isK8sObject(v: JsonValue): v is JsonObject & { apiVersion: string; kind: string; metadata: JsonObject } {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return false;
  const md = asObject(v["metadata"]);
  return typeof v["apiVersion"] === "string" && typeof v["kind"] === "string" && md !== undefined && typeof md["name"] === "string";
}

function isKustomizeConfig(v: JsonValue): boolean {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return false;
  const api = v["apiVersion"];
  return typeof api !== "string" || api.startsWith("kustomize.config.k8s.io/");
}

interface FileEntry {
  rel: string;
  abs: string;
  /** The first characters of the file (comments included), for headers such as gotk-components.yaml's Flux version. */
  head: string;
  docs: ParsedDocument[];
  objects: ModelObject[];
}

export async function loadRepository(opts: LoadOptions): Promise<LoadResult> {
  const root = resolve(opts.root);
  const env = opts.env ?? process.env;
  const maxFileBytes = opts.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  // The one place that decides what may be read: the scanned root and the source directories
  // a trusted config maps (a repository's own .fluxguard.yaml may map only directories inside it).
  const guard = new ReadGuard([root]);
  const sourceNotices: Notice[] = [];
  const ownConfig = opts.config.file !== null && isInside(guard.realpath(root) ?? root, guard.realpath(opts.config.file) ?? resolve(opts.config.file));
  for (const [url, dir] of Object.entries(opts.config.sources)) {
    if (ownConfig && !guard.allows(dir)) {
      sourceNotices.push({ file: ".fluxguard.yaml", reason: `source directory for ${url} is outside the scanned root; a repository's own config cannot map it (use --config from a trusted place)` });
      delete opts.config.sources[url];
      continue;
    }
    guard.addRoot(dir);
  }
  const walk = walkYaml(root, { maxFileBytes }, guard);
  const unassessed: Notice[] = [...walk.unassessed];
  const parseErrors: YamlError[] = [];
  const nonObjects: Notice[] = [];
  const kustomizeFiles: KustomizeFile[] = [];
  const kustomizeByAbs = new Map<string, KustomizeFile>();
  const files = new Map<string, FileEntry>();
  const fileObjects: ModelObject[] = [];

  const boundFiles = new Map<string, string>();
  for (const u of walk.unassessed) boundFiles.set(resolve(root, u.file), u.reason);
  const tool = opts.kustomize !== undefined ? opts.kustomize : findKustomize(env);
  const objectsCache = new Map<string, K8sObject[] | null>();
  const cacheDir = opts.cacheDir !== undefined ? opts.cacheDir : RenderCache.dirFor(env);
  const renderer = new Renderer({
    scanRoot: root,
    guard,
    unreadable: (abs) => boundFiles.get(abs) ?? null,
    tool,
    cache: cacheDir ? new RenderCache(cacheDir) : null,
    concurrency: opts.concurrency ?? Math.max(1, Math.min(availableParallelism(), 4)),
    readKustomization: (abs) => {
      const kf = kustomizeByAbs.get(abs);
      if (kf) return kf.config;
      return readForeignKustomization(guard, abs);
    },
    objectsOf: (abs) => {
      const entry = files.get(abs);
      if (entry) {
        if (KUSTOMIZATION_FILES.includes(basename(abs))) return null;
        return entry.docs.length > 0 && entry.docs.every((d) => isK8sObject(d.value)) ? entry.objects.map((o) => o.object) : null;
      }
      if (!objectsCache.has(abs)) objectsCache.set(abs, readForeignObjects(guard, abs, maxFileBytes));
      return objectsCache.get(abs)!;
    },
  });
  // Servers warm up while the files are parsed (their renders come after the parse).
  renderer.prestart(walk.files.filter((f) => KUSTOMIZATION_FILES.includes(basename(f.abs))).length);

  for (const f of walk.files) {
    const parsed = parseYamlFile(f.rel, f.text);
    for (const e of parsed.errors) {
      if (e.bound) {
        unassessed.push({ file: f.rel, reason: `line ${e.line}: ${e.message}` });
        if (!boundFiles.has(f.abs)) boundFiles.set(f.abs, e.message);
      } else parseErrors.push(e);
    }
    const entry: FileEntry = { rel: f.rel, abs: f.abs, head: f.text.slice(0, 1024), docs: parsed.documents, objects: [] };
    files.set(f.abs, entry);
    if (KUSTOMIZATION_FILES.includes(basename(f.abs))) {
      const doc = parsed.documents[0];
      if (doc && isKustomizeConfig(doc.value)) {
        const kf: KustomizeFile = {
          file: f.rel,
          dir: toRel(root, dirname(f.abs)) || ".",
          config: doc.value as JsonObject,
          locate: doc.locate,
          readInput: (ref) => readInputFile(guard, dirname(f.abs), ref),
        };
        kustomizeFiles.push(kf);
        kustomizeByAbs.set(f.abs, kf);
        continue;
      }
    }
    if (f.rel === CONFIG_FILE) {
      nonObjects.push({ file: f.rel, reason: "fluxguard's own configuration" });
      continue;
    }
    for (const doc of parsed.documents) {
      if (isK8sObject(doc.value)) {
        const obj = doc.value as unknown as K8sObject;
        const mo: ModelObject = {
          key: `file:${f.rel}#${doc.index}`,
          object: obj,
          ref: refOf(obj),
          origin: { kind: "file", file: f.rel, docIndex: doc.index },
          clusterId: null,
          locate: doc.locate,
        };
        entry.objects.push(mo);
      } else if (malformedObject(doc.value)) {
        unassessed.push({ file: f.rel, reason: `document ${doc.index + 1}: ${malformedObject(doc.value)}` });
      } else if (doc.value !== null && typeof doc.value === "object" && !Array.isArray(doc.value) && "kind" in doc.value && isKustomizeConfig(doc.value)) {
        nonObjects.push({ file: f.rel, reason: `document ${doc.index + 1} is a kustomize config outside a kustomization file` });
      } else {
        nonObjects.push({ file: f.rel, reason: `document ${doc.index + 1} is not a Kubernetes object (no apiVersion, kind and metadata.name)` });
      }
    }
  }

  // Files kustomize uses as patches or generator inputs are not objects of their own.
  const auxiliary = new Set<string>();
  for (const [abs, kf] of kustomizeByAbs) {
    for (const ref of kustomizationRefs(kf.config).aux) auxiliary.add(resolve(dirname(abs), ref));
  }
  for (const entry of files.values()) {
    if (auxiliary.has(entry.abs)) {
      if (entry.objects.length) nonObjects.push({ file: entry.rel, reason: "used by kustomize as a patch or generator input" });
      continue;
    }
    fileObjects.push(...entry.objects);
  }

  // The Flux Operator CLI is looked for only when there is a ResourceSet to expand.
  let operator: FluxOperatorRunner | null | undefined;
  const fluxOperator = (): FluxOperatorRunner | null => {
    if (operator === undefined) {
      const tool = opts.fluxOperator !== undefined ? opts.fluxOperator : findFluxOperator(env);
      operator = tool ? new FluxOperatorRunner(tool, Math.max(1, Math.min(availableParallelism(), 4)), undefined, cacheDir) : null;
    }
    return operator;
  };
  const builder = new ModelBuilder(root, opts.config, fileObjects, files, kustomizeByAbs, renderer, unassessed, fluxOperator);
  let model: FleetModel;
  try {
    await builder.build();
    model = builder.finish(kustomizeFiles);
    // HelmRelease post-renderers, applied by the same kustomize to stand-ins (src/loader/postrender.ts).
    model.postRendered = await postRenderReleases(model, (f) => renderer.buildScratch(f));
  } finally {
    operator?.close();
    await renderer.close();
  }
  // A file the walk did not read may hold anything Flux applies.
  for (const n of walk.skipped) {
    if (/^Helm chart templates/.test(n.reason)) {
      const chart = n.file.replace(/\/(templates|charts)$/, "");
      markNotAssessed(model, { areas: ["helm-values-injected"], reason: "not-expanded", what: `Helm chart ${chart} (its templates are rendered by helm-controller, not by fluxguard)`, file: chart });
      continue;
    }
    markNotAssessed(model, { areas: "all", reason: "skipped-file", what: `${n.file} (${n.reason})`, file: n.file });
  }
  // What could not be read or rendered within the bounds may hold anything Flux applies.
  for (const n of unassessed) markNotAssessed(model, { areas: "all", reason: "skipped-file", what: `${n.file} (${n.reason})`, file: n.file });
  return {
    model,
    parseErrors,
    skipped: [...walk.skipped, ...sourceNotices],
    unassessed,
    nonObjects,
    kustomize: tool?.label ?? null,
    fluxOperator: operator ? `flux-operator ${operator.tool.version}` : null,
    filesScanned: walk.files.length,
  };
}

/** A file a kustomization refers to, read on demand: only what the guard allows, never binary or large. */
function readInputFile(guard: ReadGuard, dirAbs: string, ref: string, maxBytes = 1024 * 1024): string | null {
  const c = guard.check(resolve(dirAbs, ref));
  if (!c.ok) return null;
  const read = readTextBounded(c.real, maxBytes);
  return read.ok ? read.text : null;
}

/** A kustomization file outside the walked set (a mapped source): parsed only when the guard allows it. */
function readForeignKustomization(guard: ReadGuard, abs: string): JsonObject | null {
  const c = guard.check(abs);
  if (!c.ok) return null;
  const read = readTextBounded(c.real);
  if (!read.ok) return null;
  const v = parseYamlFile(abs, read.text).documents[0]?.value;
  return v && typeof v === "object" && !Array.isArray(v) ? v : null;
}

function readForeignObjects(guard: ReadGuard, abs: string, maxBytes: number): K8sObject[] | null {
  const c = guard.check(abs);
  if (!c.ok) return null;
  const read = readTextBounded(c.real, maxBytes);
  if (!read.ok) return null;
  const parsed = parseYamlFile(abs, read.text);
  if (parsed.errors.length || parsed.documents.length === 0) return null;
  if (!parsed.documents.every((d) => isK8sObject(d.value))) return null;
  return parsed.documents.map((d) => d.value as unknown as K8sObject);
}

/**
 * Why a document that looks like a Kubernetes object (a mapping with a kind and metadata)
 * cannot be one: its apiVersion, kind or metadata.name is there but not a string. Flux would
 * fail to apply it; fluxguard cannot audit it. Null when it is fine or not object-like at all.
 */
export function malformedObject(v: unknown): string | null {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return null;
  const o = v as Record<string, unknown>;
  const md = o["metadata"];
  if (o["kind"] === undefined && md === undefined) return null;
  const bad: string[] = [];
  const type = (x: unknown): string => (x === null ? "null" : Array.isArray(x) ? "a list" : typeof x === "object" ? "a mapping" : `a ${typeof x}`);
  if (o["apiVersion"] !== undefined && typeof o["apiVersion"] !== "string") bad.push(`apiVersion is ${type(o["apiVersion"])}`);
  if (o["kind"] !== undefined && typeof o["kind"] !== "string") bad.push(`kind is ${type(o["kind"])}`);
  if (md !== undefined && (md === null || typeof md !== "object" || Array.isArray(md))) bad.push(`metadata is ${type(md)}`);
  else if (md !== undefined && (md as Record<string, unknown>)["name"] !== undefined && typeof (md as Record<string, unknown>)["name"] !== "string") bad.push(`metadata.name is ${type((md as Record<string, unknown>)["name"])}`);
  else if (md !== undefined && (md as Record<string, unknown>)["namespace"] !== undefined && typeof (md as Record<string, unknown>)["namespace"] !== "string") bad.push(`metadata.namespace is ${type((md as Record<string, unknown>)["namespace"])}`);
  return bad.length ? `not a valid Kubernetes object: ${bad.join(", ")} (must be a string)` : null;
}

interface QueueItem {
  ks: ModelObject;
  clusterId: string;
}

class ModelBuilder {
  private readonly objects: ModelObject[] = [];
  private readonly synthesized: ModelObject[] = [];
  private readonly consumed = new Set<string>();
  private readonly renders = new Map<string, RenderRecord>();
  private readonly renderNotes: RenderNote[] = [];
  /** Content not seen (coverage.ts): what could not be rendered, remote clusters. */
  readonly notAssessed: NotAssessed[] = [];
  private readonly entrypoints: Array<{ ks: ModelObject; clusterId: string }> = [];
  private readonly selfSources = new Set<string>();
  private readonly selfUrls = new Set<string>();
  private fallbackSelf = false;
  private readonly clusterIds: string[] = [];
  /** The flux-system kustomization of entrypoints found from a bootstrap layout. */
  private readonly bootstrapFiles = new Map<string, KustomizeFile>();
  /** FluxInstance (or flux-instance HelmRelease) key → the cluster its sync defines. */
  private readonly instanceCluster = new Map<string, string>();
  /** Every FluxInstance found, with the sync objects synthesized from its spec.sync. */
  private readonly instances: Array<{ inst: ModelObject; sync: ModelObject[] }> = [];
  /** FluxInstance key → what `flux-operator build instance` rendered for it (not in model.objects). */
  private readonly instanceBuilds = new Map<string, ModelObject[]>();
  private readonly instanceOutcomes: NonNullable<FleetModel["fluxInstances"]> = [];
  /** Remote clusters reached through spec.kubeConfig: id → the hub and the Kustomizations that apply there. */
  private readonly remotes = new Map<string, { hub: string; via: string[] }>();
  private readonly expansions: ResourceSetExpansion[] = [];
  /** Sources whose artifact is a subdirectory of this repository (key `Kind/namespace/name`). */
  private readonly sourceRoots = new Map<string, string>();

  constructor(
    private readonly root: string,
    private readonly config: FleetConfig,
    private readonly fileObjects: ModelObject[],
    private readonly files: Map<string, FileEntry>,
    private readonly kustomizeByAbs: Map<string, KustomizeFile>,
    private readonly renderer: Renderer,
    private readonly unassessed: Notice[],
    private readonly fluxOperator: () => FluxOperatorRunner | null,
  ) {}

  async build(): Promise<void> {
    for (const [url, dir] of Object.entries(this.config.sources)) if (resolve(dir) === this.root) this.selfUrls.add(normalizeUrl(url));
    this.findFluxInstances();
    await this.renderFluxInstances();
    // Self-sync: a Kustomization whose path contains the file that defines it.
    for (const m of this.fileObjects) {
      if (!isFluxKustomization(m.object) || !m.origin.file) continue;
      const p = str(m.object, "spec", "path") ?? "";
      const dirAbs = secureJoin(this.root, p);
      const bootstrapLike = str(m.object, "spec", "sourceRef", "name") === "flux-system" || m.object.metadata.name === "flux-system" || normalizePath(p) !== ".";
      if (bootstrapLike && isInside(dirAbs, resolve(this.root, m.origin.file)) && isInside(this.root, dirAbs)) {
        const src = this.sourceRefOf(m);
        if (src) this.selfSources.add(src);
        const srcObj = this.findSource(m);
        const url = srcObj ? str(srcObj.object, "spec", "url") : undefined;
        if (url) this.selfUrls.add(normalizeUrl(url));
        this.addEntrypoint(m, toRel(this.root, dirAbs) || ".");
      }
    }
    this.findBootstrapDirs();
    if (this.entrypoints.length === 0 && this.selfUrls.size === 0) this.fallbackSelf = true;

    // Breadth first from every entrypoint; one render batch per level.
    const visited = new Set<string>();
    let frontier: QueueItem[] = this.entrypoints.map((e) => ({ ks: e.ks, clusterId: e.clusterId }));
    const runLevels = async (): Promise<void> => {
      while (frontier.length > 0) {
        const next: QueueItem[] = [];
        const jobs: Array<{ item: QueueItem; job: RenderJob | null; problem?: string }> = [];
        for (const item of frontier) {
          const vkey = `${item.clusterId}|${ksKey(item.ks)}`;
          if (visited.has(vkey)) continue;
          visited.add(vkey);
          const srcRoot = this.sourceRootFor(item.ks);
          if (typeof srcRoot !== "string") {
            jobs.push({ item, job: null, problem: srcRoot.problem });
            continue;
          }
          const s = spec(item.ks.object);
          const mapped = this.artifactPath(item.ks, asString(s["path"]) ?? ".");
          if (mapped === null) {
            jobs.push({ item, job: null, problem: `path '${asString(s["path"]) ?? "."}' is not copied into ExternalArtifact ${str(item.ks.object, "spec", "sourceRef", "name") ?? "?"} by any ArtifactGenerator rule` });
            continue;
          }
          jobs.push({
            item,
            job: {
              id: `${item.clusterId}|${ksKey(item.ks)}|${item.ks.key}`,
              // kustomize-controller: securejoin.SecureJoin(artifactRoot, spec.path): `..` and
              // absolute paths are clamped to the artifact root, symlinks resolved within it.
              dirAbs: secureJoin(srcRoot, mapped),
              sourceRoot: srcRoot,
              settings: fluxSettings(s),
            },
          });
        }
        const results = await this.renderer.renderAll(jobs.flatMap((j) => (j.job ? [j.job] : [])));
        const resourceSets: QueueItem[] = [];
        for (const { item, job, problem } of jobs) {
          const rkey = `${item.clusterId}|${ksKey(item.ks)}`;
          if (!job) {
            this.renders.set(rkey, { method: null, dir: null, objects: [], problems: [problem!] });
            this.renderNotes.push({ reconciler: noteLabel(item), file: item.ks.origin.file ?? null, method: null, objects: 0, problems: [problem!] });
            this.markUnrendered(item, problem!);
            continue;
          }
          const outcome = results.get(job.id)!;
          if (outcome.method === null) this.markUnrendered(item, outcome.problems.join("; ") || "not rendered");
          for (const u of outcome.unassessed ?? []) this.unassessed.push({ file: item.ks.origin.file ?? ksLabel(item.ks), reason: `${ksLabel(item.ks)}: ${u}` });
          const target = this.targetOf(item);
          const rendered = this.adopt(item, target, outcome.docs, outcome.method === "kustomize" || outcome.method === "flux-generated" ? outcome.method : "builtin");
          const record: RenderRecord = { method: outcome.method, dir: toRel(this.root, job.dirAbs) || ".", objects: rendered, problems: outcome.problems };
          this.renders.set(rkey, record);
          this.renderNotes.push({ reconciler: noteLabel(item), file: item.ks.origin.file ?? null, method: outcome.method, objects: rendered.length, problems: outcome.problems });
          // A Kustomization applied to a remote cluster is reconciled there (by that cluster's Flux).
          for (const r of rendered) if (isFluxKustomization(r.object)) next.push({ ks: r, clusterId: target });
          for (const r of rendered) if (isResourceSet(r.object)) resourceSets.push({ ks: r, clusterId: target });
        }
        next.push(...(await this.expandResourceSets(resourceSets)));
        frontier = next;
      }
    };
    await runLevels();
    // Kustomizations in files that no cluster reaches are still audited, unattached. Parents
    // first: a Kustomization whose file lies under another one's path is rendered by that
    // parent (with the parent's spec.patches applied to it), not on its own; it is rendered on
    // its own only if no parent's output contains it.
    const unattached = this.fileObjects.filter((m) => isFluxKustomization(m.object) && !this.consumed.has(m.key));
    if (unattached.length) {
      const under = (child: ModelObject): boolean =>
        unattached.some((p) => p !== child && child.origin.file !== undefined && p.origin.file !== child.origin.file && isInside(resolve(this.root, str(p.object, "spec", "path") ?? "."), resolve(this.root, child.origin.file)));
      frontier = unattached.filter((m) => !under(m)).map((ks) => ({ ks, clusterId: UNATTACHED }));
      await runLevels();
      frontier = unattached.filter((m) => under(m) && !this.consumed.has(m.key)).map((ks) => ({ ks, clusterId: UNATTACHED }));
      await runLevels();
    }
    // ResourceSets in files that nothing renders are expanded too, unattached.
    const looseSets = this.fileObjects.filter((m) => isResourceSet(m.object) && !this.consumed.has(m.key));
    if (looseSets.length) {
      frontier = await this.expandResourceSets(looseSets.map((ks) => ({ ks, clusterId: UNATTACHED })));
      await runLevels();
    }
  }

  /**
   * Expands ResourceSets with `flux-operator build resourceset` and adds what they create to
   * the model, in the ResourceSet's cluster. Returns the Kustomizations among them, to render.
   * ResourceSets that create ResourceSets are expanded in turn, a few levels deep.
   */
  private async expandResourceSets(items: QueueItem[], depth = 0): Promise<QueueItem[]> {
    if (items.length === 0) return [];
    const runner = this.fluxOperator();
    const pool = (): ModelObject[] => [...this.objects, ...this.fileObjects];
    const results = await Promise.all(
      items.map(async ({ ks: rs, clusterId }) => {
        const inputs = resourceSetProviders(rs, pool(), this.config.inputs);
        const exp: ResourceSetExpansion = { resourceSet: rs, clusterId, tool: runner ? `flux-operator ${runner.tool.version}` : null, objects: [], inputSets: [], unresolved: inputs.unresolved, problems: [...inputs.problems] };
        this.expansions.push(exp);
        if (!runner) {
          exp.problems.unshift("the Flux Operator CLI is not available (build it with `npm run build:flux-operator`, which needs Go), so what this ResourceSet creates is not assessed");
          return { rs, clusterId, exp, built: [] };
        }
        if (!inputs.runnable) return { rs, clusterId, exp, built: [] };
        const built = [];
        const seen = new Set<string>();
        for (const providers of inputs.builds) {
          const r = await runner.buildResourceSet({ resourceSet: rs.object, providers });
          if (r.error !== null) {
            exp.problems.push(`flux-operator build resourceset failed: ${r.error}`);
            continue;
          }
          for (const o of r.objects) {
            const id = `${o.object.apiVersion.split("/")[0]}/${o.object.kind}/${o.object.metadata.namespace ?? ""}/${o.object.metadata.name}`;
            if (seen.has(id)) continue;
            seen.add(id);
            built.push(o);
          }
        }
        return { rs, clusterId, exp, built };
      }),
    );
    const next: QueueItem[] = [];
    const nested: QueueItem[] = [];
    for (const { rs, clusterId, exp, built } of results) {
      const rsLabel = `ResourceSet/${rs.object.metadata.namespace ?? "default"}/${rs.object.metadata.name}`;
      // Input keys in the order the ResourceSet (or its providers) write them.
      const keyOrder = [
        ...asArray(at(rs.object, "spec", "inputs")).flatMap((x) => Object.keys(asObject(x) ?? {})),
        ...this.objects.concat(this.fileObjects).filter((m) => m.object.kind === "ResourceSetInputProvider").flatMap((m) => Object.keys(asObject(at(m.object, "spec", "defaultValues")) ?? {})),
        ...Object.values(this.config.inputs).flatMap((sets) => sets.flatMap((x) => Object.keys(x))),
      ];
      // resourcesTemplate is one multi-document string: each object locates to the document it came from.
      const tmpl = asString(at(rs.object, "spec", "resourcesTemplate"));
      const docs = tmpl ? templateDocuments(tmpl) : [];
      built.forEach((e, i) => {
        const inputSet = inputSetLabel(e.inputs, keyOrder) ?? undefined;
        const template = e.template;
        const m: ModelObject = {
          key: `expand:${clusterId}|${rs.key}#${i}`,
          object: e.object,
          ref: refOf(e.object),
          origin: {
            kind: "rendered",
            ...(rs.origin.file ? { file: rs.origin.file } : {}),
            renderedBy: rsLabel,
            renderer: "flux-operator",
            resourceSet: rsLabel,
            ...(inputSet !== undefined ? { inputSet } : {}),
          },
          clusterId,
          locate: (p) => {
            const doc = template === null && docs.length ? templateDocumentOf(docs, e.object) : null;
            const start = doc ? rs.locate("/spec/resourcesTemplate") : null;
            // A block scalar's text starts on the line after its key, indented by two.
            if (doc && start) return { ...start, line: start.line + 1 + doc.line, column: start.column + 2 };
            const base = template ?? (tmpl !== undefined ? "/spec/resourcesTemplate" : "/spec");
            if (template !== null && p !== "" && getAt(getAt(rs.object, template) ?? null, p) !== undefined) return rs.locate(`${template}${p}`);
            return rs.locate(base);
          },
        };
        if (inputSet !== undefined && !exp.inputSets.includes(inputSet)) exp.inputSets.push(inputSet);
        exp.objects.push(m);
        this.objects.push(m);
        if (isFluxKustomization(m.object)) next.push({ ks: m, clusterId });
        if (isResourceSet(m.object)) nested.push({ ks: m, clusterId });
      });
      // What a ResourceSet would create (or create for unresolved inputs) is unseen: every row.
      const rsName = `ResourceSet ${rs.object.metadata.namespace ?? "default"}/${rs.object.metadata.name}`;
      const rsClusters = clustersOf(clusterId);
      if (exp.tool === null) markNotAssessed(this, { areas: "all", reason: "not-expanded", what: `${rsName} (the Flux Operator CLI is not available)`, file: rs.origin.file ?? null, ...rsClusters });
      for (const u of exp.unresolved) markNotAssessed(this, { areas: "all", reason: "provider-inputs", what: `${rsName}: inputs from ${u}`, file: rs.origin.file ?? null, ...rsClusters });
      for (const p of exp.problems.filter((x) => x.startsWith("flux-operator build resourceset failed"))) {
        markNotAssessed(this, { areas: "all", reason: "not-expanded", what: `${rsName} (${p})`, file: rs.origin.file ?? null, ...rsClusters });
      }
      this.renderNotes.push({
        reconciler: clusterId === UNATTACHED ? rsLabel : `${rsLabel} (cluster ${clusterId})`,
        file: rs.origin.file ?? null,
        method: exp.objects.length ? "flux-operator" : null,
        objects: exp.objects.length,
        problems: exp.problems,
      });
    }
    if (nested.length && depth < 4) next.push(...(await this.expandResourceSets(nested, depth + 1)));
    return next;
  }

  /**
   * The cluster a Kustomization's content goes to: its own, or the remote cluster its
   * `spec.kubeConfig` reaches (modelled as a cluster of its own, never merged into the hub).
   */
  private targetOf(item: QueueItem): string {
    const remote = kubeConfigTarget(item.ks.object, item.clusterId);
    if (!remote) return item.clusterId;
    let r = this.remotes.get(remote.clusterId);
    if (!r) {
      r = { hub: item.clusterId, via: [] };
      this.remotes.set(remote.clusterId, r);
    }
    const label = ksLabel(item.ks);
    if (!r.via.includes(label)) r.via.push(label);
    const sa = str(item.ks.object, "spec", "serviceAccountName");
    markNotAssessed(this, {
      areas: sa ? ["developer-pushes-cluster-role-binding"] : ["developer-pushes-cluster-role-binding", "flux-sa-privilege-escalation"],
      reason: "remote-cluster",
      what: sa
        ? `remote cluster ${remote.clusterId}: ${label} impersonates ${item.ks.object.metadata.namespace ?? "default"}/${sa} there; that cluster's RBAC is only what this repository applies to it`
        : `remote cluster ${remote.clusterId}: ${label} applies there as the identity in ${remote.kind} ${remote.namespace}/${remote.name}, whose privileges are not in the repository`,
      file: item.ks.origin.file ?? null,
      clusters: [remote.clusterId],
    });
    return remote.clusterId;
  }

  /**
   * A Kustomization whose content was not seen: every posture row of the cluster it applies to
   * (its own, or the remote cluster its `spec.kubeConfig` reaches) depends on what it would apply.
   */
  private markUnrendered(item: QueueItem, problem: string): void {
    const ks = item.ks;
    const unmapped = /is not this repository|not generated from sources that are|generated from sources that are not/.test(problem);
    const target = kubeConfigTarget(ks.object, item.clusterId)?.clusterId ?? item.clusterId;
    markNotAssessed(this, {
      areas: "all",
      reason: unmapped ? "unmapped-source" : "not-rendered",
      what: `${ksLabel(ks)} (${problem.split("; ")[0]})`,
      file: ks.origin.file ?? null,
      ...clustersOf(target),
    });
  }

  /**
   * `flux bootstrap` writes clusters/<name>/flux-system/{gotk-components,gotk-sync}.yaml. When
   * the sync file is missing or empty, the flux-system kustomization still tells us where a
   * cluster's entrypoint is: its parent directory, synced from GitRepository flux-system.
   */
  private findBootstrapDirs(): void {
    for (const [abs, kf] of this.kustomizeByAbs) {
      const resources = asArray(kf.config["resources"]);
      if (!resources.some((r) => typeof r === "string" && /(^|\/)gotk-components\.ya?ml$/.test(r))) continue;
      const dir = dirname(abs);
      const clusterDir = basename(dir) === "flux-system" ? dirname(dir) : dir;
      const covered = this.entrypoints.some((e) => isInside(resolve(this.root, str(e.ks.object, "spec", "path") ?? "."), dir));
      if (covered || !isInside(this.root, clusterDir)) continue;
      const rel = toRel(this.root, clusterDir) || ".";
      const anchor: ModelObject = {
        key: `bootstrap:${kf.file}`,
        object: { apiVersion: "kustomize.config.k8s.io/v1beta1", kind: "Kustomization", metadata: { name: "flux-system" } },
        ref: { apiVersion: "kustomize.config.k8s.io/v1beta1", kind: "Kustomization", name: "flux-system", namespace: null },
        origin: { kind: "file", file: kf.file },
        clusterId: null,
        locate: kf.locate,
      };
      const ks = this.synth(
        {
          apiVersion: `${GROUP.kustomize}/v1`,
          kind: "Kustomization",
          metadata: { name: "flux-system", namespace: "flux-system" },
          spec: { interval: "10m", path: `./${rel}`, prune: true, sourceRef: { kind: "GitRepository", name: "flux-system" } },
        },
        anchor,
        () => "",
        `bootstrap-kustomization:${kf.file}`,
      );
      this.selfSources.add("GitRepository/flux-system/flux-system");
      const sa = lockdownPatches(asArray(kf.config["patches"])).kustomizationServiceAccount;
      if (sa) (ks.object["spec"] as JsonObject)["serviceAccountName"] = sa;
      this.addEntrypoint(ks, rel);
      this.bootstrapFiles.set(ks.key, kf);
    }
  }

  private addEntrypoint(ks: ModelObject, id: string): void {
    // The same Kustomization declared twice for the same path (duplicated documents) is one
    // entrypoint: Flux holds one object per name, and a cluster per copy would cost quadratic time.
    if (this.entrypoints.some((e) => ksKey(e.ks) === ksKey(ks) && (e.clusterId === id || e.clusterId.startsWith(`${id}#`)) && str(e.ks.object, "spec", "path") === str(ks.object, "spec", "path"))) return;
    let cid = id;
    let n = 2;
    while (this.clusterIds.includes(cid)) cid = `${id}#${n++}`;
    this.clusterIds.push(cid);
    this.entrypoints.push({ ks, clusterId: cid });
  }

  /** FluxInstance objects, and HelmReleases of the flux-instance chart (values.instance). */
  private findFluxInstances(): void {
    for (const m of this.fileObjects) {
      let inst: ModelObject | null = null;
      if (isFluxInstance(m.object)) inst = m;
      else if (isHelmRelease(m.object) && isFluxInstanceChart(m.object)) {
        // The chart's values: valuesFrom in order, then spec.values on top (Helm's merge).
        const layers = this.helmValueLayers(m);
        const instance = layers.reduce<JsonObject | null>((acc, l) => {
          const v = asObject(l.values["instance"]);
          return v ? deepMerge(acc ?? {}, v) : acc;
        }, null);
        if (!instance) continue;
        const obj: K8sObject = {
          apiVersion: `${GROUP.operator}/v1`,
          kind: "FluxInstance",
          metadata: { name: "flux", namespace: m.object.metadata.namespace ?? "flux-system" },
          spec: instance,
        };
        inst = this.synth(obj, m, (p) => (p.startsWith("/spec") ? `/spec/values/instance${p.slice(5)}` : p), `fluxinstance-from:${m.key}`);
        // Point into the layer that set the value (a values file of a configMapGenerator, say).
        inst.locate = (p) => {
          const vp = p.startsWith("/spec") ? `/instance${p.slice(5)}` : "/instance";
          for (const l of [...layers].reverse()) if (getAt(l.values, vp) !== undefined) return l.locate(vp);
          const top = layers[layers.length - 1];
          return top ? top.locate("/instance") : m.locate("/spec/values");
        };
      }
      if (!inst) continue;
      const record = { inst, sync: [] as ModelObject[] };
      this.instances.push(record);
      const sync = asObject(at(inst.object, "spec", "sync"));
      const url = asString(sync?.["url"]);
      if (!sync || !url) continue;
      const ns = inst.object.metadata.namespace ?? "flux-system";
      const name = asString(sync["name"]) ?? ns;
      const kind = asString(sync["kind"]) ?? "GitRepository";
      // The sync source is this repository, unless .fluxguard.yaml maps its URL elsewhere (an
      // artifact CI builds from a subdirectory, say); an OCI artifact whose sync path exists
      // only under one subdirectory was pushed from that subdirectory.
      const mapped = Object.entries(this.config.sources).find(([u]) => normalizeUrl(u) === normalizeUrl(url));
      const artifactRoot = !mapped && kind === "OCIRepository" ? this.artifactRootFor(asString(sync["path"]) ?? ".") : null;
      if (artifactRoot) this.sourceRoots.set(`${kind}/${ns}/${name}`, artifactRoot);
      else if (!mapped) this.selfUrls.add(normalizeUrl(url));
      const ref = asString(sync["ref"]) ?? "";
      const srcSpec: JsonObject = { url, interval: asString(sync["interval"]) ?? "1m" };
      if (kind === "GitRepository") srcSpec["ref"] = ref.startsWith("refs/") ? { name: ref } : { branch: ref };
      else if (kind === "OCIRepository") srcSpec["ref"] = { tag: ref };
      if (asString(sync["pullSecret"])) srcSpec["secretRef"] = { name: asString(sync["pullSecret"])! };
      const source = this.synth(
        { apiVersion: `${GROUP.source}/v1`, kind, metadata: { name, namespace: ns }, spec: srcSpec },
        inst,
        (p) => (p === "/spec/url" ? "/spec/sync/url" : "/spec/sync"),
        `sync-source:${inst.key}`,
      );
      if (!mapped && !artifactRoot) this.selfSources.add(`${kind}/${ns}/${name}`);
      const ks = this.synth(
        {
          apiVersion: `${GROUP.kustomize}/v1`,
          kind: "Kustomization",
          metadata: { name, namespace: ns },
          spec: { interval: "10m", path: asString(sync["path"]) ?? ".", prune: true, sourceRef: { kind, name } },
        },
        inst,
        (p) => (p === "/spec/path" ? "/spec/sync/path" : "/spec/sync"),
        `sync-kustomization:${inst.key}`,
      );
      record.sync.push(source, ks);
      this.addEntrypoint(ks, normalizePath(asString(sync["path"]) ?? "."));
      this.instanceCluster.set(inst.key, this.clusterIds[this.clusterIds.length - 1]!);
    }
  }

  /**
   * Renders every FluxInstance with `flux-operator build instance` (src/loader/flux-operator.ts):
   * the controllers' Deployments and RBAC are kept for the cluster (buildCluster reads the
   * lockdown from the rendered arguments), and the synthesized sync source and Kustomization
   * take the spec the operator renders (its profiles and `spec.kustomize.patches` applied).
   * When the build cannot run, the instance's patches are applied to the sync objects by
   * kustomize, the controllers' arguments are inferred from `spec.cluster`, and the posture
   * rows that depend on them say so (not assessed).
   */
  private async renderFluxInstances(): Promise<void> {
    for (const { inst, sync } of this.instances) {
      const runner = this.fluxOperator();
      const res = runner ? await runner.buildInstance(inst.object) : { objects: [], error: "the Flux Operator CLI is not available" };
      const name = `FluxInstance ${inst.object.metadata.namespace ?? "flux-system"}/${inst.object.metadata.name}`;
      const patchesAt = (p: string): SourceLocation | null => inst.locate("/spec/kustomize/patches") ?? inst.locate(p);
      this.instanceOutcomes.push({ instance: inst, tool: res.error === null && runner ? `flux-operator ${runner.tool.version}` : null, problem: res.error });
      if (res.error === null) {
        const id = `FluxInstance/${inst.object.metadata.namespace ?? "flux-system"}/${inst.object.metadata.name}`;
        const rendered = res.objects.map((o, i): ModelObject => ({
          key: `flux-instance:${inst.key}#${i}`,
          object: o,
          ref: refOf(o),
          origin: { kind: "synthesized", renderer: "flux-operator", renderedBy: id, ...(inst.origin.file ? { file: inst.origin.file } : {}) },
          clusterId: null,
          // A rendered object has no line of its own: its arguments come from spec.cluster, or from the patches.
          locate: () => inst.locate("/spec/cluster") ?? inst.locate("/spec"),
        }));
        this.instanceBuilds.set(instanceKey(inst), rendered);
        for (const m of sync) {
          const r = res.objects.find((o) => o.kind === m.object.kind && o.metadata.name === m.object.metadata.name && (o.metadata.namespace ?? "") === (m.object.metadata.namespace ?? ""));
          if (r) this.takeSpec(m, r, patchesAt);
        }
        continue;
      }
      markNotAssessed(this, {
        areas: ["flux-sa-privilege-escalation", "developer-pushes-cluster-role-binding"],
        reason: "not-rendered",
        what: `${name}: controller arguments inferred from spec.cluster (flux-operator build instance: ${res.error})`,
        file: inst.origin.file ?? null,
        ...clustersOf(this.instanceCluster.get(inst.key)),
      });
      const patches = asArray(at(inst.object, "spec", "kustomize", "patches"));
      if (patches.length === 0 || sync.length === 0) continue;
      // The operator applies spec.kustomize.patches to everything it renders; kustomize applies them to the sync objects.
      const out = await this.renderer.buildScratch({
        "sync.yaml": sync.map((m) => `---
${JSON.stringify(m.object)}
`).join(""),
        "kustomization.yaml": JSON.stringify({ apiVersion: "kustomize.config.k8s.io/v1beta1", kind: "Kustomization", resources: ["sync.yaml"], patches }),
      });
      if (out === null || "error" in out) {
        markNotAssessed(this, { areas: ["malicious-commit"], reason: "not-rendered", what: `${name}: spec.kustomize.patches on the sync objects (${out === null ? "no kustomize" : out.error})`, file: inst.origin.file ?? null, ...clustersOf(this.instanceCluster.get(inst.key)) });
        continue;
      }
      for (const m of sync) {
        const r = (out.objects as K8sObject[]).find((o) => o && o.kind === m.object.kind && o.metadata?.name === m.object.metadata.name);
        if (r) this.takeSpec(m, r, patchesAt);
      }
    }
  }

  /** A synthesized sync object takes a rendered spec; a field it did not have before locates to the patches. */
  private takeSpec(m: ModelObject, rendered: K8sObject, patchesAt: (p: string) => SourceLocation | null): void {
    const before = m.object;
    const locate = m.locate;
    m.object = { ...before, spec: rendered["spec"] } as K8sObject;
    m.locate = (p) => (getAt(before as unknown as JsonObject, p) !== undefined ? locate(p) : patchesAt(p));
  }

  /**
   * A HelmRelease's values, lowest precedence first: each `valuesFrom` ConfigMap (a ConfigMap
   * in the repository, or one a kustomize `configMapGenerator` makes from a file), then
   * `spec.values`. Each layer locates into the file that holds it.
   */
  private helmValueLayers(hr: ModelObject): Array<{ values: JsonObject; locate: (p: string) => SourceLocation | null }> {
    const layers: Array<{ values: JsonObject; locate: (p: string) => SourceLocation | null }> = [];
    for (const [i, ref] of asArray(at(hr.object, "spec", "valuesFrom")).entries()) {
      const r = asObject(ref) ?? {};
      if (asString(r["kind"]) !== "ConfigMap") continue;
      const name = asString(r["name"]);
      const key = asString(r["valuesKey"]) ?? "values.yaml";
      if (!name) continue;
      const layer = this.generatedValues(name, key, hr) ?? this.configMapValues(name, key, hr);
      if (layer) layers.push(layer);
      else void i;
    }
    const inline = asObject(at(hr.object, "spec", "values"));
    if (inline) layers.push({ values: inline, locate: (p) => hr.locate(`/spec/values${p}`) });
    return layers;
  }

  /** Values from a configMapGenerator's file entry `key=path` (or `path`, keyed by its base name). */
  private generatedValues(name: string, key: string, near: ModelObject): { values: JsonObject; locate: (p: string) => SourceLocation | null } | null {
    const nearDir = near.origin.file ? dirname(resolve(this.root, near.origin.file)) : this.root;
    const gens = [...this.kustomizeByAbs.entries()].sort(([a], [b]) => Number(dirname(b) === nearDir) - Number(dirname(a) === nearDir));
    for (const [abs, kf] of gens) {
      for (const g of asArray(kf.config["configMapGenerator"])) {
        const go = asObject(g) ?? {};
        if (asString(go["name"]) !== name) continue;
        for (const f of asArray(go["files"])) {
          if (typeof f !== "string") continue;
          const eq = f.indexOf("=");
          const fileKey = eq >= 0 ? f.slice(0, eq) : basename(f);
          const ref = eq >= 0 ? f.slice(eq + 1) : f;
          if (fileKey !== key) continue;
          const text = kf.readInput?.(ref) ?? null;
          if (text === null) continue;
          const rel = toRel(this.root, resolve(dirname(abs), ref));
          const doc = parseYamlFile(rel, text).documents[0];
          const values = asObject(doc?.value ?? null);
          if (doc && values) return { values, locate: (p) => doc.locate(p) };
        }
      }
    }
    return null;
  }

  /** Values from a ConfigMap in the repository (`data[key]`, YAML). */
  private configMapValues(name: string, key: string, near: ModelObject): { values: JsonObject; locate: (p: string) => SourceLocation | null } | null {
    const ns = near.object.metadata.namespace;
    const cm = this.fileObjects.find((o) => o.object.kind === "ConfigMap" && o.object.metadata.name === name && (o.object.metadata.namespace ?? ns) === ns);
    const text = cm ? asString(asObject(cm.object["data"] as JsonValue)?.[key]) : undefined;
    if (!cm || text === undefined) return null;
    const doc = parseYamlFile(cm.origin.file ?? "", text).documents[0];
    const values = asObject(doc?.value ?? null);
    return values ? { values, locate: () => cm.locate(pointer("data", key)) } : null;
  }

  private synth(obj: K8sObject, from: ModelObject, mapPointer: (p: string) => string, key: string): ModelObject {
    const m: ModelObject = {
      key: `synth:${key}`,
      object: obj,
      ref: refOf(obj),
      origin: { kind: "synthesized", ...(from.origin.file ? { file: from.origin.file } : {}) },
      clusterId: null,
      locate: (p) => from.locate(mapPointer(p)),
    };
    this.synthesized.push(m);
    return m;
  }

  private sourceRefOf(ks: ModelObject): string | null {
    const kind = str(ks.object, "spec", "sourceRef", "kind");
    const name = str(ks.object, "spec", "sourceRef", "name");
    if (!kind || !name) return null;
    const ns = str(ks.object, "spec", "sourceRef", "namespace") ?? ks.object.metadata.namespace ?? "default";
    return `${kind}/${ns}/${name}`;
  }

  private findSource(ks: ModelObject): ModelObject | undefined {
    const key = this.sourceRefOf(ks);
    if (!key) return undefined;
    const pool = [...this.objects, ...this.synthesized, ...this.fileObjects];
    return pool.find((m) => m.object.apiVersion.startsWith(`${GROUP.source}/`) && `${m.object.kind}/${m.object.metadata.namespace ?? "default"}/${m.object.metadata.name}` === key);
  }

  /** source-watcher's ArtifactGenerator for an ExternalArtifact of that name, if any. */
  private artifactGenerator(ks: ModelObject): { gen: ModelObject; artifact: JsonObject } | null {
    if (str(ks.object, "spec", "sourceRef", "kind") !== "ExternalArtifact") return null;
    const name = str(ks.object, "spec", "sourceRef", "name");
    const ns = str(ks.object, "spec", "sourceRef", "namespace") ?? ks.object.metadata.namespace;
    const pool = [...this.objects, ...this.fileObjects].filter((m) => m.object.kind === "ArtifactGenerator");
    pool.sort((a, b) => Number(b.clusterId === ks.clusterId) - Number(a.clusterId === ks.clusterId));
    for (const m of pool) {
      if ((m.object.metadata.namespace ?? ns) !== ns) continue;
      const artifact = asArray(at(m.object, "spec", "artifacts")).map(asObject).find((a) => a && asString(a["name"]) === name);
      if (artifact) return { gen: m, artifact };
    }
    return null;
  }

  /**
   * Maps a Kustomization's path inside an ExternalArtifact back to the repository layout
   * through the ArtifactGenerator's copy rules; other sources keep their path.
   */
  private artifactPath(ks: ModelObject, p: string): string | null {
    const ag = this.artifactGenerator(ks);
    if (!ag) return p;
    const want = `${normalizePath(p)}/`.replace(/^\.\//, "");
    for (const c of asArray(ag.artifact["copy"])) {
      const from = asString(asObject(c)?.["from"]);
      const to = asString(asObject(c)?.["to"]);
      if (!from || !to) continue;
      const toRelPath = to.replace(/^@artifact\/?/, "");
      const fromDir = from.replace(/^@[^/]+\/?/, "").replace(/\*\*.*$/, "").replace(/\*.*$/, "");
      if (want === "./" || want === "/") return fromDir || ".";
      if (want.startsWith(toRelPath)) return `${fromDir}${want.slice(toRelPath.length)}` || ".";
    }
    return null;
  }

  /**
   * Where an OCI artifact with this sync path was pushed from: the root when the path exists
   * there, else the one subdirectory that holds it (null when none or several do).
   */
  private artifactRootFor(syncPath: string): string | null {
    const p = normalizePath(syncPath);
    if (p === "." || existsSync(resolve(this.root, p))) return null;
    const prefixes = new Set<string>();
    for (const abs of this.files.keys()) {
      const dir = dirname(abs);
      const i = `${dir}/`.lastIndexOf(`/${p}/`);
      if (i < 0) continue;
      const prefix = dir.slice(0, i);
      if (isInside(this.root, prefix) && prefix !== this.root) prefixes.add(prefix);
    }
    return prefixes.size === 1 ? [...prefixes][0]! : null;
  }

  /** The local directory a Kustomization's source maps to, or why there is none. */
  private sourceRootFor(ks: ModelObject): string | { problem: string } {
    const key = this.sourceRefOf(ks);
    if (!key) return { problem: "spec.sourceRef is missing" };
    const artifact = this.sourceRoots.get(key);
    if (artifact) return artifact;
    if (this.selfSources.has(key)) return this.root;
    const ag = this.artifactGenerator(ks);
    if (ag) {
      const ns = ag.gen.object.metadata.namespace ?? "default";
      const aliases = asArray(at(ag.gen.object, "spec", "sources")).map(asObject);
      const selfAlias = aliases.some((a) => a && this.selfSources.has(`${asString(a["kind"]) ?? "GitRepository"}/${asString(a["namespace"]) ?? ns}/${asString(a["name"]) ?? ""}`));
      if (selfAlias || this.fallbackSelf) return this.root;
      return { problem: `ExternalArtifact ${key} is generated from sources that are not this repository` };
    }
    const src = this.findSource(ks);
    const url = src ? str(src.object, "spec", "url") : undefined;
    if (url) {
      const n = normalizeUrl(url);
      if (this.selfUrls.has(n)) return this.root;
      for (const [u, dir] of Object.entries(this.config.sources)) if (normalizeUrl(u) === n) return dir;
      if (this.fallbackSelf && key.endsWith("/flux-system")) return this.root;
      return { problem: `source ${key} (${url}) is not this repository; map it to a local directory under 'sources' in .fluxguard.yaml to render it` };
    }
    if (this.fallbackSelf && (key.endsWith("/flux-system") || !src)) return this.root;
    return { problem: src ? `source ${key} has no URL fluxguard can map` : `source ${key} is not defined in the repository` };
  }

  /** Turns rendered documents into model objects linked to their source lines. */
  private adopt(item: QueueItem, target: string, docs: RenderedDoc[], renderer: "kustomize" | "flux-generated" | "builtin"): ModelObject[] {
    const out: ModelObject[] = [];
    const vars = this.substitutions(item);
    docs.forEach((d, i) => {
      const bad = malformedObject(d.value) ?? (isK8sObject(d.value as unknown as JsonValue) ? null : "not a valid Kubernetes object: apiVersion, kind and metadata.name must be strings");
      if (bad) {
        const file = d.originFile && isInside(this.root, d.originFile) ? toRel(this.root, d.originFile) : (item.ks.origin.file ?? ksLabel(item.ks));
        this.unassessed.push({ file, reason: `rendered by ${ksLabel(item.ks)}: ${bad}` });
        return;
      }
      let obj = withCommonMetadata(d.value, item.ks);
      if (vars && obj.metadata.annotations?.["kustomize.toolkit.fluxcd.io/substitute"] !== "disabled") {
        obj = substitute(obj as unknown as JsonValue, vars) as unknown as K8sObject;
      }
      const src = d.originFile ? this.matchSource(d.originFile, obj) : null;
      if (src) this.consumed.add(src.key);
      const patchedBy = d.patchedBy.map((p) => (p === "flux" ? "flux" : toRel(this.root, p)));
      const ks = item.ks;
      const m: ModelObject = {
        key: `render:${item.clusterId}|${ksKey(ks)}#${i}`,
        object: obj,
        ref: refOf(obj),
        origin: {
          kind: "rendered",
          ...(src?.origin.file ? { file: src.origin.file } : d.originFile && isInside(this.root, d.originFile) ? { file: toRel(this.root, d.originFile) } : {}),
          renderedBy: ksLabel(ks),
          renderer,
          ...(patchedBy.length ? { patchedBy } : {}),
        },
        clusterId: target,
        locate: (p) => this.locateRendered(p, src, d.patchedBy, ks, d.value),
        patchOf: (p) => this.patchOfRendered(p, src, d.patchedBy, ks, d.value),
      };
      out.push(m);
      this.objects.push(m);
    });
    return out;
  }

  /**
   * `spec.postBuild` variables as kustomize-controller reads them: `substituteFrom` ConfigMaps
   * and Secrets in the Kustomization's namespace ON ITS OWN CLUSTER (each cluster's values, never
   * another cluster's), in order, later ones winning; then `substitute`, which wins over all.
   * SOPS-encrypted Secrets give no values (they are ciphertext in Git).
   */
  private substitutions(item: QueueItem): Record<string, string> | null {
    const ks = item.ks;
    const pb = asObject(at(ks.object, "spec", "postBuild"));
    if (!pb) return null;
    const vars: Record<string, string> = {};
    const ns = ks.object.metadata.namespace ?? "default";
    for (const from of asArray(pb["substituteFrom"])) {
      const f = asObject(from) ?? {};
      const kind = asString(f["kind"]);
      const name = asString(f["name"]);
      const holder = this.objects.find((o) => o.clusterId === item.clusterId && o.object.kind === kind && o.object.apiVersion === "v1" && o.object.metadata.name === name && (o.object.metadata.namespace ?? ns) === ns);
      if (!holder) continue;
      if (kind === "ConfigMap") {
        for (const [k, v] of Object.entries(asObject(holder.object["data"] as JsonValue) ?? {})) if (typeof v === "string") vars[k] = v;
      } else if (kind === "Secret" && holder.object["sops"] === undefined) {
        for (const [k, v] of Object.entries(asObject(holder.object["data"] as JsonValue) ?? {})) if (typeof v === "string") vars[k] = Buffer.from(v, "base64").toString("utf8");
        for (const [k, v] of Object.entries(asObject(holder.object["stringData"] as JsonValue) ?? {})) if (typeof v === "string") vars[k] = v;
      }
    }
    for (const [k, v] of Object.entries(asObject(pb["substitute"]) ?? {})) vars[k] = typeof v === "string" ? v : JSON.stringify(v);
    return vars;
  }

  private matchSource(fileAbs: string, obj: K8sObject): ModelObject | null {
    const entry = this.files.get(fileAbs);
    if (!entry) return null;
    const sameKind = entry.objects.filter((o) => o.object.kind === obj.kind);
    if (sameKind.length === 0) return null;
    const exact = sameKind.find((o) => o.object.metadata.name === obj.metadata.name);
    if (exact) return exact;
    const contained = sameKind.filter((o) => obj.metadata.name.includes(o.object.metadata.name)).sort((a, b) => b.object.metadata.name.length - a.object.metadata.name.length);
    return contained[0] ?? (sameKind.length === 1 ? sameKind[0]! : null);
  }

  /**
   * Where a finding about a rendered object points: the object's own file and line (the
   * nearest existing ancestor when a patch added the field). A parent Kustomization's
   * `spec.patches` never moves it (the message names that patch, {@link patchOfRendered}); a
   * kustomize patch in the object's own overlay that set the field is where the field is
   * written, so the finding points there. Objects with no source file (generated) point at
   * their generator's input, else at the patch, else at the Kustomization's path.
   */
  private locateRendered(p: string, src: ModelObject | null, patchedBy: string[], ks: ModelObject, obj: K8sObject): SourceLocation | null {
    if (src) {
      const patch = this.changedBy(p, src, patchedBy, ks, obj);
      return patch && !patch.flux ? patch.at : src.locate(p);
    }
    const gen = this.generatorLocate(obj, p);
    if (gen) return gen;
    return this.patchLocation(p, patchedBy, ks, obj)?.at ?? ks.locate("/spec/path");
  }

  /** The Flux `spec.patches` entry that set the field at `p`, when one did (for the finding's message). */
  private patchOfRendered(p: string, src: ModelObject | null, patchedBy: string[], ks: ModelObject, obj: K8sObject): SourceLocation | null {
    const patch = src ? this.changedBy(p, src, patchedBy, ks, obj) : null;
    return patch?.flux ? patch.at : null;
  }

  /**
   * The patch that changed the field at `p`, when one did: the value differs from the object's
   * source and is not merely a map whose members changed (those are named at the member's own
   * pointer).
   */
  private changedBy(p: string, src: ModelObject, patchedBy: string[], ks: ModelObject, obj: K8sObject): { at: SourceLocation; flux: boolean } | null {
    if (patchedBy.length === 0) return null;
    const before = getAt(src.object, p);
    const after = getAt(obj, p);
    const isMap = (v: unknown): boolean => v !== null && typeof v === "object" && !Array.isArray(v);
    if (JSON.stringify(before) === JSON.stringify(after) || (isMap(before) && isMap(after))) return null;
    return this.patchLocation(p, patchedBy, ks, obj);
  }

  /**
   * A generated ConfigMap or Secret (configMapGenerator/secretGenerator): `/data/<key>` points
   * at the file the key was read from, and `/data/<key>/<pointer>` into that file when it is
   * YAML (a Helm values file); other pointers at the generator entry.
   */
  private generatorLocate(obj: K8sObject, p: string): SourceLocation | null {
    const field = obj.kind === "ConfigMap" ? "configMapGenerator" : obj.kind === "Secret" ? "secretGenerator" : null;
    if (!field || obj.apiVersion !== "v1") return null;
    const name = obj.metadata.name;
    const candidates: Array<{ kf: KustomizeFile; abs: string; i: number; gen: JsonObject; exact: boolean }> = [];
    for (const [abs, kf] of this.kustomizeByAbs) {
      asArray(kf.config[field]).forEach((g, i) => {
        const gen = asObject(g);
        const gname = asString(gen?.["name"]);
        if (!gen || !gname) return;
        const exact = name === gname || new RegExp(`^${gname.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}-[a-z0-9]{10}$`).test(name);
        if (exact || name.includes(gname)) candidates.push({ kf, abs, i, gen, exact });
      });
    }
    candidates.sort((a, b) => Number(b.exact) - Number(a.exact) || a.kf.file.localeCompare(b.kf.file));
    const c = candidates[0];
    if (!c) return null;
    const parts = p.split("/").slice(1).map((t) => t.replace(/~1/g, "/").replace(/~0/g, "~"));
    if ((parts[0] === "data" || parts[0] === "stringData") && parts[1] !== undefined) {
      for (const [j, f] of asArray(c.gen["files"]).entries()) {
        if (typeof f !== "string") continue;
        const eq = f.indexOf("=");
        const key = eq >= 0 ? f.slice(0, eq) : basename(f);
        if (key !== parts[1]) continue;
        const entry = this.files.get(resolve(dirname(c.abs), eq >= 0 ? f.slice(eq + 1) : f));
        const doc = entry?.docs[0];
        if (entry && doc) return parts.length > 2 ? doc.locate(pointer(...parts.slice(2))) : { file: entry.rel, line: 1, column: 1 };
        return c.kf.locate(pointer(field, c.i, "files", j));
      }
    }
    return c.kf.locate(pointer(field, c.i));
  }

  private patchLocation(p: string, patchedBy: string[], ks: ModelObject, obj: K8sObject): { at: SourceLocation; flux: boolean } | null {
    for (const pb of patchedBy) {
      if (pb === "flux") {
        const patches = asArray(at(ks.object, "spec", "patches"));
        const i = patches.findIndex((x) => typeof asObject(x)?.["patch"] === "string" && patchTouches(asString(asObject(x)!["patch"])!, p));
        const where = i >= 0 ? pointer("spec", "patches", i, "patch") : "/spec/patches";
        // A patch a parent's patch gave this Kustomization is located at the parent's patch.
        const start = ks.patchOf?.(where) ?? ks.locate(where);
        const text = i >= 0 ? asString(asObject(patches[i])?.["patch"]) : undefined;
        const line = start && text && !ks.patchOf?.(where) ? (lineInBlock(start, text, p) ?? start) : start;
        return line ? { at: line, flux: true } : null;
      }
      const kf = this.kustomizeByAbs.get(pb);
      if (!kf) continue;
      const patches = asArray(kf.config["patches"]);
      for (let i = 0; i < patches.length; i++) {
        const po = asObject(patches[i]) ?? {};
        const file = asString(po["path"]);
        if (file) {
          const entry = this.files.get(resolve(dirname(pb), file));
          const doc = entry?.docs.find((d) => {
            const v = d.value as JsonObject | null;
            return v && str(v, "kind") === obj.kind && getAt(v, p) !== undefined;
          });
          if (doc) return { at: doc.locate(p), flux: false };
        } else if (typeof po["patch"] === "string" && patchTouches(po["patch"], p)) return { at: kf.locate(pointer("patches", i, "patch")), flux: false };
      }
      for (const [i, f] of asArray(kf.config["patchesStrategicMerge"]).entries()) {
        if (typeof f !== "string") continue;
        const entry = this.files.get(resolve(dirname(pb), f));
        const doc = entry?.docs.find((d) => getAt(d.value, p) !== undefined && str(d.value, "kind") === obj.kind);
        if (doc) return { at: doc.locate(p), flux: false };
        void i;
      }
    }
    return null;
  }

  finish(kustomizeFiles: KustomizeFile[]): FleetModel {
    const unconsumed = this.fileObjects.filter((m) => !this.consumed.has(m.key));
    // A FluxInstance belongs to the cluster its sync defines, even when nothing renders it.
    for (const m of unconsumed) m.clusterId = this.instanceCluster.get(m.key) ?? UNATTACHED;
    const effective = [...this.objects, ...unconsumed, ...this.synthesized.filter((s) => !this.consumed.has(s.key))];
    // Assign synthesized objects to the cluster of their entrypoint.
    for (const e of this.entrypoints) if (e.ks.origin.kind === "synthesized") e.ks.clusterId = e.clusterId;
    for (const s of this.synthesized) {
      if (s.clusterId === null) {
        const e = this.entrypoints.find((x) => x.ks.origin.file === s.origin.file && x.ks.origin.kind === "synthesized");
        s.clusterId = e ? e.clusterId : UNATTACHED;
      }
    }
    const ids = [...this.entrypoints.map((e) => e.clusterId), ...[...this.remotes.keys()].sort()];
    if (effective.some((m) => m.clusterId === UNATTACHED)) ids.push(UNATTACHED);
    const clusters: FluxCluster[] = ids.map((id) => this.cluster(id, effective.filter((m) => m.clusterId === id)));
    const reconcilers = clusters.flatMap((c) => c.reconcilers);
    return {
      mode: "files",
      root: this.root,
      objects: effective,
      fileObjects: this.fileObjects,
      kustomizeFiles,
      clusters,
      reconcilers,
      renderNotes: this.renderNotes,
      resourceSets: this.expansions,
      ...(this.instanceOutcomes.length ? { fluxInstances: this.instanceOutcomes } : {}),
      platform: { namespaces: this.config.platform.namespaces, serviceAccounts: this.config.platform.serviceAccounts },
      notAssessed: this.notAssessed,
    };
  }

  private cluster(id: string, objects: ModelObject[]): FluxCluster {
    const entry = this.entrypoints.find((e) => e.clusterId === id)?.ks ?? null;
    const bootstrap = entry ? this.bootstrapFiles.get(entry.key) : undefined;
    const inst = objects.find((m) => isFluxInstance(m.object));
    const rendered = inst ? this.instanceBuilds.get(instanceKey(inst)) : undefined;
    for (const m of rendered ?? []) m.clusterId = id;
    return buildCluster({
      id,
      objects,
      ...(rendered ? { instanceBuild: rendered } : {}),
      entrypoint: entry,
      config: this.config,
      ...(bootstrap ? { patchFlags: lockdownPatches(asArray(bootstrap.config["patches"])).flags } : {}),
      render: (m: ModelObject) => this.renders.get(`${id}|${ksKey(m)}`),
      synthesizeDefaultBinding: true,
      headerOf: (file) => this.files.get(resolve(this.root, file))?.head ?? null,
      ...(this.remotes.has(id) ? { remote: { hub: this.remotes.get(id)!.hub, via: [...this.remotes.get(id)!.via].sort() } } : {}),
    });
  }
}

/**
 * A FluxInstance by name and file: the copy a Kustomization renders from a file is the same
 * instance as the file's own object (a build is stored once and found from either).
 */
function instanceKey(m: ModelObject): string {
  return `${m.object.metadata.namespace ?? "flux-system"}/${m.object.metadata.name}@${m.origin.file ?? m.key}`;
}

/** Helm's values merge: maps merge key by key, anything else is replaced. */
function deepMerge(base: JsonObject, over: JsonObject): JsonObject {
  const out: JsonObject = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = asObject(out[k]);
    const o = asObject(v);
    out[k] = b && o ? deepMerge(b, o) : v;
  }
  return out;
}

function isFluxInstanceChart(o: K8sObject): boolean {
  const refName = str(o, "spec", "chartRef", "name");
  const chart = str(o, "spec", "chart", "spec", "chart");
  return refName === "flux-instance" || chart === "flux-instance" || (chart ?? "").endsWith("/flux-instance");
}

/** Flux's `spec.commonMetadata`: labels and annotations on every applied object. */
function withCommonMetadata(o: K8sObject, ks: ModelObject): K8sObject {
  const cm = asObject(at(ks.object, "spec", "commonMetadata"));
  if (!cm) return o;
  const labels = asObject(cm["labels"]);
  const annotations = asObject(cm["annotations"]);
  const md = { ...o.metadata };
  if (labels) md.labels = { ...(md.labels ?? {}), ...(labels as Record<string, string>) };
  if (annotations) md.annotations = { ...(md.annotations ?? {}), ...(annotations as Record<string, string>) };
  return { ...o, metadata: md };
}

function noteLabel(item: QueueItem): string {
  return item.clusterId === UNATTACHED ? ksLabel(item.ks) : `${ksLabel(item.ks)} (cluster ${item.clusterId})`;
}

function ksKey(m: ModelObject): string {
  return `${m.object.metadata.namespace ?? "default"}/${m.object.metadata.name}`;
}

export function ksLabel(m: ModelObject): string {
  return `Kustomization/${m.object.metadata.namespace ?? "default"}/${m.object.metadata.name}`;
}

export { normalizePath };

export function normalizeUrl(url: string): string {
  let u = url.trim().toLowerCase().replace(/\.git$/, "").replace(/\/+$/, "");
  u = u.replace(/^(ssh:\/\/)?git@([^:/]+)[:/]/, "$2/").replace(/^[a-z+]+:\/\//, "").replace(/^[^@/]+@/, "");
  return u;
}

/**
 * The line of a pointer's last key inside an inline patch written as a block scalar (`patch: |`),
 * whose text starts on the line after `start`; null when the key is not found.
 */
function lineInBlock(start: SourceLocation, text: string, p: string): SourceLocation | null {
  const last = p.split("/").filter((t) => t && !/^\d+$/.test(t)).pop();
  if (last === undefined) return null;
  const lines = text.split("\n");
  const idx = lines.findIndex((l) => new RegExp(`^\\s*(- )?${last.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:`).test(l));
  if (idx < 0) return null;
  return { file: start.file, line: start.line + 1 + idx, column: start.column + (lines[idx]!.length - lines[idx]!.trimStart().length) };
}

/** Whether an inline patch mentions the last key of a pointer. */
function patchTouches(patch: string, p: string): boolean {
  const last = p.split("/").filter((t) => t && !/^\d+$/.test(t)).pop();
  return last === undefined || patch.includes(last);
}
