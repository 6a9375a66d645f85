/**
 * The admission webhook's test and benchmark inputs, in one place (src/webhook/*.test.ts,
 * src/rules/reads.test.ts, bench/webhook.ts): a small live cluster as the webhook's watches
 * would see it (Flux's controllers with the lockdown flags, Flux's own cluster-reconciler
 * binding, the platform's signed sync source and Kustomization, and one tenant, team-a, with its
 * namespaced reconciler account, a signed source and a Kustomization; plus an unverified
 * GitRepository nothing applies yet), the objects sent as candidates, and the AdmissionReview
 * the API server wraps them in.
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

/** team-a's reconciler service account, as a binding subject. */
export const TEAM_A_RECONCILER = { kind: "ServiceAccount", name: "team-a", namespace: "team-a" } as const;

/** A Flux Kustomization in `namespace` (interval, path `./` and prune set; `spec` adds to them). */
export function kustomization(name: string, namespace: string, spec: Record<string, unknown>, annotations?: Record<string, string>) {
  return {
    apiVersion: "kustomize.toolkit.fluxcd.io/v1",
    kind: "Kustomization",
    metadata: { name, namespace, ...(annotations ? { annotations } : {}) },
    spec: { interval: "10m", path: "./", prune: true, ...spec },
  };
}

/** A tenant Kustomization in team-a, as team-a's reconciler account, applying from `source` (a GitRepository in team-a). */
export function tenantKustomization(name: string, source: string, spec: Record<string, unknown> = { targetNamespace: "team-a" }) {
  return kustomization(name, "team-a", { serviceAccountName: "team-a", ...spec, sourceRef: { kind: "GitRepository", name: source } });
}

/** A GitRepository in `namespace` tracking branch main every minute (`spec` adds to that). */
export function gitRepository(name: string, namespace: string, spec: Record<string, unknown>, annotations?: Record<string, string>) {
  return {
    apiVersion: "source.toolkit.fluxcd.io/v1",
    kind: "GitRepository",
    metadata: { name, namespace, ...(annotations ? { annotations } : {}) },
    spec: { interval: "1m", ref: { branch: "main" }, ...spec },
  };
}

/** The platform's image automation (flux-system/fleet): checks out main of the platform source and pushes to `pushBranch`. */
export function imageUpdateAutomation(pushBranch: string) {
  return {
    apiVersion: "image.toolkit.fluxcd.io/v1",
    kind: "ImageUpdateAutomation",
    metadata: { name: "fleet", namespace: "flux-system" },
    spec: {
      interval: "30m",
      sourceRef: { kind: "GitRepository", name: "flux-system" },
      git: { checkout: { ref: { branch: "main" } }, commit: { author: { name: "flux", email: "flux@example.com" } }, push: { branch: pushBranch } },
      update: { path: "./clusters/production", strategy: "Setters" },
    },
  };
}

/** A (Cluster)RoleBinding of ClusterRole `role` to one subject (a RoleBinding when `namespace` is given). */
export function binding(kind: "ClusterRoleBinding" | "RoleBinding", name: string, role: string, subject: Record<string, unknown>, namespace?: string) {
  return {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind,
    metadata: { name, ...(namespace ? { namespace } : {}) },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role },
    subjects: [subject],
  };
}

/** The escalation the webhook tests deny: ClusterRoleBinding team-a-admin makes team-a's reconciler account cluster-admin. */
export function teamAdminBinding() {
  return binding("ClusterRoleBinding", "team-a-admin", "cluster-admin", TEAM_A_RECONCILER);
}

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
    gitRepository("flux-system", "flux-system", { url: PLATFORM_URL, secretRef: { name: "flux-system" }, verify: { mode: "HEAD", secretRef: { name: "platform-signers" } } }),
    kustomization("flux-system", "flux-system", { path: "./clusters/production", serviceAccountName: "kustomize-controller", sourceRef: { kind: "GitRepository", name: "flux-system" } }),
    gitRepository("team-a", "team-a", { url: TENANT_URL, secretRef: { name: "team-a-deploy-key" }, verify: { mode: "HEAD", secretRef: { name: "team-a-signers" } } }),
    tenantKustomization("team-a", "team-a", { path: "./deploy", targetNamespace: "team-a" }),
    gitRepository("team-a-experiments", "team-a", { url: "ssh://git@github.com/example/team-a-experiments", secretRef: { name: "team-a-deploy-key" } }),
  ];
  return objs as K8sObject[];
}

/**
 * An AdmissionReview (admission.k8s.io/v1) as the API server sends it for `object`: request
 * kind and resource from its apiVersion and kind (plural by English rules, enough for the kinds
 * used here), `userInfo` a person's, `oldObject` null unless given (an UPDATE's).
 */
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

/** {@link admissionReview} as the request body the API server POSTs. */
export function reviewBody(object: unknown, opts: Parameters<typeof admissionReview>[1] = {}): string {
  return JSON.stringify(admissionReview(object, opts));
}

/**
 * Objects the webhook's equivalence test and benchmark put into the cluster or send as
 * candidates: several versions of the same slots (so updates change something), across the
 * kinds the rules read, compliant and not.
 */
export function admissionObjectVariants(): K8sObject[] {
  const hr = (name: string, ns: string, sa: string | null, values: unknown): unknown => ({
    apiVersion: "helm.toolkit.fluxcd.io/v2",
    kind: "HelmRelease",
    metadata: { name, namespace: ns },
    spec: { interval: "10m", ...(sa ? { serviceAccountName: sa } : {}), chart: { spec: { chart: "agent", version: "1.2.3", sourceRef: { kind: "HelmRepository", name: "charts" } } }, values },
  });
  const policy = (name: string, range: string): unknown => ({
    apiVersion: "image.toolkit.fluxcd.io/v1",
    kind: "ImagePolicy",
    metadata: { name, namespace: "team-a" },
    spec: { imageRepositoryRef: { name: "web" }, policy: { semver: { range } } },
  });
  const oci = (name: string, verify: unknown): unknown => ({
    apiVersion: "source.toolkit.fluxcd.io/v1",
    kind: "OCIRepository",
    metadata: { name, namespace: "team-a" },
    spec: { interval: "10m", url: "oci://ghcr.io/example/web", ref: { semver: ">=1.0.0 <2.0.0" }, ...(verify ? { verify } : {}) },
  });
  const objs: unknown[] = [
    // Sources: signed, unsigned, plain HTTP, SSH without a secret, suppressed, suspended.
    gitRepository("team-a-experiments", "team-a", { url: "ssh://git@github.com/example/team-a-experiments", secretRef: { name: "team-a-deploy-key" } }),
    gitRepository("team-a-experiments", "team-a", { url: "ssh://git@github.com/example/team-a-experiments", secretRef: { name: "team-a-deploy-key" }, verify: { mode: "HEAD", secretRef: { name: "s" } } }),
    gitRepository("team-a-experiments", "team-a", { url: "http://git.example.com/team-a-experiments" }),
    gitRepository("scratch", "team-a", { url: "ssh://git@github.com/example/scratch" }, { "fluxguard.io/ignore": "gitrepository-unverified: reviewed" }),
    gitRepository("scratch", "team-a", { url: "https://github.com/example/scratch", suspend: true, verify: { mode: "HEAD", secretRef: { name: "s" } } }),
    gitRepository("team-a", "team-a", { url: TENANT_URL, secretRef: { name: "team-a-deploy-key" } }),
    gitRepository("flux-system", "flux-system", { url: PLATFORM_URL, secretRef: { name: "flux-system" } }),
    // Reconcilers: on signed and unsigned sources, as tenants and as the platform, forced, cross-namespace.
    tenantKustomization("experiments", "team-a-experiments"),
    tenantKustomization("experiments", "team-a"),
    kustomization("experiments", "team-a", { serviceAccountName: "team-a", force: true, sourceRef: { kind: "GitRepository", name: "flux-system", namespace: "flux-system" } }),
    kustomization("scratch", "team-a", { sourceRef: { kind: "GitRepository", name: "scratch" } }, { "fluxguard.io/ignore": "all: throwaway" }),
    kustomization("platform-extra", "flux-system", { serviceAccountName: "kustomize-controller", sourceRef: { kind: "GitRepository", name: "team-a-experiments", namespace: "team-a" } }),
    kustomization("team-a", "team-a", { serviceAccountName: "team-a", suspend: true, sourceRef: { kind: "GitRepository", name: "team-a" } }),
    // RBAC: cluster-admin for a reconciler's account, into the Flux namespace, for a person; a small binding.
    teamAdminBinding(),
    binding("ClusterRoleBinding", "team-a-admin", "view", TEAM_A_RECONCILER),
    binding("RoleBinding", "team-a-in-flux", "cluster-admin", TEAM_A_RECONCILER, "flux-system"),
    binding("ClusterRoleBinding", "oncall", "cluster-admin", { kind: "User", name: "oncall@example.com" }),
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: { name: "team-a-reconciler", namespace: "team-a" },
      rules: [{ apiGroups: ["*"], resources: ["*"], verbs: ["*"] }],
    },
    { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "team-b", namespace: "team-a" } },
    { apiVersion: "v1", kind: "Namespace", metadata: { name: "team-b" } },
    // Helm: privileged values as the platform and as a tenant, clean values.
    hr("node-agent", "flux-system", "helm-controller", { daemonset: { securityContext: { privileged: true } } }),
    hr("node-agent", "flux-system", "helm-controller", { daemonset: { securityContext: { runAsNonRoot: true } } }),
    hr("web", "team-a", null, { hostNetwork: true }),
    {
      apiVersion: "source.toolkit.fluxcd.io/v1",
      kind: "HelmRepository",
      metadata: { name: "charts", namespace: "flux-system" },
      spec: { interval: "10m", url: "http://charts.example.com", passCredentials: true, secretRef: { name: "charts" } },
    },
    // Images: automation pushing to the applied branch or to a review branch; policies.
    imageUpdateAutomation("main"),
    imageUpdateAutomation("image-updates"),
    policy("web", ">=1.0.0"),
    policy("web", ">=1.0.0 <2.0.0"),
    policy("boom", ">=1.0.0 <2.0.0"),
    { apiVersion: "image.toolkit.fluxcd.io/v1", kind: "ImageRepository", metadata: { name: "web", namespace: "team-a" }, spec: { image: "docker.io/library/nginx", interval: "10m" } },
    oci("web", null),
    oci("web", { provider: "cosign", secretRef: { name: "cosign-pub" } }),
    // Alerting and the controllers' lockdown.
    {
      apiVersion: "notification.toolkit.fluxcd.io/v1beta3",
      kind: "Alert",
      metadata: { name: "failures", namespace: "flux-system" },
      spec: { providerRef: { name: "oncall" }, eventSeverity: "error", eventSources: [{ kind: "Kustomization", name: "*" }, { kind: "GitRepository", name: "*" }] },
    },
    { apiVersion: "notification.toolkit.fluxcd.io/v1beta3", kind: "Provider", metadata: { name: "oncall", namespace: "flux-system" }, spec: { type: "slack", secretRef: { name: "slack" } } },
    controller("kustomize-controller", ["--watch-all-namespaces=true"]),
    controller("kustomize-controller", ["--watch-all-namespaces=true", ...LOCKDOWN]),
    {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: { name: "allow-egress", namespace: "flux-system" },
      spec: { podSelector: {}, policyTypes: ["Egress"], egress: [{}] },
    },
  ];
  return objs as K8sObject[];
}

/**
 * Objects only a live cluster holds, for the random clusters of src/rules/reads.test.ts and the
 * webhook's equivalence walk: sources whose status says verification fails, and
 * content team-a's Kustomization applied (a privileged workload on a mutable tag, a
 * cluster-scoped binding), listed in an inventory or only labelled, and a DaemonSet its
 * HelmRelease `web` applied; a tenant source on a branch named like an environment, and
 * Flux's install applied from fluxcd/flux2 at a tag.
 */
export function liveObjects(): K8sObject[] {
  const failing = (kind: string, name: string, reason: string): unknown => ({
    apiVersion: "source.toolkit.fluxcd.io/v1",
    kind,
    metadata: { name, namespace: "team-a" },
    spec: { interval: "1m", url: kind === "GitRepository" ? "ssh://git@github.com/example/failing" : "oci://ghcr.io/example/failing" },
    status: { conditions: [{ type: "Ready", status: "False", reason }, { type: "SourceVerified", status: "False", reason, message: "signature by an unknown key" }] },
  });
  const applied = { "kustomize.toolkit.fluxcd.io/name": "team-a", "kustomize.toolkit.fluxcd.io/namespace": "team-a" };
  const objs: unknown[] = [
    failing("GitRepository", "failing", "InvalidCommitSignature"),
    failing("OCIRepository", "failing", "VerificationError"),
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web", namespace: "team-a", labels: applied },
      spec: { template: { spec: { serviceAccountName: "web", hostNetwork: true, containers: [{ name: "web", image: "docker.io/library/nginx:latest", securityContext: { privileged: true } }] } } },
    },
    { apiVersion: "v1", kind: "Pod", metadata: { name: "debug", namespace: "team-a", labels: applied }, spec: { containers: [{ name: "sh", image: "busybox" }] } },
    {
      apiVersion: "apps/v1",
      kind: "DaemonSet",
      metadata: { name: "agent", namespace: "team-a", labels: { "helm.toolkit.fluxcd.io/name": "web", "helm.toolkit.fluxcd.io/namespace": "team-a" } },
      spec: { template: { spec: { serviceAccountName: "web", hostPID: true, containers: [{ name: "agent", image: "ghcr.io/example/agent" }] } } },
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: "web-admin", labels: applied },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
      subjects: [{ kind: "ServiceAccount", name: "web", namespace: "team-a" }],
    },
    { apiVersion: "v1", kind: "Namespace", metadata: { name: "team-a-extra", labels: applied } },
    // Named by the inventory below, but not labelled: live, the inventory is what says Flux applied them.
    { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name: "web", namespace: "team-a" }, spec: { podSelector: {}, policyTypes: ["Egress"], egress: [{}] } },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: "web-view" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
      subjects: [{ kind: "ServiceAccount", name: "web", namespace: "team-a" }],
    },
    // Sources that change what the cluster says of itself: the branches its reconcilers track
    // (an environment's name), and the Flux version its install is applied at.
    gitRepository("team-a", "team-a", { url: TENANT_URL, ref: { branch: "staging" }, secretRef: { name: "team-a-deploy-key" } }),
    gitRepository("flux2", "flux-system", { url: "https://github.com/fluxcd/flux2", ref: { tag: "v2.3.0" } }),
    kustomization("flux-install", "flux-system", { path: "./manifests/install", serviceAccountName: "kustomize-controller", sourceRef: { kind: "GitRepository", name: "flux2" } }),
    {
      apiVersion: "kustomize.toolkit.fluxcd.io/v1",
      kind: "Kustomization",
      metadata: { name: "team-a", namespace: "team-a" },
      spec: { interval: "10m", path: "./deploy", prune: true, targetNamespace: "team-a", sourceRef: { kind: "GitRepository", name: "team-a" } },
      status: { inventory: { entries: [{ id: "team-a_web_apps_Deployment", v: "v1" }, { id: "_web-admin_rbac.authorization.k8s.io_ClusterRoleBinding", v: "v1" }, { id: "team-a_web_networking.k8s.io_NetworkPolicy", v: "v1" }, { id: "_web-view_rbac.authorization.k8s.io_ClusterRoleBinding", v: "v1" }] } },
    },
  ];
  return objs as K8sObject[];
}

/**
 * The GitRepository the webhook benchmark creates by the hundred: signed, and suspended so that
 * source-controller does not try to fetch it.
 */
export function benchGitRepository(name: string, namespace: string): K8sObject {
  return {
    apiVersion: "source.toolkit.fluxcd.io/v1",
    kind: "GitRepository",
    metadata: { name, namespace },
    spec: { interval: "60m", suspend: true, url: `ssh://git@example.com/${name}`, ref: { branch: "main" }, verify: { mode: "HEAD", secretRef: { name: "signers" } } },
  } as unknown as K8sObject;
}
