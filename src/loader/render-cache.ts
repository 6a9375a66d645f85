/**
 * A persistent cache of kustomize builds, so a repeat audit does not run kustomize again for
 * paths whose inputs did not change. Correct by construction: the key hashes the kustomize
 * version, the Flux-level settings, the path, and the content of every file the build reads
 * (every kustomization in the tree and every file they reference). Builds that produce a
 * Secret, or hold URL credentials or a literal value under a secret-like key, are never written, so no secret value lands on disk. Entries are files of mode 0600
 * in a 0700 directory; set FLUXGUARD_CACHE=off to disable it.
 */
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import type { RenderMethod } from "../core/model.js";
import type { K8sObject } from "../core/types.js";
import { holdsSecret } from "../core/redact.js";

export const RENDER_CACHE_VERSION = 1;

interface Entry {
  v: number;
  method: RenderMethod | null;
  problems: string[];
  docs: Array<{ value: K8sObject; origin: string | null; patchedBy: string[] }>;
}

export interface CachedOutcome {
  method: RenderMethod | null;
  problems: string[];
  docs: Array<{ value: K8sObject; originFile: string | null; patchedBy: string[] }>;
}

export class RenderCache {
  constructor(private readonly dir: string) {}

  /** The cache directory for an environment, or null when caching is off or there is no home. */
  static dirFor(env: Record<string, string | undefined>): string | null {
    if (env["FLUXGUARD_CACHE"] === "off") return null;
    if (env["FLUXGUARD_CACHE_DIR"]) return env["FLUXGUARD_CACHE_DIR"];
    const base = env["XDG_CACHE_HOME"] ?? (env["HOME"] ? join(env["HOME"], ".cache") : null);
    return base ? join(base, "fluxguard", "render") : null;
  }

  static key(parts: { tool: string; settings: unknown; path: string; files: Array<[string, string]> }): string {
    const h = createHash("sha256");
    h.update(JSON.stringify([RENDER_CACHE_VERSION, parts.tool, parts.settings, parts.path]));
    for (const [rel, text] of [...parts.files].sort(([a], [b]) => a.localeCompare(b))) {
      h.update("\0");
      h.update(rel);
      h.update("\0");
      h.update(text);
    }
    return h.digest("hex");
  }

  get(key: string, sourceRoot: string): CachedOutcome | null {
    let entry: Entry;
    try {
      entry = JSON.parse(readFileSync(join(this.dir, `${key}.json`), "utf8")) as Entry;
    } catch {
      return null;
    }
    if (entry.v !== RENDER_CACHE_VERSION) return null;
    const abs = (p: string): string => (p === "flux" ? p : resolve(sourceRoot, p));
    return {
      method: entry.method,
      problems: entry.problems,
      docs: entry.docs.map((d) => ({ value: d.value, originFile: d.origin === null ? null : abs(d.origin), patchedBy: d.patchedBy.map(abs) })),
    };
  }

  put(key: string, sourceRoot: string, outcome: CachedOutcome): void {
    // Secret-bearing builds (a Secret, URL credentials, a literal password) never land on disk.
    if (outcome.docs.some((d) => d.value.kind === "Secret" || holdsSecret(d.value))) return;
    const rel = (p: string): string => (p === "flux" ? p : relative(sourceRoot, p));
    const entry: Entry = {
      v: RENDER_CACHE_VERSION,
      method: outcome.method,
      problems: outcome.problems,
      docs: outcome.docs.map((d) => ({ value: d.value, origin: d.originFile === null ? null : rel(d.originFile), patchedBy: d.patchedBy.map(rel) })),
    };
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      const tmp = join(this.dir, `.${key}.${process.pid}.tmp`);
      writeFileSync(tmp, JSON.stringify(entry), { mode: 0o600 });
      renameSync(tmp, join(this.dir, `${key}.json`));
    } catch {
      /* a cache that cannot be written is only slower */
    }
  }
}
