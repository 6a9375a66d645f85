/**
 * The Flux Operator CLI (`flux-operator`), run offline: `build resourceset` expands a
 * ResourceSet into the objects the operator would apply. fluxguard never templates
 * ResourceSets itself; without the CLI a ResourceSet is "not assessed".
 *
 * The CLI is built from its Go module at a pinned version (scripts/build-flux-operator.mjs,
 * `npm run build:flux-operator`) into dist/flux-operator/. $FLUXGUARD_FLUX_OPERATOR names
 * another binary, or `none` to run without it.
 *
 * `build instance` renders a FluxInstance into the controllers' Deployments, RBAC and sync
 * objects. The CLI pulls the Flux distribution (the controllers' manifests per Flux version)
 * as an OCI artifact, by default from ghcr.io; offline, `fluxguard-flux-distribution` (the Go
 * program in tools/flux-distribution, built beside the CLI) serves the distribution that the
 * Flux Operator itself ships (`config/data/flux` of its Go module at the same version) from a
 * loopback registry, and the CLI gets it through `--distribution-artifact`. Builds are cached
 * on disk (key: CLI version, distribution digest, the FluxInstance).
 *
 * Input-set attribution: before building, each `spec.resources[i]` template gets one extra
 * annotation whose value the builder itself fills in (`<< inputs | toJson | b64enc >>`), so
 * every expanded object says which template and which input set produced it. The annotation
 * is removed from the output; nothing else in the ResourceSet is changed.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { asArray, asObject, asString } from "../core/flux.js";
import type { JsonObject, JsonValue, K8sObject } from "../core/types.js";

/** The version scripts/build-flux-operator.mjs pins. */
export const FLUX_OPERATOR_VERSION = "0.59.0";

/** Bumped when what a cached FluxInstance build holds changes. */
const INSTANCE_CACHE_VERSION = 1;

/** The annotation fluxguard adds to each template and strips from the output. */
const MARK = "fluxguard.io/resourceset-origin";

export interface FluxOperatorTool {
  command: string;
  /** `flux-operator version --client`, e.g. `0.59.0`. */
  version: string;
  /**
   * The offline Flux distribution for `build instance`: the loopback server and the artifact
   * layer it serves (both made by scripts/build-flux-operator.mjs). Absent when not built.
   */
  distribution?: { server: string; layer: string };
}

/** Names of the distribution server and its layer, beside the CLI. */
export const DISTRIBUTION_SERVER = "fluxguard-flux-distribution";
export const DISTRIBUTION_LAYER = "flux-distribution.tar.gz";

/** Where `npm run build:flux-operator` puts the CLI. */
export function defaultFluxOperatorPath(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "flux-operator", "flux-operator");
}

/**
 * Finds the Flux Operator CLI: $FLUXGUARD_FLUX_OPERATOR (a path, or `none`), else the one the
 * build script made. Returns null when there is none or it does not run.
 */
export function findFluxOperator(env: Record<string, string | undefined>): FluxOperatorTool | null {
  const explicit = env["FLUXGUARD_FLUX_OPERATOR"];
  if (explicit === "none" || explicit === "") return null;
  const command = explicit ?? defaultFluxOperatorPath();
  if (!existsSync(command)) return null;
  try {
    const out = execFileSync(command, ["version", "--client"], { stdio: ["ignore", "pipe", "ignore"], timeout: 10_000, encoding: "utf8", env: childEnv() });
    const version = /client:\s*v?(\S+)/.exec(out)?.[1] ?? "unknown";
    const dir = dirname(command);
    const server = env["FLUXGUARD_FLUX_DISTRIBUTION"] === "none" ? null : join(dir, DISTRIBUTION_SERVER);
    const layer = join(dir, DISTRIBUTION_LAYER);
    return server && existsSync(server) && existsSync(layer) ? { command, version, distribution: { server, layer } } : { command, version };
  } catch {
    return null;
  }
}

/** One object `build resourceset` produced, with what produced it. */
export interface ExpandedObject {
  object: K8sObject;
  /** JSON pointer of the template in the ResourceSet (`/spec/resources/2`), or null. */
  template: string | null;
  /** The input set the builder used for it (`inputs`), or null when unknown. */
  inputs: JsonObject | null;
}

export interface ResourceSetBuildRequest {
  resourceSet: K8sObject;
  /** Static ResourceSetInputProviders (the CLI reads their `defaultValues`). */
  providers: K8sObject[];
}

export interface ResourceSetBuildResult {
  objects: ExpandedObject[];
  /** The builder's error, when it failed. */
  error: string | null;
}

/** What `flux-operator build instance` rendered (CustomResourceDefinitions left out). */
export interface InstanceBuildResult {
  objects: K8sObject[];
  /** Why it was not rendered (no distribution, a builder error); null when it was. */
  error: string | null;
}

/** Runs the CLI, a few builds at a time, in a private temporary directory. */
export class FluxOperatorRunner {
  private dir: string | null = null;
  private seq = 0;
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  private readonly memo = new Map<string, Promise<ResourceSetBuildResult>>();
  private readonly instanceMemo = new Map<string, Promise<InstanceBuildResult>>();
  private distribution: Promise<{ url: string; child: ChildProcess | null }> | null = null;
  private layerDigest: string | null = null;

  /**
   * `cacheDir`: where rendered FluxInstances are kept between runs (null: not kept). The
   * CustomResourceDefinitions are dropped first; nothing else in the output is secret (a sync
   * pull secret is only a name).
   */
  constructor(
    readonly tool: FluxOperatorTool,
    private readonly concurrency = 2,
    private readonly timeoutMs = 60_000,
    private readonly cacheDir: string | null = null,
  ) {}

  /**
   * `flux-operator build instance` with the offline distribution, memoised on the
   * FluxInstance and cached on disk. Resolves (never rejects) with the objects or the reason
   * there are none.
   */
  buildInstance(instance: K8sObject): Promise<InstanceBuildResult> {
    const dist = this.tool.distribution;
    if (!dist) return Promise.resolve({ objects: [], error: `the offline Flux distribution (${DISTRIBUTION_SERVER}) is not built beside the CLI; run npm run build:flux-operator` });
    const key = JSON.stringify(instance);
    let p = this.instanceMemo.get(key);
    if (!p) {
      p = this.cachedInstance(instance, dist);
      this.instanceMemo.set(key, p);
    }
    return p;
  }

  private async cachedInstance(instance: K8sObject, dist: { server: string; layer: string }): Promise<InstanceBuildResult> {
    this.layerDigest ??= createHash("sha256").update(readFileSync(dist.layer)).digest("hex");
    const key = createHash("sha256").update(JSON.stringify([INSTANCE_CACHE_VERSION, this.tool.version, this.layerDigest, instance])).digest("hex");
    const file = this.cacheDir ? join(this.cacheDir, `flux-instance-${key}.json`) : null;
    if (file) {
      try {
        const objects = JSON.parse(readFileSync(file, "utf8")) as K8sObject[];
        if (Array.isArray(objects)) return { objects, error: null };
      } catch {
        /* not cached */
      }
    }
    const res = await this.slot(() => this.runInstance(instance, dist));
    if (file && res.error === null) {
      try {
        mkdirSync(this.cacheDir!, { recursive: true, mode: 0o700 });
        const tmp = `${file}.${process.pid}.tmp`;
        writeFileSync(tmp, JSON.stringify(res.objects), { mode: 0o600 });
        renameSync(tmp, file);
      } catch {
        /* a cache that cannot be written is only slower */
      }
    }
    return res;
  }

  private async runInstance(instance: K8sObject, dist: { server: string; layer: string }): Promise<InstanceBuildResult> {
    let url: string;
    try {
      url = (await this.serveDistribution(dist)).url;
    } catch (e) {
      return { objects: [], error: (e as Error).message };
    }
    const n = this.seq++;
    const file = join(this.tmp(), `fluxinstance-${n}.json`);
    writeFileSync(file, JSON.stringify(instance), { mode: 0o600 });
    try {
      const out = await this.exec(["build", "instance", "-f", file, "--distribution-artifact", url], this.tmp());
      const objects = parseExpanded(out)
        .map((e) => e.object)
        .filter((o) => o.kind !== "CustomResourceDefinition");
      return objects.length ? { objects, error: null } : { objects: [], error: "flux-operator build instance printed no objects" };
    } catch (e) {
      return { objects: [], error: (e as Error).message };
    } finally {
      rmSync(file, { force: true });
    }
  }

  /** Starts the loopback distribution registry once; resolves with the artifact URL it prints. */
  private serveDistribution(dist: { server: string; layer: string }): Promise<{ url: string; child: ChildProcess | null }> {
    this.distribution ??= new Promise((resolvePromise, reject) => {
      const child = spawn(dist.server, ["serve", "-layer", dist.layer, "-tag", `v${this.tool.version}`], { stdio: ["pipe", "pipe", "pipe"], env: childEnv(this.tmp()) });
      let out = "";
      let err = "";
      const timer = setTimeout(() => {
        child.kill();
        reject(new Error(`${DISTRIBUTION_SERVER} did not start within 10 s`));
      }, 10_000);
      child.stdout.setEncoding("utf8").on("data", (d: string) => {
        out += d;
        const line = out.split("\n")[0];
        if (out.includes("\n") && line?.startsWith("oci://")) {
          clearTimeout(timer);
          resolvePromise({ url: line.trim(), child });
        }
      });
      child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
      child.on("error", (e) => {
        clearTimeout(timer);
        reject(new Error(`${DISTRIBUTION_SERVER} could not start: ${e.message}`));
      });
      child.on("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`${DISTRIBUTION_SERVER} exited (${code ?? "signal"}): ${err.trim().split("\n")[0] ?? ""}`));
      });
    });
    return this.distribution;
  }

  /** `flux-operator build resourceset`, memoised on the request's content. */
  buildResourceSet(req: ResourceSetBuildRequest): Promise<ResourceSetBuildResult> {
    const key = JSON.stringify([req.resourceSet, req.providers]);
    let p = this.memo.get(key);
    if (!p) {
      p = this.slot(() => this.runResourceSet(req));
      this.memo.set(key, p);
    }
    return p;
  }

  /** Stops the distribution registry (it ends when its stdin closes) and removes the temporary directory. */
  close(): void {
    const d = this.distribution;
    this.distribution = null;
    if (d) {
      d.then(({ child }) => child?.stdin?.end(), () => undefined).catch(() => undefined);
    }
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = null;
  }

  private async slot<T>(fn: () => Promise<T>): Promise<T> {
    if (this.running >= this.concurrency) await new Promise<void>((r) => this.waiting.push(r));
    this.running++;
    try {
      return await fn();
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }

  private tmp(): string {
    this.dir ??= mkdtempSync(join(tmpdir(), "fluxguard-flux-operator-"));
    return this.dir;
  }

  private async runResourceSet(req: ResourceSetBuildRequest): Promise<ResourceSetBuildResult> {
    const n = this.seq++;
    const dir = this.tmp();
    const rs = markTemplates(req.resourceSet);
    // Flux applies a namespaced object without a namespace to `default`; so does fluxguard.
    rs.metadata.namespace ??= "default";
    const files = [join(dir, `resourceset-${n}.json`)];
    writeFileSync(files[0]!, JSON.stringify(rs), { mode: 0o600 });
    const args = ["build", "resourceset", "-f", files[0]!];
    if (req.providers.length) {
      files.push(join(dir, `providers-${n}.yaml`));
      writeFileSync(files[1]!, req.providers.map((p) => `---\n${JSON.stringify(p)}\n`).join(""), { mode: 0o600 });
      args.push("--inputs-from-provider", files[1]!);
    } else if (asArray(asObject(rs["spec"] as JsonValue)?.["inputsFrom"]).length > 0) {
      // No provider resolved: the builder still wants inputs from somewhere; give it spec.inputs.
      files.push(join(dir, `inputs-${n}.json`));
      writeFileSync(files[1]!, JSON.stringify(asArray(asObject(rs["spec"] as JsonValue)?.["inputs"])), { mode: 0o600 });
      args.push("--inputs-from", files[1]!);
    }
    try {
      const out = await this.exec(args, dir);
      return { objects: parseExpanded(out), error: null };
    } catch (e) {
      return { objects: [], error: (e as Error).message };
    } finally {
      for (const f of files) rmSync(f, { force: true });
    }
  }

  private exec(args: string[], cwd: string): Promise<string> {
    return new Promise((resolvePromise, reject) => {
      execFile(this.tool.command, args, { cwd, timeout: this.timeoutMs, maxBuffer: 256 * 1024 * 1024, env: childEnv(cwd) }, (err, stdout, stderr) => {
        if (err) {
          const killed = (err as { killed?: boolean }).killed;
          const line = (stderr || err.message).split("\n").map((l) => l.trim()).find((l) => l !== "") ?? err.message;
          reject(new Error(killed ? `flux-operator did not finish within ${this.timeoutMs / 1000} s` : line.replace(/^✗\s*/, "")));
        } else resolvePromise(stdout);
      });
    });
  }
}

/** The CLI gets no kubeconfig and no credentials: what it builds is offline by design. */
function childEnv(home?: string): Record<string, string> {
  return { PATH: process.env["PATH"] ?? "/usr/bin:/bin", HOME: home ?? tmpdir(), KUBECONFIG: "/nonexistent", DOCKER_CONFIG: "/nonexistent" };
}

/** Adds the origin annotation to every JSON template (`spec.resources`, `spec.steps[].resources`). */
function markTemplates(rs: K8sObject): K8sObject {
  const copy = JSON.parse(JSON.stringify(rs)) as K8sObject;
  const mark = (list: JsonValue | undefined, base: string): void => {
    asArray(list).forEach((t, i) => {
      const md = asObject(asObject(t)?.["metadata"]);
      if (!md) return;
      const ann = md["annotations"];
      if (ann !== undefined && (ann === null || typeof ann !== "object" || Array.isArray(ann))) return;
      md["annotations"] = { ...(ann ?? {}), [MARK]: `${base}/${i}|<< inputs | toJson | b64enc >>` };
    });
  };
  const spec = asObject(copy["spec"] as JsonValue);
  if (!spec) return copy;
  mark(spec["resources"], "/spec/resources");
  asArray(spec["steps"]).forEach((s, i) => mark(asObject(s)?.["resources"], `/spec/steps/${i}/resources`));
  return copy;
}

/** Parses the CLI's multi-document YAML, taking the origin annotation back out. */
export function parseExpanded(text: string): ExpandedObject[] {
  const out: ExpandedObject[] = [];
  for (const doc of parseAllDocuments(text, { uniqueKeys: false })) {
    if (doc.errors.length) throw new Error(`flux-operator printed YAML fluxguard cannot read: ${doc.errors[0]!.message.split("\n")[0]}`);
    const v = doc.toJS({ maxAliasCount: 100 }) as JsonValue;
    const o = asObject(v);
    const md = asObject(o?.["metadata"]);
    if (!o || !md || typeof o["kind"] !== "string") continue;
    let template: string | null = null;
    let inputs: JsonObject | null = null;
    const ann = asObject(md["annotations"]);
    const mark = ann ? asString(ann[MARK]) : undefined;
    if (ann && mark !== undefined) {
      delete ann[MARK];
      if (Object.keys(ann).length === 0) delete md["annotations"];
      const bar = mark.indexOf("|");
      template = mark.slice(0, bar);
      try {
        inputs = asObject(JSON.parse(Buffer.from(mark.slice(bar + 1), "base64").toString("utf8")) as JsonValue) ?? null;
      } catch {
        inputs = null;
      }
    }
    out.push({ object: o as unknown as K8sObject, template, inputs });
  }
  return out;
}

/**
 * A short name for an input set, as people call it: the first plain value the set carries
 * besides the provider bookkeeping (`team-a` for `{tenant: team-a, ...}`), or its `id`.
 * `keyOrder` is the order the inputs are written in (the builder sorts them).
 */
export function inputSetLabel(inputs: JsonObject | null, keyOrder: readonly string[] = []): string | null {
  if (!inputs) return null;
  // The builder prints inputs with sorted keys; the ResourceSet's own key order (as written) comes first.
  const ordered = (o: JsonObject): Array<[string, JsonValue]> => {
    const rank = (k: string): number => (keyOrder.includes(k) ? keyOrder.indexOf(k) : keyOrder.length);
    return Object.entries(o).sort(([a], [b]) => rank(a) - rank(b));
  };
  const scalar = (o: JsonObject): string | null => {
    for (const [k, v] of ordered(o)) {
      if (k === "provider" || k === "id") continue;
      if (typeof v === "string" && v !== "") return v;
      if (typeof v === "number" || typeof v === "boolean") return String(v);
    }
    return null;
  };
  const direct = scalar(inputs);
  if (direct) return direct;
  // Permute: one nested map per provider.
  for (const [k, v] of Object.entries(inputs)) {
    const nested = k === "provider" ? undefined : asObject(v);
    const s = nested ? scalar(nested) : null;
    if (s) return s;
  }
  return asString(inputs["id"]) ?? null;
}

/** One document of a ResourceSet's `spec.resourcesTemplate`, as written (before templating). */
export interface TemplateDocument {
  /** 0-based line, within the template text, of the document's first field (`apiVersion:` when written). */
  line: number;
  apiVersion: string | null;
  kind: string | null;
  /** `metadata.name` as a pattern: literal text, with each `<< … >>` matching anything. */
  name: RegExp | null;
}

/**
 * Splits a `resourcesTemplate` (multi-document YAML with `<< >>` template actions) into its
 * documents and reads each one's top-level apiVersion, kind and metadata.name by line. Nothing
 * is templated or executed: this only says where in the text each kind of object is written.
 */
export function templateDocuments(template: string): TemplateDocument[] {
  const lines = template.split("\n");
  const docs: TemplateDocument[] = [];
  let cur: TemplateDocument | null = null;
  let inMetadata = false;
  const pattern = (v: string): RegExp | null => {
    const text = v.trim().replace(/^["']|["']$/g, "");
    if (text === "") return null;
    const parts = text.split(/<<.*?>>/);
    try {
      return new RegExp(`^${parts.map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`);
    } catch {
      return null;
    }
  };
  lines.forEach((raw, i) => {
    const line = raw.replace(/\s+$/, "");
    if (/^---(\s|$)/.test(line)) {
      cur = null;
      inMetadata = false;
      return;
    }
    if (line.trim() === "" || line.trim().startsWith("#") || /^\s*<<-?.*>>$/.test(line)) return;
    if (!cur) {
      cur = { line: i, apiVersion: null, kind: null, name: null };
      docs.push(cur);
    }
    const top = /^([A-Za-z]+):\s*(.*)$/.exec(line);
    if (top) {
      inMetadata = top[1] === "metadata";
      if (top[1] === "apiVersion") {
        cur.apiVersion = top[2]!.trim();
        cur.line = i;
      } else if (top[1] === "kind") cur.kind = top[2]!.trim();
      return;
    }
    const name = inMetadata ? /^\s+name:\s*(.+)$/.exec(line) : null;
    if (name && cur.name === null && /^(\s+)/.exec(line)![1]!.length <= 4) cur.name = pattern(name[1]!);
  });
  return docs.filter((d) => d.kind !== null);
}

/** The template document an expanded object came from: same kind (and apiVersion, unless templated), name matching when several do. */
export function templateDocumentOf(docs: readonly TemplateDocument[], o: K8sObject): TemplateDocument | null {
  const unquote = (v: string): string => v.trim().replace(/^["']|["']$/g, "");
  const templated = (v: string): boolean => v.includes("<<");
  const apiOk = (d: TemplateDocument): boolean => d.apiVersion === null || templated(d.apiVersion) || unquote(d.apiVersion) === o.apiVersion;
  // A document whose kind is written out wins; a templated kind (`kind: << inputs.kind >>`) may
  // be any kind, so it is matched by name (and apiVersion) only when no written kind matches.
  const exact = docs.filter((d) => d.kind !== null && unquote(d.kind) === o.kind && apiOk(d));
  const byName = (list: readonly TemplateDocument[]): TemplateDocument | undefined => list.find((d) => d.name?.test(o.metadata.name));
  const open = docs.filter((d) => d.kind !== null && templated(d.kind) && apiOk(d));
  return byName(exact) ?? byName(open) ?? exact[0] ?? (open.length === 1 ? open[0]! : null);
}
