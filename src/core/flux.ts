/** What fluxguard knows about Flux's APIs and controllers (FLUX-FACTS.md). */
import type { JsonObject, JsonValue, K8sObject } from "./types.js";

export const GROUP = {
  source: "source.toolkit.fluxcd.io",
  kustomize: "kustomize.toolkit.fluxcd.io",
  helm: "helm.toolkit.fluxcd.io",
  image: "image.toolkit.fluxcd.io",
  notification: "notification.toolkit.fluxcd.io",
  operator: "fluxcd.controlplane.io",
} as const;

export const SOURCE_KINDS = ["GitRepository", "OCIRepository", "HelmRepository", "HelmChart", "Bucket", "ExternalArtifact"] as const;

export const FLUX_CONTROLLERS = [
  "source-controller",
  "kustomize-controller",
  "helm-controller",
  "notification-controller",
  "image-reflector-controller",
  "image-automation-controller",
  "source-watcher",
] as const;
export type FluxControllerName = (typeof FLUX_CONTROLLERS)[number];

/**
 * Flux's multi-tenancy lockdown (FLUX-FACTS.md §2.1): each flag, its recommended value, and
 * the controllers that take it. The audit, `fix` and `generate` all read this one table.
 */
export const LOCKDOWN_FLAGS = [
  {
    flag: "no-cross-namespace-refs",
    value: "true",
    controllers: ["kustomize-controller", "helm-controller", "notification-controller", "image-reflector-controller", "image-automation-controller"],
  },
  { flag: "no-remote-bases", value: "true", controllers: ["kustomize-controller"] },
  { flag: "default-service-account", value: "default", controllers: ["kustomize-controller", "helm-controller"] },
] as const satisfies ReadonlyArray<{ flag: string; value: string; controllers: readonly FluxControllerName[] }>;

/** The `target.name` regex of a lockdown patch: `(a|b)` for several controllers. */
export function controllersPattern(controllers: readonly string[]): string {
  return controllers.length === 1 ? controllers[0]! : `(${controllers.join("|")})`;
}

/** The JSON6902 patch text that appends one argument to a controller's manager container. */
export function addArgPatch(arg: string): string {
  return `- op: add\n  path: /spec/template/spec/containers/0/args/-\n  value: ${arg}\n`;
}

/**
 * Where Flux distributes its controller images: `flux install --registry` defaults to
 * `ghcr.io/fluxcd` (FLUX-FACTS.md §7), the same images are on Docker Hub under `fluxcd/`, and
 * the Flux Operator (and its distribution) publishes under `ghcr.io/controlplaneio-fluxcd`.
 */
export const FLUX_DISTRIBUTION_REGISTRIES = ["ghcr.io/fluxcd", "docker.io/fluxcd", "ghcr.io/controlplaneio-fluxcd"] as const;

/**
 * Whether a Deployment is one of Flux's own (a toolkit controller, or the Flux Operator) running
 * its image from the Flux distribution (`registry/repository` as `parseImage` normalises it,
 * e.g. `ghcr.io/fluxcd/source-controller`). A Flux-named Deployment running another image is not.
 */
export function isFluxDistributionImage(deploymentName: string, imagePath: string): boolean {
  if (!(FLUX_CONTROLLERS as readonly string[]).includes(deploymentName) && deploymentName !== "flux-operator") return false;
  return FLUX_DISTRIBUTION_REGISTRIES.some((r) => imagePath.startsWith(`${r}/`) && imagePath.endsWith(`/${deploymentName}`));
}

/** Controllers that impersonate a service account when applying (the reconcilers). */
export const IMPERSONATING_CONTROLLERS = ["kustomize-controller", "helm-controller"] as const;

export function groupOf(apiVersion: string): string {
  const i = apiVersion.indexOf("/");
  return i < 0 ? "" : apiVersion.slice(0, i);
}

/** Whether an apiVersion belongs to one of Flux's API groups (GROUP: the toolkit and the Flux Operator). */
export function isFluxApiGroup(apiVersion: string): boolean {
  return FLUX_API_GROUPS.has(groupOf(apiVersion));
}

const FLUX_API_GROUPS: ReadonlySet<string> = new Set(Object.values(GROUP));

export function versionOf(apiVersion: string): string {
  const i = apiVersion.indexOf("/");
  return i < 0 ? apiVersion : apiVersion.slice(i + 1);
}

export function isKind(o: K8sObject, group: string, kind: string): boolean {
  return o.kind === kind && groupOf(o.apiVersion) === group;
}

export const isFluxKustomization = (o: K8sObject): boolean => isKind(o, GROUP.kustomize, "Kustomization");
export const isHelmRelease = (o: K8sObject): boolean => isKind(o, GROUP.helm, "HelmRelease");
export const isGitRepository = (o: K8sObject): boolean => isKind(o, GROUP.source, "GitRepository");
export const isFluxInstance = (o: K8sObject): boolean => isKind(o, GROUP.operator, "FluxInstance");

/** Kinds that exist only at cluster scope (built-in and common add-ons). */
export const CLUSTER_SCOPED_KINDS = new Set([
  "Namespace",
  "Node",
  "PersistentVolume",
  "StorageClass",
  "CSIDriver",
  "CSINode",
  "VolumeAttachment",
  "ClusterRole",
  "ClusterRoleBinding",
  "CustomResourceDefinition",
  "APIService",
  "MutatingWebhookConfiguration",
  "ValidatingWebhookConfiguration",
  "ValidatingAdmissionPolicy",
  "ValidatingAdmissionPolicyBinding",
  "MutatingAdmissionPolicy",
  "MutatingAdmissionPolicyBinding",
  "PriorityClass",
  "RuntimeClass",
  "IngressClass",
  "CertificateSigningRequest",
  "FlowSchema",
  "PriorityLevelConfiguration",
  "PodSecurityPolicy",
  "ClusterIssuer",
  "ClusterPolicy",
  "ClusterSecretStore",
  "ClusterRoleTemplate",
  "GatewayClass",
  "ClusterImagePolicy",
  "ResourceSetInputProvider",
]);

/** Kinds that are namespaced for sure (used to tell unknown kinds apart). */
export function isClusterScopedKind(kind: string): boolean {
  return CLUSTER_SCOPED_KINDS.has(kind);
}

export function asObject(v: JsonValue | undefined): JsonObject | undefined {
  return v !== null && typeof v === "object" && !Array.isArray(v) ? v : undefined;
}

export function asArray(v: JsonValue | undefined): JsonValue[] {
  return Array.isArray(v) ? v : [];
}

export function asString(v: JsonValue | undefined): string | undefined {
  return typeof v === "string" ? v : undefined;
}

export function spec(o: K8sObject): JsonObject {
  return asObject(o["spec"] as JsonValue | undefined) ?? {};
}

/** A typed walk: `path(obj, "spec", "sourceRef", "kind")`. */
export function path(o: unknown, ...keys: Array<string | number>): JsonValue | undefined {
  let cur: unknown = o;
  for (const k of keys) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[k as string];
  }
  return cur as JsonValue | undefined;
}

/**
 * A value fluxguard cannot know before Flux or the Flux Operator fills it in: an unresolved
 * postBuild variable (`${var}`) or a ResourceSet input (`<< inputs.x >>`). Rules treat such a
 * field as unknown: neither a finding nor proof of safety.
 */
export function isTemplated(v: unknown): boolean {
  return typeof v === "string" && (/\$\{[^}]*\}/.test(v) || /<<[^>]*>>/.test(v));
}

export function str(o: unknown, ...keys: Array<string | number>): string | undefined {
  return asString(path(o, ...keys));
}

/** `kind/namespace/name`, the way cluster findings locate objects. */
export function objectId(o: { kind: string; metadata: { name: string; namespace?: string } }): string {
  return `${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`;
}

/** Parses `--flag=value`, `--flag value` and bare `--flag` forms from a container's args. */
export function parseFlags(args: readonly string[]): Map<string, { value: string; index: number }> {
  const out = new Map<string, { value: string; index: number }>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith("--")) continue;
    const eq = a.indexOf("=");
    if (eq >= 0) out.set(a.slice(2, eq), { value: a.slice(eq + 1), index: i });
    else {
      const next = args[i + 1];
      if (next !== undefined && !next.startsWith("--")) {
        out.set(a.slice(2), { value: next, index: i });
        i++;
      } else out.set(a.slice(2), { value: "true", index: i });
    }
  }
  return out;
}

export function flagIsTrue(v: string | undefined): boolean {
  return v !== undefined && /^(true|1|t|yes)$/i.test(v.trim());
}
