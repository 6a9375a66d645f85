/**
 * kustomize configs: reading them, walking the tree they reference, and finding the
 * kustomize binary. fluxguard never passes --enable-alpha-plugins, --enable-exec or
 * --enable-helm, and refuses to render trees that reach outside the scan root or over the
 * network.
 */
import { execFile, execFileSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { basename, dirname, join, normalize, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { KustomizeServerPool } from "./kustomize-server.js";
import { asArray, asObject, asString } from "../core/flux.js";
import type { JsonObject, JsonValue } from "../core/types.js";
import { KUSTOMIZATION_FILES } from "./files.js";
import { DEFAULT_MAX_FILE_BYTES, type ReadGuard } from "./guard.js";

/**
 * The kustomization file of a directory, as kustomize looks for it. With a guard, a
 * kustomization file (or directory) whose real path leaves the allowed roots does not count.
 */
export function kustomizationFileIn(dirAbs: string, guard?: ReadGuard): string | null {
  if (guard && !guard.allows(dirAbs)) return null;
  for (const name of KUSTOMIZATION_FILES) {
    const p = join(dirAbs, name);
    if (guard ? guard.allows(p) : existsSync(p)) return p;
  }
  return null;
}

/** kustomize's notion of a remote resource: a URL or a go-getter style repository reference. */
export function isRemoteRef(ref: string): boolean {
  return (
    /^[a-z][a-z0-9+.-]*:\/\//i.test(ref) ||
    ref.startsWith("git@") ||
    ref.startsWith("git::") ||
    /^(github\.com|gitlab\.com|bitbucket\.org)\//.test(ref) ||
    /\?ref=|\/\/[^/]/.test(ref.replace(/^[a-z]+:\/\//i, ""))
  );
}

export interface KustomizeTreeInfo {
  /** Kustomization files visited (absolute). */
  kustomizations: string[];
  remote: Array<{ file: string; ref: string }>;
  /** Local references that leave the scan root. */
  escapes: Array<{ file: string; ref: string }>;
  /** Fields that need plugins or network fluxguard will not run. */
  unsupported: Array<{ file: string; field: string }>;
  missing: Array<{ file: string; ref: string }>;
  /** Files used as patches, generator inputs or transformer configs: not objects. */
  auxiliaryFiles: string[];
}

function stringsOf(v: JsonValue | undefined): string[] {
  return asArray(v).filter((x): x is string => typeof x === "string");
}

/** The local paths a kustomization refers to, split by role. */
export function kustomizationRefs(cfg: JsonObject): { trees: string[]; files: string[]; aux: string[] } {
  const trees: string[] = [];
  const files: string[] = [];
  const aux: string[] = [];
  for (const r of [...stringsOf(cfg["resources"]), ...stringsOf(cfg["bases"])]) {
    if (/\.(ya?ml|json)$/i.test(r)) files.push(r);
    else trees.push(r);
  }
  trees.push(...stringsOf(cfg["components"]));
  for (const p of asArray(cfg["patches"])) {
    const path = asString(asObject(p)?.["path"]);
    if (path) aux.push(path);
  }
  aux.push(...stringsOf(cfg["patchesStrategicMerge"]).filter((p) => !p.includes("\n")));
  for (const p of asArray(cfg["patchesJson6902"])) {
    const path = asString(asObject(p)?.["path"]);
    if (path) aux.push(path);
  }
  for (const p of asArray(cfg["replacements"])) {
    const path = asString(asObject(p)?.["path"]);
    if (path) aux.push(path);
  }
  for (const field of ["configurations", "crds", "generators", "transformers", "validators"]) aux.push(...stringsOf(cfg[field]));
  for (const gen of [...asArray(cfg["configMapGenerator"]), ...asArray(cfg["secretGenerator"])]) {
    const g = asObject(gen) ?? {};
    for (const f of stringsOf(g["files"])) aux.push(f.includes("=") ? f.slice(f.indexOf("=") + 1) : f);
    aux.push(...stringsOf(g["envs"]));
    const env = asString(g["env"]);
    if (env) aux.push(env);
  }
  const openapi = asObject(cfg["openapi"]);
  const openapiPath = asString(openapi?.["path"]);
  if (openapiPath) aux.push(openapiPath);
  return { trees, files, aux };
}

/**
 * Walks a kustomization and everything it references, without running anything.
 * `readConfig` returns the parsed config of a kustomization file (the loader's cache). Every
 * reference is checked by its real path: one that leaves the guard's roots (a `../` path, an
 * absolute path, or a symlink pointing out) is an escape, and is never read.
 */
export function inspectKustomizeTree(dirAbs: string, guard: ReadGuard, readConfig: (fileAbs: string) => JsonObject | null): KustomizeTreeInfo {
  const info: KustomizeTreeInfo = { kustomizations: [], remote: [], escapes: [], unsupported: [], missing: [], auxiliaryFiles: [] };
  const seen = new Set<string>();
  const visit = (dir: string): void => {
    for (const name of KUSTOMIZATION_FILES) {
      const c = guard.check(join(dir, name));
      if (!c.ok && c.why === "outside") {
        info.escapes.push({ file: join(dir, name), ref: name });
        return;
      }
    }
    const kfile = kustomizationFileIn(dir, guard);
    if (!kfile || seen.has(kfile)) return;
    seen.add(kfile);
    info.kustomizations.push(kfile);
    const cfg = readConfig(kfile);
    if (!cfg) return;
    if (cfg["helmCharts"] !== undefined || cfg["helmChartInflationGenerator"] !== undefined) {
      info.unsupported.push({ file: kfile, field: "helmCharts (needs --enable-helm; Flux does not inflate charts in kustomize builds)" });
    }
    const { trees, files, aux } = kustomizationRefs(cfg);
    for (const ref of [...trees, ...files, ...aux]) {
      if (isRemoteRef(ref)) {
        info.remote.push({ file: kfile, ref });
        continue;
      }
      const abs = resolve(dirname(kfile), ref);
      const c = guard.check(abs);
      if (!c.ok) {
        // A reference that does not exist but whose path leaves the root lexically is an escape too.
        if (c.why === "outside" || !guard.allows(dirname(abs))) info.escapes.push({ file: kfile, ref });
        else info.missing.push({ file: kfile, ref });
        continue;
      }
      if (aux.includes(ref)) info.auxiliaryFiles.push(normalize(abs));
      if (trees.includes(ref) && statSync(abs).isDirectory()) visit(abs);
    }
  };
  visit(dirAbs);
  return info;
}

export interface KustomizeTool {
  /** argv prefix, e.g. ["kustomize", "build"] or ["kubectl", "kustomize"]. */
  command: string;
  args: string[];
  label: string;
  /** What `version` printed: part of the render cache key. */
  version?: string;
  /** fluxguard-kustomize (tools/kustomize-server): builds over a pipe, one process per core. */
  server?: boolean;
}

const SERVER_NAME = "fluxguard-kustomize";
/**
 * The request/response formats this client speaks (tools/kustomize-server/main.go
 * protocolVersion): 4 adds in-memory wrapper kustomizations (`files`); a server of protocol 3
 * (built before) still serves, from temporary directories on disk.
 */
const SERVER_PROTOCOLS = ["3", "4"];
const MEMORY_FILES_PROTOCOL = "4";

/** Where `npm run build:kustomize` puts the server: dist/kustomize-server/, beside the compiled code. */
export function defaultServerPath(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "kustomize-server", SERVER_NAME);
}

function probe(c: KustomizeTool): KustomizeTool | null {
  try {
    const out = execFileSync(c.command, c.server ? ["version"] : c.command.endsWith("kubectl") ? ["version", "--client"] : ["version"], {
      stdio: ["ignore", "pipe", "ignore"],
      timeout: 10_000,
    });
    const version = out.toString().trim();
    // A server built from older sources speaks another protocol: use a kustomize CLI instead
    // (`npm run build:kustomize` rebuilds it).
    if (c.server && !SERVER_PROTOCOLS.some((p) => version.startsWith(`${SERVER_NAME} protocol ${p},`))) return null;
    return { ...c, version };
  } catch {
    return null;
  }
}

/**
 * Finds a kustomize: $FLUXGUARD_KUSTOMIZE, else the fluxguard-kustomize server
 * ($FLUXGUARD_KUSTOMIZE_SERVER, or the one `npm run build:kustomize` built), then `kustomize`,
 * then `kubectl kustomize`.
 */
export function findKustomize(env: Record<string, string | undefined>): KustomizeTool | null {
  const explicit = env["FLUXGUARD_KUSTOMIZE"];
  if (explicit === "none" || explicit === "") return null;
  const server = (command: string): KustomizeTool => ({ command, args: [], label: SERVER_NAME, server: true });
  const serverPath = env["FLUXGUARD_KUSTOMIZE_SERVER"] ?? defaultServerPath();
  const candidates: KustomizeTool[] = explicit
    ? [basename(explicit) === SERVER_NAME ? server(explicit) : { command: explicit, args: explicit.endsWith("kubectl") ? ["kustomize"] : ["build"], label: explicit }]
    : [
        ...(serverPath !== "none" && existsSync(serverPath) ? [server(serverPath)] : []),
        { command: "kustomize", args: ["build"], label: "kustomize" },
        { command: "kubectl", args: ["kustomize"], label: "kubectl kustomize" },
      ];
  for (const c of candidates) {
    const found = probe(c);
    if (found) return found;
  }
  return null;
}

/** Bounds on one kustomize build (README "Bounds"). */
export const KUSTOMIZE_LIMITS = {
  /** Wall-clock time of one build (a batch of Kustomizations), milliseconds. */
  timeoutMs: 60_000,
  /** Memory of one kustomize process, MiB ($FLUXGUARD_KUSTOMIZE_MEMORY_MB overrides). */
  memoryMb: 2048,
} as const;

/**
 * The environment kustomize runs with: only what it needs (PATH, HOME, locale, GOGC and
 * fluxguard's own settings), never the caller's tokens; plugins pointed at nowhere.
 */
export function kustomizeEnv(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = { KUSTOMIZE_PLUGIN_HOME: "/nonexistent", GOGC: env["GOGC"] ?? "400" };
  for (const k of ["PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "FLUXGUARD_KUSTOMIZE_MEMORY_MB", "FLUXGUARD_KUSTOMIZE_CPUPROFILE"]) {
    const v = env[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}

function memoryMb(): number {
  const v = Number(process.env["FLUXGUARD_KUSTOMIZE_MEMORY_MB"]);
  return Number.isInteger(v) && v > 0 ? v : KUSTOMIZE_LIMITS.memoryMb;
}

/**
 * Runs one kustomize build under a memory limit (the shell's `ulimit -v`, twice the limit for
 * Go's address-space reservations) and a timeout. Rejects with kustomize's whole error, its
 * lines joined: the innermost cause (a DNS error, a missing file) is often on a later line.
 */
export function runKustomize(tool: KustomizeTool, dir: string, timeoutMs: number = KUSTOMIZE_LIMITS.timeoutMs): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    execFile(
      "/bin/sh",
      ["-c", `ulimit -v ${memoryMb() * 2 * 1024} 2>/dev/null; exec "$0" "$@"`, tool.command, ...tool.args, "--load-restrictor", "LoadRestrictionsNone", dir],
      // kustomize allocates heavily; a GC target of 400 % cuts its CPU time by about a quarter
      // for ~100 MB of memory per batch (measured by `npm run bench -- audit`).
      { maxBuffer: 512 * 1024 * 1024, timeout: timeoutMs, killSignal: "SIGKILL", env: kustomizeEnv(process.env) },
      (err, stdout, stderr) => {
        if (err) {
          const lines = (stderr || err.message).split("\n").map((l) => l.replace(/^E\d{4} [\d:.]+\s+\d+ [\w.]+:\d+\] /, "").trim());
          reject(new Error(lines.filter((l) => l !== "").join(" ") || err.message));
        } else resolvePromise(stdout);
      },
    );
  });
}

/** What a build returned: kustomize's YAML (CLIs), or parsed objects (the server). */
export type KustomizeOutput = { format: "yaml"; text: string } | { format: "json"; objects: unknown[] };

/** Builds for one render: a pool of servers, or a process per build for the CLIs. */
export interface KustomizeRunner {
  /**
   * True when the runner marks each object with its source file itself (the server), so the
   * build needs no kustomize buildMetadata: `sources` maps real paths of resource files to
   * the paths fluxguard knows them by, and `annotation` is the key to mark them with.
   */
  readonly marksSources: boolean;
  /** True when `build` takes `memFiles` (a server of protocol 4 or later). */
  readonly inMemory: boolean;
  /**
   * Builds `dir`. `roots` (real paths) confine what the server reads; the CLIs are handed a
   * tree without outside links instead (see Renderer.runBatch). `memFiles` (server only:
   * absolute path under `dir` -> text) are fluxguard's own kustomizations, which the server
   * holds in memory: `dir` then does not exist on disk.
   */
  build(dir: string, roots: readonly string[], sources?: { files: Record<string, string>; annotation: string }, memFiles?: Record<string, string>): Promise<KustomizeOutput>;
  /** Ends what the runner started; resolves when its processes have exited. */
  close(): Promise<void>;
  /** Starts up to `n` long-lived builders ahead of the first build (the server; a no-op for the CLIs). */
  prestart(n: number): void;
}

export function openKustomize(tool: KustomizeTool, concurrency: number): KustomizeRunner {
  if (tool.server) {
    const pool = new KustomizeServerPool(tool.command, Math.max(1, concurrency));
    return {
      marksSources: true,
      inMemory: tool.version?.startsWith(`${SERVER_NAME} protocol ${MEMORY_FILES_PROTOCOL},`) ?? false,
      build: async (dir, roots, sources, memFiles) => {
        const body = await pool.build(
          JSON.stringify({ dir, sources: sources?.files ?? {}, annotation: sources?.annotation ?? "", roots, maxFileBytes: DEFAULT_MAX_FILE_BYTES, ...(memFiles ? { files: memFiles } : {}) }),
          KUSTOMIZE_LIMITS.timeoutMs,
        );
        const objects = JSON.parse(body) as unknown;
        if (!Array.isArray(objects)) throw new Error("kustomize server returned something other than a list of objects");
        return { format: "json", objects };
      },
      close: () => pool.close(),
      prestart: (n) => pool.prestart(n),
    };
  }
  return {
    marksSources: false,
    inMemory: false,
    build: async (dir, _roots, _sources, memFiles) => {
      if (memFiles) throw new Error("a kustomize CLI builds only what is on disk");
      return { format: "yaml", text: await runKustomize(tool, dir) };
    },
    close: () => Promise.resolve(),
    prestart: () => undefined,
  };
}
