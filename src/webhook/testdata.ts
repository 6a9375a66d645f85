/**
 * A small live cluster as the webhook's watches would see it, for the webhook's tests and
 * benchmark: Flux's controllers with the lockdown flags, Flux's own cluster-reconciler
 * binding, the platform's signed sync source and Kustomization, and one tenant (team-a) with
 * its namespaced reconciler account, a signed source and a Kustomization; plus an unverified
 * GitRepository nothing applies yet.
 */
import type { K8sObject } from "../core/types.js";

const controller = (name: string, args: string[]): K8sObject =>
  ({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: "flux-system", labels: { "app.kubernetes.io/part-of": "flux", "app.kubernetes.io/component": name } },
    spec: {
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { serviceAccountName: name, containers: [{ name: "manager", image: `ghcr.io/fluxcd/${name}:v1.9.5`, args }] },
      },
    },
  }) as unknown as K8sObject;

const LOCKDOWN = ["--no-cross-namespace-refs=true", "--default-service-account=default", "--no-remote-bases=true"];

export const PLATFORM_URL = "ssh://git@github.com/example/fleet";
export const TENANT_URL = "ssh://git@github.com/example/team-a";

/** The baseline cluster. */
export function baselineCluster(): K8sObject[] {
  const objs: unknown[] = [
    { apiVersion: "v1", kind: "Namespace", metadata: { name: "flux-system" } },
    { apiVersion: "v1", kind: "Namespace", metadata: { name: "team-a" } },
    controller("source-controller", ["--watch-all-namespaces=true"]),
    controller("kustomize-controller", ["--watch-all-namespaces=true", ...LOCKDOWN]),
    controller("helm-controller", ["--watch-all-namespaces=true", "--no-cross-namespace-refs=true", "--default-service-account=default"]),
    controller("image-automation-controller", ["--watch-all-namespaces=true", "--no-cross-namespace-refs=true"]),
    { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "kustomize-controller", namespace: "flux-system" } },
    { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "helm-controller", namespace: "flux-system" } },
    { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "team-a", namespace: "team-a" } },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: "cluster-reconciler-flux-system" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
      subjects: [
        { kind: "ServiceAccount", name: "kustomize-controller", namespace: "flux-system" },
        { kind: "ServiceAccount", name: "helm-controller", namespace: "flux-system" },
      ],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: { name: "team-a-reconciler", namespace: "team-a" },
      rules: [{ apiGroups: ["apps"], resources: ["deployments"], verbs: ["get", "list", "watch", "create", "update", "patch", "delete"] }],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: "team-a-reconciler", namespace: "team-a" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "team-a-reconciler" },
      subjects: [{ kind: "ServiceAccount", name: "team-a", namespace: "team-a" }],
    },
    {
      apiVersion: "source.toolkit.fluxcd.io/v1",
      kind: "GitRepository",
      metadata: { name: "flux-system", namespace: "flux-system" },
      spec: { interval: "1m", url: PLATFORM_URL, ref: { branch: "main" }, secretRef: { name: "flux-system" }, verify: { mode: "HEAD", secretRef: { name: "platform-signers" } } },
    },
    {
      apiVersion: "kustomize.toolkit.fluxcd.io/v1",
      kind: "Kustomization",
      metadata: { name: "flux-system", namespace: "flux-system" },
      spec: { interval: "10m", path: "./clusters/production", prune: true, serviceAccountName: "kustomize-controller", sourceRef: { kind: "GitRepository", name: "flux-system" } },
    },
    {
      apiVersion: "source.toolkit.fluxcd.io/v1",
      kind: "GitRepository",
      metadata: { name: "team-a", namespace: "team-a" },
      spec: { interval: "1m", url: TENANT_URL, ref: { branch: "main" }, secretRef: { name: "team-a-deploy-key" }, verify: { mode: "HEAD", secretRef: { name: "team-a-signers" } } },
    },
    {
      apiVersion: "kustomize.toolkit.fluxcd.io/v1",
      kind: "Kustomization",
      metadata: { name: "team-a", namespace: "team-a" },
      spec: { interval: "10m", path: "./deploy", prune: true, serviceAccountName: "team-a", targetNamespace: "team-a", sourceRef: { kind: "GitRepository", name: "team-a" } },
    },
    {
      apiVersion: "source.toolkit.fluxcd.io/v1",
      kind: "GitRepository",
      metadata: { name: "team-a-experiments", namespace: "team-a" },
      spec: { interval: "1m", url: "ssh://git@github.com/example/team-a-experiments", ref: { branch: "main" }, secretRef: { name: "team-a-deploy-key" } },
    },
  ];
  return objs as K8sObject[];
}

/** An AdmissionReview as the API server sends it. */
export function admissionReview(object: unknown, opts: { uid?: string; operation?: string; oldObject?: unknown; username?: string } = {}): Record<string, unknown> {
  const o = object as { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } };
  const [group, version] = o.apiVersion.includes("/") ? (o.apiVersion.split("/") as [string, string]) : ["", o.apiVersion];
  const plural = `${o.kind.toLowerCase()}${o.kind.endsWith("y") ? "" : "s"}`.replace(/ys$/, "ies");
  return {
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid: opts.uid ?? "00000000-0000-4000-8000-000000000001",
      kind: { group, version, kind: o.kind },
      resource: { group, version, resource: plural },
      requestKind: { group, version, kind: o.kind },
      name: o.metadata.name,
      ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}),
      operation: opts.operation ?? "CREATE",
      userInfo: { username: opts.username ?? "jane@example.com", groups: ["system:authenticated"] },
      object,
      oldObject: opts.oldObject ?? null,
      dryRun: false,
    },
  };
}
