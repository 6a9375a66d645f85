/**
 * Renders what a Flux Kustomization applies, the way kustomize-controller does: its path's
 * kustomization (or, when there is none, the kustomization Flux generates over every
 * manifest under the path), then the Kustomization's own targetNamespace, namePrefix,
 * nameSuffix, patches, images and components. kustomize runs batched, several Kustomizations
 * per process, a few processes in parallel; a failing batch is split until the culprit is
 * alone, and a culprit falls back to the built-in resolver.
 */
import { envsubst } from "../core/envsubst.js";
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { stringify } from "yaml";
import { asArray, asObject, asString, isClusterScopedKind } from "../core/flux.js";
import type { RenderMethod } from "../core/model.js";
import type { JsonObject, JsonValue, K8sObject } from "../core/types.js";
import { isInside, toRel } from "./files.js";
import { readTextBounded, type ReadGuard } from "./guard.js";
import { inspectKustomizeTree, isRemoteRef, kustomizationFileIn, kustomizationRefs, openKustomize, type KustomizeRunner, type KustomizeTool } from "./kustomize.js";
import { parseYamlFile } from "./yaml.js";
import { RenderCache } from "./render-cache.js";

export interface FluxRenderSettings {
  targetNamespace?: string;
  namePrefix?: string;
  nameSuffix?: string;
  patches: JsonValue[];
  images: JsonValue[];
  components: string[];
}

export interface RenderJob {
  id: string;
  /** The resolved spec.path. */
  dirAbs: string;
  /** Root of the source artifact (the scan root or a mapped source directory). */
  sourceRoot: string;
  settings: FluxRenderSettings;
}

export interface RenderedDoc {
  value: K8sObject;
  /** The file that produced the object (absolute), when known. */
  originFile: string | null;
  /** Kustomization files whose patches changed the object (absolute), or "flux" for the Kustomization's own. */
  patchedBy: string[];
}

export interface RenderOutcome {
  method: RenderMethod | null;
  docs: RenderedDoc[];
  problems: string[];
  /** Problems that mean part of what Flux would apply was not assessed (a bound was passed). */
  unassessed?: string[];
}

/** What the renderer needs from the loader: parsed files, never re-read from disk. */
export interface RenderInputs {
  scanRoot: string;
  /** What may be read (real paths): every file the renderer or kustomize reads is checked by it. */
  guard: ReadGuard;
  /**
   * Why a file a build would read cannot be assessed (too large, undecodable, past a YAML
   * bound), or null when it can. Such a build is never handed to kustomize.
   */
  unreadable?(fileAbs: string): string | null;
  tool: KustomizeTool | null;
  concurrency: number;
  readKustomization(fileAbs: string): JsonObject | null;
  /** The Kubernetes objects of a YAML file (absolute path), or null when it is not a manifest file. */
  objectsOf(fileAbs: string): K8sObject[] | null;
  /** Persistent cache of kustomize builds (null: none). */
  cache?: RenderCache | null;
}

const RENDER_LABEL = "fluxguard.io/render";
const ORIGIN = "config.kubernetes.io/origin";
const TRANSFORMATIONS = "alpha.config.kubernetes.io/transformations";
/** Set by fluxguard-kustomize on every object of a resource file: the file (see sourceGraph). */
const SOURCE = "fluxguard.io/source";

interface Plan {
  job: RenderJob;
  /** Resources for the wrapper kustomization, absolute. */
  resources: string[];
  needsKustomize: boolean;
  method: RenderMethod;
  problems: string[];
  refuse: boolean;
  /** Why part of the plan's input was not assessed (files past a bound): fails the run. */
  unassessed: string[];
  /** Kustomization files whose remote entries are dropped (in a shadow tree) so the rest renders. */
  stripRemote: string[];
  /** Every file the build reads: the render cache key hashes their content. */
  reads: string[];
  /**
   * Namespaces and CRDs the plan renders. kustomize does not prefix their names, so the
   * per-plan batch prefix cannot keep two plans that render the same one apart: such plans
   * are never batched together (a collision this misses still fails the batch, which is split).
   */
  unprefixed: string[];
  /** Objects in the files the plan builds from: an estimate of its share of a kustomize build. */
  weight: number;
}

export class Renderer {
  private readonly cache = new Map<string, RenderOutcome>();
  /** Kept across renderAll calls (a model renders in several rounds); see close(). */
  private runner: KustomizeRunner | null = null;

  constructor(private readonly inputs: RenderInputs) {
    sweepRenderTemp();
  }

  /**
   * Starts the kustomize servers before the first render, when there is kustomize work ahead
   * (`kustomizations` kustomization files in the tree): one per file, up to the concurrency.
   * They warm up while the loader parses the repository.
   */
  prestart(kustomizations: number): void {
    if (!this.inputs.tool?.server || kustomizations === 0) return;
    this.runner ??= openKustomize(this.inputs.tool, Math.max(1, this.inputs.concurrency));
    this.runner.prestart(kustomizations);
  }

  /** Ends the kustomize server processes, if any, and waits for them to exit. */
  async close(): Promise<void> {
    const runner = this.runner;
    this.runner = null;
    await runner?.close();
  }

  /**
   * Builds a small kustomization written from `files` (name → content, in one temporary
   * directory that is the only root the build may read) with the same kustomize as the
   * renders. Resolves to the built objects, or to kustomize's error; null when no kustomize is
   * available. Used for what is not a Kustomization's tree (HelmRelease post-renderers).
   */
  async buildScratch(files: Record<string, string>): Promise<{ objects: unknown[] } | { error: string } | null> {
    if (!this.inputs.tool) return null;
    this.runner ??= openKustomize(this.inputs.tool, Math.max(1, this.inputs.concurrency));
    const tmp = mkdtempSync(join(tmpdir(), "fluxguard-scratch-"));
    try {
      for (const [name, text] of Object.entries(files)) writeFileSync(join(tmp, name), text);
      const built = await this.runner.build(tmp, [realpathSync(tmp)]);
      if (built.format === "json") return { objects: built.objects };
      const parsed = parseYamlFile("(kustomize output)", built.text);
      if (parsed.errors.length) return { error: `kustomize output: ${parsed.errors[0]!.message}` };
      return { objects: parsed.documents.map((d) => d.value as unknown) };
    } catch (e) {
      return { error: kustomizeError((e as Error).message, tmp) };
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  async renderAll(jobs: RenderJob[]): Promise<Map<string, RenderOutcome>> {
    const out = new Map<string, RenderOutcome>();
    const toKustomize: Plan[] = [];
    // Jobs that build the same directory with the same settings (one overlay reconciled by
    // several clusters' Kustomizations) are built once and share the outcome.
    const first = new Map<string, string>();
    const twins: Array<[string, string]> = [];
    for (const job of jobs) {
      const sig = signature(job);
      const cached = this.cache.get(sig);
      if (cached) {
        out.set(job.id, cached);
        continue;
      }
      const seen = first.get(sig);
      if (seen !== undefined) {
        twins.push([job.id, seen]);
        continue;
      }
      first.set(sig, job.id);
      const plan = this.plan(job);
      if (plan.refuse || !plan.needsKustomize || !this.inputs.tool) {
        const res = this.builtin(plan);
        this.cache.set(sig, res);
        out.set(job.id, res);
      } else toKustomize.push(plan);
    }
    const cache = this.inputs.cache ?? null;
    const keys = new Map<Plan, string>();
    if (cache && this.inputs.tool) {
      const tool = `${this.inputs.tool.label} ${this.inputs.tool.version ?? ""}`;
      for (let i = toKustomize.length - 1; i >= 0; i--) {
        const plan = toKustomize[i]!;
        const key = this.cacheKey(plan, tool);
        if (key === null) continue;
        const hit = cache.get(key, plan.job.sourceRoot);
        if (hit) {
          const res: RenderOutcome = { method: hit.method, docs: hit.docs, problems: hit.problems };
          this.cache.set(signature(plan.job), res);
          out.set(plan.job.id, res);
          toKustomize.splice(i, 1);
        } else keys.set(plan, key);
      }
    }
    if (toKustomize.length > 0) {
      // kustomize's cost grows faster than linearly with the objects in one build (a build of
      // ~1,000 objects costs several times what four of ~250 do), and plans that render the same
      // Namespace or CRD collide in one build: batches of plans that do not collide, bounded in
      // objects, enough of them to keep `concurrency` processes busy.
      const conc = Math.max(1, this.inputs.concurrency);
      const total = toKustomize.reduce((n, p) => n + p.weight, 0);
      const chunks = batchDisjoint(toKustomize, (p) => p.unprefixed, {
        items: Math.max(1, Math.min(batchLimit("FLUXGUARD_RENDER_BATCH", this.inputs.tool?.server ? SERVER_BATCH_PLANS : MAX_BATCH_PLANS), Math.ceil(toKustomize.length / conc))),
        weight: Math.max(1, Math.min(batchLimit("FLUXGUARD_RENDER_BATCH_OBJECTS", MAX_BATCH_OBJECTS), Math.ceil(total / conc))),
        weightOf: (p) => p.weight,
      });
      this.runner ??= openKustomize(this.inputs.tool!, conc);
      const runner = this.runner;
      const results = await mapPool(chunks, this.inputs.concurrency, (c) => this.kustomizeChunk(c, runner));
      for (const r of results) for (const [plan, res] of r) {
        this.cache.set(signature(plan.job), res);
        out.set(plan.job.id, res);
        const key = keys.get(plan);
        if (cache && key) cache.put(key, plan.job.sourceRoot, res);
      }
    }
    for (const [id, from] of twins) out.set(id, out.get(from)!);
    return out;
  }

  /** The cache key of a plan, or null when an input cannot be read (then it is not cached). */
  private cacheKey(plan: Plan, tool: string): string | null {
    const files: Array<[string, string]> = [];
    for (const f of new Set(plan.reads)) {
      try {
        const read = readTextBounded(f);
        if (!read.ok) return null;
        files.push([relative(plan.job.sourceRoot, f), read.text]);
      } catch {
        return null;
      }
    }
    return RenderCache.key({ tool, settings: plan.job.settings, path: relative(plan.job.sourceRoot, plan.job.dirAbs), files });
  }

  private plan(job: RenderJob): Plan {
    const { scanRoot } = this.inputs;
    const rel = toRel(scanRoot, job.dirAbs) || ".";
    const { guard } = this.inputs;
    const plan: Plan = { job, resources: [], needsKustomize: false, method: "kustomize", problems: [], refuse: false, unassessed: [], stripRemote: [], unprefixed: [], weight: 0, reads: [] };
    let isDir = false;
    try {
      isDir = statSync(job.dirAbs).isDirectory();
    } catch {
      /* missing */
    }
    if (!isInside(job.sourceRoot, job.dirAbs) || (isDir && !guard.allows(job.dirAbs))) {
      plan.problems.push(`path '${rel}' leaves the source root`);
      plan.refuse = true;
      return plan;
    }
    if (!isDir) {
      plan.problems.push(`path '${rel}' does not exist in the source`);
      plan.refuse = true;
      return plan;
    }
    const hasFluxTransforms = job.settings.patches.length > 0 || job.settings.images.length > 0 || job.settings.components.length > 0;
    const kfile = kustomizationFileIn(job.dirAbs, guard);
    const trees: string[] = [];
    if (kfile) {
      plan.resources = [job.dirAbs];
      plan.needsKustomize = true;
      trees.push(job.dirAbs);
    } else {
      plan.method = "flux-generated";
      plan.resources = this.generatedResources(job.dirAbs);
      for (const r of plan.resources) if (kustomizationFileIn(r, guard)) trees.push(r);
      plan.needsKustomize = trees.length > 0 || hasFluxTransforms;
    }
    for (const c of job.settings.components) {
      const abs = resolve(job.dirAbs, c);
      const checked = guard.check(abs);
      if (checked.ok) trees.push(abs);
      else {
        plan.problems.push(`component '${c}' ${checked.why === "missing" && isInside(job.sourceRoot, abs) ? "does not exist" : "leaves the source root"}`);
        plan.refuse = true;
      }
    }
    for (const t of trees) {
      const info = inspectKustomizeTree(t, guard, this.inputs.readKustomization);
      for (const k of info.kustomizations) {
        const cfg = this.inputs.readKustomization(k) ?? {};
        const refs = kustomizationRefs(cfg);
        plan.reads.push(k, ...[...refs.files, ...refs.aux].filter((f) => !isRemoteRef(f)).map((f) => resolve(dirname(k), f)));
        plan.weight += asArray(cfg["configMapGenerator"]).length + asArray(cfg["secretGenerator"]).length;
        for (const f of kustomizationRefs(cfg).files) {
          const objects = this.inputs.objectsOf(resolve(dirname(k), f));
          plan.weight += objects?.length ?? 0;
          plan.unprefixed.push(...unprefixedKeys(objects));
        }
      }
      const at = (f: string): string => toRel(scanRoot, f);
      for (const r of info.remote) plan.problems.push(`remote base '${r.ref}' in ${at(r.file)} was not fetched; rendered without it`);
      for (const r of info.remote) if (!plan.stripRemote.includes(r.file)) plan.stripRemote.push(r.file);
      for (const e of info.escapes) plan.problems.push(`'${e.ref}' in ${at(e.file)} leaves the source root`);
      for (const u of info.unsupported) plan.problems.push(`${u.field} in ${at(u.file)} is not rendered`);
      for (const m of info.missing) plan.problems.push(`'${m.ref}' in ${at(m.file)} does not exist`);
      if (info.escapes.length || info.unsupported.length || info.missing.length) plan.refuse = true;
    }
    if (plan.needsKustomize && !this.inputs.tool) plan.problems.push("no kustomize found (install kustomize or kubectl); used the built-in resolver");
    for (const r of plan.resources) {
      if (kustomizationFileIn(r, guard)) continue;
      plan.reads.push(r);
      const objects = this.inputs.objectsOf(r);
      plan.weight += objects?.length ?? 0;
      plan.unprefixed.push(...unprefixedKeys(objects));
    }
    // A file the build would read that fluxguard could not (too large, undecodable, past a YAML
    // bound) is never handed to kustomize: what it holds is not assessed, and the run fails.
    if (this.inputs.unreadable) {
      for (const f of new Set(plan.reads)) {
        const why = this.inputs.unreadable(f);
        if (why) plan.unassessed.push(`${toRel(scanRoot, f)}: ${why}`);
      }
      if (plan.unassessed.length) {
        plan.problems.push(...plan.unassessed.map((u) => `not rendered: ${u}`));
        plan.refuse = true;
      }
    }
    plan.weight = Math.max(1, plan.weight);
    // A namespace set at the top (Flux's targetNamespace, or the path's kustomization) renames every Namespace object to it.
    const topNs = job.settings.targetNamespace ?? (kfile ? asString(this.inputs.readKustomization(kfile)?.["namespace"]) : undefined);
    plan.unprefixed = [...new Set(plan.unprefixed.map((k) => (topNs && k.startsWith("Namespace/") ? `Namespace/${topNs}` : k)))];
    return plan;
  }

  /**
   * Flux's generated kustomization: every manifest file under the path, and sub-kustomizations.
   * Walks real directories once each (link loops end) and never through a link that leaves
   * the allowed roots.
   */
  private generatedResources(dir: string): string[] {
    const { guard } = this.inputs;
    const out: string[] = [];
    const seen = new Set<string>();
    const walk = (d: string, top: boolean): void => {
      const real = guard.realpath(d);
      if (real === null || seen.has(real) || !guard.allowsReal(real)) return;
      seen.add(real);
      if (!top && kustomizationFileIn(d, guard)) {
        out.push(d);
        return;
      }
      let names: string[];
      try {
        names = readdirSync(d).sort();
      } catch {
        return;
      }
      for (const name of names) {
        if (name.startsWith(".")) continue;
        const p = join(d, name);
        let st;
        try {
          st = lstatSync(p);
          if (st.isSymbolicLink()) {
            const c = guard.check(p);
            if (!c.ok) continue;
            st = statSync(c.real);
          }
        } catch {
          continue;
        }
        if (st.isDirectory()) walk(p, false);
        else if (st.isFile() && /\.ya?ml$/.test(name) && this.inputs.objectsOf(p) !== null) out.push(p);
      }
    };
    walk(dir, true);
    return out;
  }

  private async kustomizeChunk(plans: Plan[], runner: KustomizeRunner): Promise<Array<[Plan, RenderOutcome]>> {
    if (plans.length === 0) return [];
    try {
      const docs = await this.runBatch(plans, runner);
      return plans.map((p, i) => [p, { method: p.method, docs: docs[i] ?? [], problems: p.problems, ...(p.unassessed.length ? { unassessed: p.unassessed } : {}) }]);
    } catch (e) {
      if (process.env["FLUXGUARD_DEBUG_RENDER"]) process.stderr.write(`kustomize batch of ${plans.length} failed: ${(e as Error).message.slice(-300)}\n`);
      if (plans.length === 1) {
        const plan = plans[0]!;
        const why = kustomizeError((e as Error).message, this.inputs.scanRoot);
        plan.problems.push(`kustomize failed: ${why}`);
        // Past a bound of fluxguard's (time, memory, file size, the source root): not assessed.
        if (/timed out|SIGKILL|out of memory|cannot allocate|larger than \d+ bytes|leaves the source root/.test(why)) plan.unassessed.push(`kustomize build: ${why}`);
        return [[plan, this.builtin(plan)]];
      }
      const mid = Math.ceil(plans.length / 2);
      const [a, b] = await Promise.all([this.kustomizeChunk(plans.slice(0, mid), runner), this.kustomizeChunk(plans.slice(mid), runner)]);
      return [...a, ...b];
    }
  }

  private async runBatch(plans: Plan[], runner: KustomizeRunner): Promise<RenderedDoc[][]> {
    // The server takes fluxguard's wrapper kustomizations in the request and serves them from
    // memory under a directory that never exists on disk: no temporary directory to create,
    // write and delete per build. A shadow tree (remote bases stripped, or a kustomize CLI)
    // still needs one.
    const inMemory = runner.inMemory && plans.every((p) => p.stripRemote.length === 0);
    const tmp = inMemory ? join(tmpdir(), `${RENDER_TMP_PREFIX}${process.pid}-v${++virtualDirs}`) : mkdtempSync(join(tmpdir(), `${RENDER_TMP_PREFIX}${process.pid}-`));
    const memFiles: Record<string, string> = {};
    const writeWrapper = (file: string, text: string): void => {
      if (inMemory) memFiles[file] = text;
      else {
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, text);
      }
    };
    try {
      const names: string[] = [];
      const shadows: Array<{ shadow: string; real: string }> = [];
      // With the server, each object is marked with its source file as it is read, and the
      // patches that apply to it follow from the tree (see sourceGraph); kustomize's own
      // buildMetadata tracking, which costs more than the rest of the build, is not needed.
      const graphs = runner.marksSources ? plans.map((p) => this.sourceGraph(p)) : [];
      plans.forEach((plan, i) => {
        const name = `w${i}`;
        names.push(name);
        const wdir = join(tmp, name);
        let map = (p: string): string => p;
        // A kustomize CLI reads the disk unconfined: it gets a mirror of the source that holds
        // only what the guard allows (as source-controller's artifact holds no symlinks). The
        // server confines its own reads to `roots`.
        if (plan.stripRemote.length || !runner.marksSources) {
          const shadow = join(tmp, `s${i}`);
          this.shadowTree(plan.job.sourceRoot, shadow, plan.stripRemote, !runner.marksSources);
          shadows.push({ shadow, real: plan.job.sourceRoot });
          map = (p) => join(shadow, relative(plan.job.sourceRoot, p));
        }
        const k: JsonObject = {
          apiVersion: "kustomize.config.k8s.io/v1beta1",
          kind: "Kustomization",
          resources: plan.resources.map((r) => relative(wdir, map(r))),
        };
        const s = plan.job.settings;
        if (s.targetNamespace) k["namespace"] = s.targetNamespace;
        if (s.namePrefix) k["namePrefix"] = s.namePrefix;
        if (s.nameSuffix) k["nameSuffix"] = s.nameSuffix;
        if (s.patches.length) k["patches"] = s.patches.map(stripPatchPath);
        if (s.images.length) k["images"] = s.images;
        if (s.components.length) k["components"] = s.components.map((c) => relative(wdir, map(resolve(plan.job.dirAbs, c))));
        k["labels"] = [{ pairs: { [RENDER_LABEL]: name }, includeSelectors: false }];
        // Objects of different Kustomizations may share an id (e.g. names with unsubstituted
        // ${VARS}); a per-wrapper prefix keeps them apart in one build and is stripped after.
        if (plans.length > 1) k["namePrefix"] = `${batchPrefix(i)}${s.namePrefix ?? ""}`;
        // JSON is YAML, and kustomize reads it the same; writing it costs a fraction of the yaml library's stringify.
        writeWrapper(join(wdir, "kustomization.yaml"), JSON.stringify(k));
      });
      writeWrapper(
        join(tmp, "kustomization.yaml"),
        JSON.stringify({
          apiVersion: "kustomize.config.k8s.io/v1beta1",
          kind: "Kustomization",
          resources: names,
          ...(runner.marksSources ? {} : { buildMetadata: ["originAnnotations", "transformerAnnotations"] }),
        }),
      );
      const t0 = Date.now();
      const sources: Record<string, string> = {};
      for (const g of graphs) for (const f of g.files) sources[this.inputs.guard.realpath(f) ?? f] = f;
      const roots = [...(inMemory ? [] : [realpathSync(tmp)]), ...this.inputs.guard.allowedRoots];
      const built = await runner.build(tmp, roots, { files: sources, annotation: SOURCE }, inMemory ? memFiles : undefined);
      if (process.env["FLUXGUARD_DEBUG_RENDER"]) process.stderr.write(`kustomize: ${plans.length} plans in ${Date.now() - t0} ms\n`);
      const values: unknown[] =
        built.format === "json"
          ? built.objects
          : (() => {
              // kustomize's output is parsed within the same bounds as any input.
              const parsed = parseYamlFile("(kustomize output)", built.text);
              if (parsed.errors.length) throw new Error(`kustomize output: ${parsed.errors[0]!.message}`);
              return parsed.documents.map((d) => d.value as unknown);
            })();
      const out: RenderedDoc[][] = plans.map(() => []);
      const unshadow = (p: string): string => {
        const sh = shadows.find((x) => p === x.shadow || p.startsWith(`${x.shadow}/`));
        return sh ? join(sh.real, relative(sh.shadow, p)) : p;
      };
      for (const v of values) {
        const value = v as K8sObject | null;
        if (!value || typeof value !== "object" || !value.metadata) continue;
        const labels = value.metadata.labels ?? {};
        const idx = names.indexOf(labels[RENDER_LABEL] ?? "");
        delete labels[RENDER_LABEL];
        if (Object.keys(labels).length === 0) delete value.metadata.labels;
        const ann = value.metadata.annotations ?? {};
        let originFile: string | null;
        let patchedBy: string[];
        if (runner.marksSources) {
          const source = ann[SOURCE] ?? null;
          const graph = idx >= 0 ? graphs[idx] : undefined;
          originFile = source;
          const scopeKey = source ?? (graph ? generatorOf(graph, value) : null);
          patchedBy = scopeKey && graph ? graph.patchers.filter((p) => p.scope.has(scopeKey)).map((p) => p.by) : [];
          delete ann[SOURCE];
        } else {
          const origin = parseOrigin(ann[ORIGIN], tmp);
          originFile = origin ? unshadow(origin) : null;
          patchedBy = parseTransformations(ann[TRANSFORMATIONS], tmp).map((p) => (p === "flux" ? p : unshadow(p)));
          delete ann[ORIGIN];
          delete ann[TRANSFORMATIONS];
        }
        if (Object.keys(ann).length === 0) delete value.metadata.annotations;
        if (idx < 0) continue;
        const clean = plans.length > 1 ? (stripToken(value as unknown as JsonValue, batchPrefix(idx)) as unknown as K8sObject) : value;
        out[idx]!.push({ value: clean, originFile, patchedBy });
      }
      return out;
    } finally {
      // Off the event loop: a blocking delete here delays the other batches' spawns (~0.9 s over the synthetic fleet).
      if (!inMemory) await rm(tmp, { recursive: true, force: true });
    }
  }

  /**
   * What kustomize's buildMetadata would say, from the tree itself: the files a plan uses as
   * resources, and, in the order kustomize runs them (a kustomization's children, then its
   * components, then its own transformers; the Flux wrapper last), each kustomization whose
   * patches or images apply, with the resource files it accumulates. kustomize records a
   * transformer on every object its kustomization accumulates, whether or not it changed it,
   * so this is the list its transformations annotation holds.
   */
  private sourceGraph(plan: Plan): SourceGraph {
    const files = new Set<string>();
    const patchers: SourceGraph["patchers"] = [];
    const generators: SourceGraph["generators"] = [];
    // Generated objects have no file: a kustomization's generators stand in its scope as `gen:<file>`.
    const generated = (kfile: string, cfg: JsonObject, acc: Set<string>): void => {
      for (const [field, kind] of [
        ["configMapGenerator", "ConfigMap"],
        ["secretGenerator", "Secret"],
      ] as const) {
        for (const g of asArray(cfg[field])) {
          const name = asString(asObject(g)?.["name"]);
          if (!name) continue;
          generators.push({ kind, name, by: kfile });
          acc.add(`gen:${kfile}`);
        }
      }
    };
    const transforms = (cfg: JsonObject): boolean => ["patches", "patchesStrategicMerge", "patchesJson6902", "images"].some((f) => asArray(cfg[f]).length > 0);
    // Adds a kustomization's resources (its children's, accumulated apart, and its components',
    // which join `acc` directly) to `acc`; its own transformers, and its components', apply to all of `acc`.
    const visit = (kfile: string, dir: string, acc: Set<string>): void => {
      const cfg = this.inputs.readKustomization(kfile) ?? {};
      const { trees, files: own } = kustomizationRefs(cfg);
      const components = new Set(asArray(cfg["components"]).filter((c): c is string => typeof c === "string" && !isRemoteRef(c)));
      for (const f of own) {
        if (isRemoteRef(f)) continue;
        const abs = resolve(dir, f);
        files.add(abs);
        acc.add(abs);
      }
      for (const t of trees) if (!isRemoteRef(t) && !components.has(t)) for (const f of accumulate(resolve(dir, t))) acc.add(f);
      generated(kfile, cfg, acc);
      for (const c of components) {
        const ck = kustomizationFileIn(resolve(dir, c), this.inputs.guard);
        if (ck) visit(ck, resolve(dir, c), acc);
      }
      if (transforms(cfg)) patchers.push({ by: kfile, scope: acc });
    };
    const memo = new Map<string, Set<string>>();
    const accumulate = (dir: string): Set<string> => {
      const kfile = kustomizationFileIn(dir, this.inputs.guard);
      if (!kfile) return new Set();
      const seen = memo.get(kfile);
      if (seen) return seen;
      const acc = new Set<string>();
      memo.set(kfile, acc);
      visit(kfile, dir, acc);
      return acc;
    };
    const top = new Set<string>();
    for (const r of plan.resources) {
      if (isDirectory(r)) for (const f of accumulate(r)) top.add(f);
      else {
        files.add(r);
        top.add(r);
      }
    }
    const s = plan.job.settings;
    for (const c of s.components) {
      const ck = kustomizationFileIn(resolve(plan.job.dirAbs, c), this.inputs.guard);
      if (ck) visit(ck, resolve(plan.job.dirAbs, c), top);
    }
    if (s.patches.length || s.images.length) patchers.push({ by: "flux", scope: top });
    return { files, patchers, generators };
  }

  /**
   * A symlink mirror of the source root in which the given kustomization files are rewritten
   * without their remote entries, so the local part of an overlay still renders with its
   * patches. Only the directories leading to those files are real; everything else links back
   * (to its real path, and only when the guard allows it). With `full`, every directory is real
   * and only files link back: the mirror then holds nothing outside the allowed roots, for a
   * kustomize that reads the disk unconfined.
   */
  private shadowTree(root: string, shadow: string, rewrite: string[], full = false): void {
    const { guard } = this.inputs;
    const contents = new Map<string, string>();
    for (const f of rewrite) {
      const cfg = { ...(this.inputs.readKustomization(f) ?? {}) };
      for (const field of ["resources", "bases", "components"]) {
        if (Array.isArray(cfg[field])) cfg[field] = (cfg[field] as JsonValue[]).filter((r) => typeof r !== "string" || !isRemoteRef(r));
      }
      contents.set(f, stringify(cfg));
    }
    const needed = new Set<string>();
    for (const f of rewrite) for (let d = dirname(f); isInside(root, d) && !needed.has(d); d = dirname(d)) needed.add(d);
    const mirrored = new Set<string>();
    const mirror = (dir: string, sh: string): void => {
      const real = guard.realpath(dir);
      if (real === null || mirrored.has(real)) return;
      mirrored.add(real);
      mkdirSync(sh, { recursive: true });
      let names: string[];
      try {
        names = readdirSync(dir);
      } catch {
        return;
      }
      for (const name of names) {
        const r = join(dir, name);
        const target = join(sh, name);
        const text = contents.get(r);
        if (text !== undefined) {
          writeFileSync(target, text);
          continue;
        }
        const c = guard.check(r);
        if (!c.ok) continue;
        if (needed.has(r) || (full && isDirectory(c.real))) mirror(r, target);
        else symlinkSync(c.real, target);
      }
    };
    mirror(root, shadow);
  }

  /** fluxguard's own resolver: plain resource lists, namespaces and name affixes. */
  private builtin(plan: Plan): RenderOutcome {
    const { job } = plan;
    const problems = [...plan.problems];
    if (plan.refuse && plan.resources.length === 0 && !kustomizationFileIn(job.dirAbs, this.inputs.guard) && problems.some((p) => p.includes("does not exist") || p.includes("leaves the source root"))) {
      return { method: null, docs: [], problems };
    }
    const docs: RenderedDoc[] = [];
    const seen = new Set<string>();
    const addFile = (f: string): RenderedDoc[] => (this.inputs.objectsOf(f) ?? []).map((o) => ({ value: structuredClone(o), originFile: f, patchedBy: [] }));
    const resolveTree = (dir: string): RenderedDoc[] => {
      const kfile = kustomizationFileIn(dir, this.inputs.guard);
      if (!kfile) return [];
      if (seen.has(kfile)) return [];
      seen.add(kfile);
      const cfg = this.inputs.readKustomization(kfile) ?? {};
      const { trees, files } = kustomizationRefs(cfg);
      let acc: RenderedDoc[] = [];
      for (const f of files) {
        const abs = resolve(dir, f);
        if (isInside(job.sourceRoot, abs) && this.inputs.guard.allows(abs)) acc.push(...addFile(abs));
      }
      for (const t of trees) {
        const abs = resolve(dir, t);
        if (!isInside(job.sourceRoot, abs) || !this.inputs.guard.allows(abs) || !isDirectory(abs)) continue;
        acc.push(...resolveTree(abs));
      }
      const ignored = ["patches", "patchesStrategicMerge", "patchesJson6902", "images", "replacements", "configMapGenerator", "secretGenerator", "helmCharts", "transformers", "generators"].filter(
        (f) => cfg[f] !== undefined,
      );
      if (ignored.length && this.inputs.tool === null) problems.push(`built-in resolver ignored ${ignored.join(", ")} in ${toRel(this.inputs.scanRoot, kfile)}`);
      acc = applyAffixes(acc, asString(cfg["namespace"]), asString(cfg["namePrefix"]), asString(cfg["nameSuffix"]));
      return acc;
    };
    if (kustomizationFileIn(job.dirAbs, this.inputs.guard)) docs.push(...resolveTree(job.dirAbs));
    else for (const r of plan.resources) docs.push(...(isDirectory(r) ? resolveTree(r) : addFile(r)));
    const s = job.settings;
    const ignoredFlux = (["patches", "images", "components"] as const).filter((k) => s[k].length > 0);
    if (ignoredFlux.length) problems.push(`built-in resolver ignored the Kustomization's own ${ignoredFlux.join(", ")}`);
    const final = applyAffixes(docs, s.targetNamespace, s.namePrefix, s.nameSuffix);
    const method: RenderMethod = plan.needsKustomize || plan.refuse ? "builtin" : plan.method;
    return { method, docs: final, problems, ...(plan.unassessed.length ? { unassessed: [...plan.unassessed] } : {}) };
  }
}

/** Numbers the in-memory build directories of this process (`<tmpdir>/fluxguard-render-<pid>-v<n>`, never created). */
let virtualDirs = 0;

/** Temporary render directories are `<tmpdir>/fluxguard-render-<pid>-XXXXXX`. */
export const RENDER_TMP_PREFIX = "fluxguard-render-";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Removes temporary render directories left behind: those of processes that no longer run
 * (a run killed with SIGKILL), or, with `ownOnly`, this process's own (on SIGINT/SIGTERM, from
 * src/bin). Directories of the old `fluxguard-render-XXXXXX` form are removed when older than
 * an hour. Never throws.
 */
export function sweepRenderTemp(ownOnly = false): void {
  let names: string[];
  try {
    names = readdirSync(tmpdir()).filter((n) => n.startsWith(RENDER_TMP_PREFIX));
  } catch {
    return;
  }
  for (const name of names) {
    const m = /^fluxguard-render-(\d+)-/.exec(name);
    const p = join(tmpdir(), name);
    let stale: boolean;
    if (m) stale = ownOnly ? Number(m[1]) === process.pid : Number(m[1]) !== process.pid && !alive(Number(m[1]));
    else {
      try {
        stale = !ownOnly && Date.now() - lstatSync(p).mtimeMs > 3_600_000;
      } catch {
        stale = false;
      }
    }
    if (!stale) continue;
    try {
      rmSync(p, { recursive: true, force: true });
    } catch {
      /* another user's, or already gone */
    }
  }
}

/** Plans in one kustomize process at most ($FLUXGUARD_RENDER_BATCH overrides, for measurements). */
export const MAX_BATCH_PLANS = 64;
/**
 * Plans in one build of the kustomize server. A server build costs no process start, and
 * kustomize's name-reference pass grows with the square of the objects in one build (every
 * reference is matched against every object), so one plan a build is cheapest: on the
 * synthetic fleet (221 builds), tree CPU 7.7 s -> 6.9 s (mean of 3 paired runs) against
 * batches of ~9 plans.
 */
export const SERVER_BATCH_PLANS = 1;
/**
 * Objects (in the source files) in one kustomize process at most ($FLUXGUARD_RENDER_BATCH_OBJECTS
 * overrides). Measured with kubectl kustomize 5.5 on 2 cores: CPU per plan is flat from ~100 to
 * ~400 objects a build and grows quickly past ~700.
 */
export const MAX_BATCH_OBJECTS = 250;

function batchLimit(env: string, dflt: number): number {
  const v = Number(process.env[env]);
  return Number.isInteger(v) && v > 0 ? v : dflt;
}

export interface BatchLimits<T> {
  /** Items in a batch at most. */
  items: number;
  /** Total weight of a batch at most; an item heavier than this gets a batch of its own. */
  weight?: number;
  weightOf?: (item: T) => number;
}

/** Splits items into bounded batches, keeping items that share a key apart (first fit, in order; deterministic). */
export function batchDisjoint<T>(items: readonly T[], keysOf: (item: T) => readonly string[], limits: BatchLimits<T>): T[][] {
  const batches: Array<{ items: T[]; keys: Set<string>; weight: number }> = [];
  const maxWeight = limits.weight ?? Infinity;
  for (const item of items) {
    const keys = keysOf(item);
    const w = limits.weightOf?.(item) ?? 1;
    let target = batches.find((b) => b.items.length < limits.items && b.weight + w <= maxWeight && !keys.some((k) => b.keys.has(k)));
    if (!target) {
      target = { items: [], keys: new Set(), weight: 0 };
      batches.push(target);
    }
    target.items.push(item);
    target.weight += w;
    for (const k of keys) target.keys.add(k);
  }
  return batches.map((b) => b.items);
}

/** Maps with at most `limit` calls in flight; results in input order. */
export async function mapPool<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, () => worker()));
  return out;
}

function unprefixedKeys(objects: K8sObject[] | null): string[] {
  return (objects ?? []).filter((o) => o.kind === "Namespace" || o.kind === "CustomResourceDefinition").map((o) => `${o.kind}/${o.metadata.name}`);
}

function batchPrefix(i: number): string {
  return `fgzq${i}q-`;
}

function stripToken(v: JsonValue, token: string): JsonValue {
  if (typeof v === "string") return v.includes(token) ? v.split(token).join("") : v;
  if (Array.isArray(v)) return v.map((x) => stripToken(x, token));
  if (v !== null && typeof v === "object") {
    const o: JsonObject = {};
    for (const [k, x] of Object.entries(v)) o[k.includes(token) ? k.split(token).join("") : k] = stripToken(x, token);
    return o;
  }
  return v;
}

interface SourceGraph {
  /** Files the plan's kustomizations use as resources. */
  files: Set<string>;
  /** Kustomizations with patches or images, in the order kustomize applies them, and what they apply to. */
  patchers: Array<{ by: string; scope: Set<string> }>;
  /** configMapGenerator and secretGenerator entries, by the kustomization that declares them. */
  generators: Array<{ kind: "ConfigMap" | "Secret"; name: string; by: string }>;
}

/**
 * The `gen:<kustomization>` scope key of a generated object (no source file): the generator of
 * its kind whose name its own name contains (prefixes, suffixes and the hash surround it); the
 * longest such name when several match.
 */
function generatorOf(graph: SourceGraph, o: K8sObject): string | null {
  const name = o.metadata.name ?? "";
  const match = graph.generators.filter((g) => g.kind === o.kind && name.includes(g.name)).sort((a, b) => b.name.length - a.name.length)[0];
  return match ? `gen:${match.by}` : null;
}

/**
 * kustomize's error, readable and stable: kubectl's klog wrapper and the nested "accumulating
 * resources ... recursed accumulation of path" chain through fluxguard's temporary wrapper
 * directories are dropped; what is left is the innermost directory (relative to the scan
 * root) and kustomize's own reason.
 */
export function kustomizeError(message: string, scanRoot: string): string {
  let m = message.trim();
  const klog = /^"command failed" err="([\s\S]*)"$/.exec(m);
  if (klog) m = klog[1]!;
  m = m.replace(/^Error: /, "");
  const parts = m.split(/: recursed accumulation of path '([^']*)': /);
  // parts: [outer, path1, rest1, path2, rest2, ...]; the last path and rest are the innermost.
  if (parts.length >= 3) {
    const dir = parts[parts.length - 2]!;
    const rest = parts[parts.length - 1]!;
    const rel = isInside(scanRoot, dir) ? toRel(scanRoot, dir) || "." : null;
    m = rel !== null ? `${rel}: ${rest}` : rest;
  }
  return m.replace(new RegExp(`${tmpdir().replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}/fluxguard-render-[A-Za-z0-9-]+/?`, "g"), "");
}


function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}


function applyAffixes(docs: RenderedDoc[], namespace?: string, prefix?: string, suffix?: string): RenderedDoc[] {
  if (!namespace && !prefix && !suffix) return docs;
  for (const d of docs) {
    const md = d.value.metadata;
    if (namespace && !isClusterScopedKind(d.value.kind)) md.namespace = namespace;
    if ((prefix || suffix) && d.value.kind !== "CustomResourceDefinition" && d.value.kind !== "Namespace") md.name = `${prefix ?? ""}${md.name}${suffix ?? ""}`;
  }
  return docs;
}

/** Flux patches are inline; a `path` in one is not allowed by the CRD and would read outside the build. */
function stripPatchPath(p: JsonValue): JsonValue {
  const o = asObject(p);
  if (!o) return p;
  const { path: _path, ...rest } = o;
  return rest;
}

function signature(job: RenderJob): string {
  return JSON.stringify([job.dirAbs, job.sourceRoot, job.settings]);
}

function parseOrigin(v: string | undefined, base: string): string | null {
  if (!v) return null;
  const m = /^path:\s*(.+)$/m.exec(v);
  if (!m) return null;
  return resolve(base, m[1]!.trim().replace(/^['"]|['"]$/g, ""));
}

function parseTransformations(v: string | undefined, base: string): string[] {
  if (!v) return [];
  const out: string[] = [];
  let current: string | null = null;
  for (const line of v.split("\n")) {
    const m = /configuredIn:\s*(.+)$/.exec(line);
    if (m) current = m[1]!.trim();
    if (current && /kind:\s*(PatchTransformer|PatchStrategicMergeTransformer|PatchJson6902Transformer|ImageTagTransformer)/.test(line)) {
      const abs = resolve(base, current);
      out.push(relative(base, abs).startsWith("w") && dirname(relative(base, abs)).match(/^w\d+$/) ? "flux" : abs);
      current = null;
    }
  }
  return [...new Set(out)];
}

/**
 * Flux postBuild substitution over an object (src/core/envsubst.ts: `${var}` and the default
 * forms drone/envsubst accepts); variables not in `vars` stay as written unless a default applies.
 */
export function substitute(value: JsonValue, vars: Record<string, string>): JsonValue {
  if (typeof value === "string") {
    if (!value.includes("${")) return value;
    const whole = /^\$\{[A-Za-z_][A-Za-z0-9_]*(?:(?:=|:=|:-|:\?|:\+)[^{}]*)?\}$/.test(value);
    const replaced = envsubst(value, vars);
    if (whole && replaced !== value) {
      if (/^-?\d+(\.\d+)?$/.test(replaced)) return Number(replaced);
      if (replaced === "true" || replaced === "false") return replaced === "true";
    }
    return replaced;
  }
  // Copy on write: a collection in which nothing changes is returned as it is (most of an
  // object holds no variable), one in which something changes is copied.
  if (Array.isArray(value)) {
    let out: JsonValue[] | null = null;
    for (let i = 0; i < value.length; i++) {
      const v = substitute(value[i]!, vars);
      if (out === null && v !== value[i]) out = value.slice(0, i);
      if (out !== null) out.push(v);
    }
    return out ?? value;
  }
  if (value !== null && typeof value === "object") {
    let out: JsonObject | null = null;
    const entries = Object.entries(value);
    for (let i = 0; i < entries.length; i++) {
      const [k, v] = entries[i]!;
      const s = substitute(v, vars);
      if (out === null && s !== v) {
        out = {};
        for (let j = 0; j < i; j++) out[entries[j]![0]] = entries[j]![1];
      }
      if (out !== null) out[k] = s;
    }
    return out ?? value;
  }
  return value;
}

export function fluxSettings(spec: JsonObject): FluxRenderSettings {
  const s: FluxRenderSettings = {
    patches: asArray(spec["patches"]),
    images: asArray(spec["images"]),
    components: asArray(spec["components"]).filter((c): c is string => typeof c === "string"),
  };
  const tn = asString(spec["targetNamespace"]);
  const np = asString(spec["namePrefix"]);
  const ns = asString(spec["nameSuffix"]);
  if (tn) s.targetNamespace = tn;
  if (np) s.namePrefix = np;
  if (ns) s.nameSuffix = ns;
  return s;
}
