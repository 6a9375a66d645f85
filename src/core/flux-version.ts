/**
 * Which Flux version a cluster runs, as the repository (or the live cluster) declares it. The
 * one place that answers it; rules ask `fluxVersionOf(cluster)` (or read `cluster.fluxVersion`)
 * and judge API removals, metric names and controller flags against that version. With no
 * declaration, rules keep judging against the Flux release fluxguard knows (CURRENT_FLUX) and
 * say so.
 *
 * Where a version is declared, strongest first:
 * 1. `FluxInstance.spec.distribution.version` (Flux Operator): `2.3.0`, `v2.3.x`, `2.x`;
 * 2. the `# Flux Version: vX.Y.Z` header `flux install --export` / `flux bootstrap` write at the
 *    top of gotk-components.yaml (or the `app.kubernetes.io/version` label those manifests carry
 *    on Flux's own objects);
 * 3. a GitRepository of github.com/fluxcd/flux2 at a tag (or semver), or an OCIRepository of
 *    ghcr.io/fluxcd/flux-manifests at a tag, applied by a Kustomization (the install itself).
 */
import { asString, GROUP, groupOf, str } from "./flux.js";
import type { ModelObject } from "./model.js";

/** The Flux release fluxguard's knowledge describes (FLUX-FACTS.md). */
export const CURRENT_FLUX = { major: 2, minor: 9, label: "v2.9" } as const;

export interface FluxVersion {
  major: number;
  minor: number;
  /** null when only major.minor is declared (a range such as `2.3.x`). */
  patch: number | null;
}

export interface DeclaredFluxVersion {
  /** As written, e.g. `v0.31.4`, `2.3.x`. */
  declared: string;
  /** The version it resolves to; a range resolves to its newest minor (`2.x` is CURRENT_FLUX). */
  version: FluxVersion;
  /** Where it is declared. */
  evidence: {
    kind: "flux-instance" | "gotk-components-header" | "flux-manifests-label" | "flux2-source";
    object: ModelObject | null;
    /** The file (relative to the scan root) and what in it, for messages. */
    file: string | null;
    detail: string;
  };
}

/** Parses `v2.3.0`, `2.3`, `2.3.x`, `2.x`, `0.31.4`, `>=2.3.0` (the lowest bound), `~2.3`; null otherwise. */
export function parseFluxVersion(text: string): FluxVersion | null {
  const t = text.trim().replace(/^[~^>=<\s]+/, "").replace(/^v/, "");
  const m = /^(\d+)(?:\.(\d+|x|\*))?(?:\.(\d+|x|\*))?(?:[-+].*)?$/.exec(t);
  if (!m) return null;
  const major = Number(m[1]);
  if (m[2] === undefined || m[2] === "x" || m[2] === "*") {
    // A major-only range is the newest release of that major fluxguard knows, or unknown.
    return major === CURRENT_FLUX.major ? { major, minor: CURRENT_FLUX.minor, patch: null } : null;
  }
  const minor = Number(m[2]);
  const patch = m[3] === undefined || m[3] === "x" || m[3] === "*" ? null : Number(m[3]);
  return { major, minor, patch };
}

/** `a` before `b` by major.minor (patch ignored: API and metric changes happen at minors). */
export function olderThan(v: FluxVersion, major: number, minor: number): boolean {
  return v.major < major || (v.major === major && v.minor < minor);
}

/** `v2.3` / `v0.31.4`, for messages. */
export function formatFluxVersion(v: FluxVersion): string {
  return `v${v.major}.${v.minor}${v.patch === null ? "" : `.${v.patch}`}`;
}

/** Parses "v2.8" (or "2.8") into major.minor; null when malformed. */
export function parseMinor(text: string): { major: number; minor: number } | null {
  const m = /^v?(\d+)\.(\d+)/.exec(text);
  return m ? { major: Number(m[1]), minor: Number(m[2]) } : null;
}

const GOTK_COMPONENTS = /(^|\/)gotk-components\.ya?ml$/;

/** `host/owner/repo` of a Git or OCI URL (scheme, user, `.git` and trailing slashes dropped). */
function repoPath(url: string): string {
  return url
    .trim()
    .toLowerCase()
    .replace(/^[a-z+]+:\/\//, "")
    .replace(/^[^@/]+@/, "")
    .replace(/^([^/:]+):(?!\d)/, "$1/")
    .replace(/\.git$/, "")
    .replace(/\/+$/, "");
}

/**
 * The version a cluster declares, from its objects. `headerOf(file)` returns the first lines of
 * a file (the loader reads them; null live or when unknown). Deterministic: among several
 * declarations of one kind, the first by file then name.
 */
export function declaredFluxVersion(objects: readonly ModelObject[], headerOf: (file: string) => string | null): DeclaredFluxVersion | null {
  // Each step looks at the few objects of the kinds it reads, in file then name order (a
  // cluster holds thousands of objects; the model is built for every admission request).
  const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  const ordered = (pick: (m: ModelObject) => boolean): ModelObject[] =>
    objects.filter(pick).sort((a, b) => byText(a.origin.file ?? "", b.origin.file ?? "") || byText(a.object.metadata.name, b.object.metadata.name));
  // 1. FluxInstance.
  for (const m of ordered((x) => x.object.kind === "FluxInstance" && groupOf(x.object.apiVersion) === GROUP.operator)) {
    const declared = str(m.object, "spec", "distribution", "version");
    const version = declared ? parseFluxVersion(declared) : null;
    if (declared && version) return { declared, version, evidence: { kind: "flux-instance", object: m, file: m.origin.file ?? null, detail: `FluxInstance ${m.object.metadata.namespace ?? ""}/${m.object.metadata.name} spec.distribution.version ${declared}` } };
  }
  // 2. gotk-components.yaml header, then the version label on Flux's own manifests.
  const files = [...new Set(ordered((x) => x.origin.file !== undefined && GOTK_COMPONENTS.test(x.origin.file)).map((m) => m.origin.file!))];
  for (const f of files) {
    const header = headerOf(f);
    const hit = header ? /^#\s*Flux Version:\s*(\S+)/m.exec(header) : null;
    const version = hit ? parseFluxVersion(hit[1]!) : null;
    if (hit && version) return { declared: hit[1]!, version, evidence: { kind: "gotk-components-header", object: null, file: f, detail: `${f} header 'Flux Version: ${hit[1]}'` } };
  }
  for (const m of ordered((x) => x.object.kind === "Deployment" && x.object.metadata.labels?.["app.kubernetes.io/part-of"] === "flux")) {
    const declared = m.object.metadata.labels?.["app.kubernetes.io/version"];
    const version = declared ? parseFluxVersion(declared) : null;
    if (declared && version) return { declared, version, evidence: { kind: "flux-manifests-label", object: m, file: m.origin.file ?? null, detail: `Deployment ${m.object.metadata.namespace ?? ""}/${m.object.metadata.name} label app.kubernetes.io/version=${declared}` } };
  }
  // 3. The install applied from fluxcd/flux2 (Git) or flux-manifests (OCI) at a tag.
  const applied = new Set(
    objects
      .filter((m) => m.object.kind === "Kustomization" && groupOf(m.object.apiVersion) === GROUP.kustomize)
      .map((m) => `${str(m.object, "spec", "sourceRef", "kind") ?? ""}/${str(m.object, "spec", "sourceRef", "namespace") ?? m.object.metadata.namespace ?? "default"}/${str(m.object, "spec", "sourceRef", "name") ?? ""}`),
  );
  const installs = ordered(
    (m) =>
      (m.object.kind === "GitRepository" || m.object.kind === "OCIRepository") &&
      groupOf(m.object.apiVersion) === GROUP.source &&
      applied.has(`${m.object.kind}/${m.object.metadata.namespace ?? "default"}/${m.object.metadata.name}`),
  );
  for (const m of installs) {
    const url = str(m.object, "spec", "url") ?? "";
    const git = m.object.kind === "GitRepository" && repoPath(url) === "github.com/fluxcd/flux2";
    const oci = m.object.kind === "OCIRepository" && repoPath(url) === "ghcr.io/fluxcd/flux-manifests";
    if (!git && !oci) continue;
    const declared = asString(str(m.object, "spec", "ref", "tag")) ?? str(m.object, "spec", "ref", "semver");
    const version = declared ? parseFluxVersion(declared) : null;
    if (declared && version) {
      return { declared, version, evidence: { kind: "flux2-source", object: m, file: m.origin.file ?? null, detail: `${m.object.kind} ${m.object.metadata.namespace ?? ""}/${m.object.metadata.name} installs ${url} at ${declared}` } };
    }
  }
  return null;
}
