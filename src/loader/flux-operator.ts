/**
 * The Flux Operator CLI (`flux-operator`), run offline: `build resourceset` expands a
 * ResourceSet into the objects the operator would apply. fluxguard never templates
 * ResourceSets itself; without the CLI a ResourceSet is "not assessed".
 *
 * The CLI is built from its Go module at a pinned version (scripts/build-flux-operator.mjs,
 * `npm run build:flux-operator`) into dist/flux-operator/. $FLUXGUARD_FLUX_OPERATOR names
 * another binary, or `none` to run without it.
 *
 * Input-set attribution: before building, each `spec.resources[i]` template gets one extra
 * annotation whose value the builder itself fills in (`<< inputs | toJson | b64enc >>`), so
 * every expanded object says which template and which input set produced it. The annotation
 * is removed from the output; nothing else in the ResourceSet is changed.
 */
import { execFile, execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { asArray, asObject, asString } from "../core/flux.js";
import type { JsonObject, JsonValue, K8sObject } from "../core/types.js";

/** The version scripts/build-flux-operator.mjs pins. */
export const FLUX_OPERATOR_VERSION = "0.59.0";

/** The annotation fluxguard adds to each template and strips from the output. */
const MARK = "fluxguard.io/resourceset-origin";

export interface FluxOperatorTool {
  command: string;
  /** `flux-operator version --client`, e.g. `0.59.0`. */
  version: string;
}

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
    return { command, version };
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

/** Runs the CLI, a few builds at a time, in a private temporary directory. */
export class FluxOperatorRunner {
  private dir: string | null = null;
  private seq = 0;
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  private readonly memo = new Map<string, Promise<ResourceSetBuildResult>>();

  constructor(
    readonly tool: FluxOperatorTool,
    private readonly concurrency = 2,
    private readonly timeoutMs = 60_000,
  ) {}

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

  /** Removes the temporary directory. */
  close(): void {
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
