/**
 * One cluster's Flux, from its objects: controllers and their flags, the lockdown, the RBAC
 * graph, and who every reconciler runs as. Shared by the file and live-cluster loaders.
 */
import type { FleetConfig } from "../core/config.js";
import { asArray, asObject, asString, FLUX_CONTROLLERS, flagIsTrue, isFluxInstance, isFluxKustomization, isHelmRelease, parseFlags, path as at, str, type FluxControllerName } from "../core/flux.js";
import type { ControllerInfo, FluxCluster, Lockdown, ModelObject, Reconciler, ReconcilerIdentity, RemoteTarget, RenderRecord } from "../core/model.js";
import { refOf } from "../core/model.js";
import { gitCheckout, trackedBranch } from "../core/gitref.js";
import { pointer } from "../core/pointer.js";
import { RbacGraph } from "../core/rbac.js";
import { declaredFluxVersion } from "../core/flux-version.js";
import type { JsonValue, K8sObject } from "../core/types.js";

export interface ClusterInput {
  id: string;
  objects: ModelObject[];
  entrypoint: ModelObject | null;
  config: FleetConfig;
  /** Lockdown flags per controller read from flux-system kustomize patches. */
  patchFlags?: Map<string, Map<string, string>>;
  render?: (ks: ModelObject) => RenderRecord | undefined;
  /** Add Flux's default cluster-reconciler binding when the install is not visible. */
  synthesizeDefaultBinding: boolean;
  /** Set for a cluster reached from a hub through spec.kubeConfig. */
  remote?: { hub: string; via: string[] };
  /** The first lines of a file (relative path), for the gotk-components.yaml version header; absent live. */
  headerOf?: (file: string) => string | null;
  /** What `flux-operator build instance` rendered for the cluster's FluxInstance (files mode). */
  instanceBuild?: ModelObject[];
}

const RBAC_KINDS = new Set(["ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"]);

export function normalizePath(p: string): string {
  const n = p.replace(/^\.\/?/, "").replace(/\/+$/, "");
  return n === "" ? "." : n;
}

function sourceRefKey(m: ModelObject): string | null {
  const kind = str(m.object, "spec", "sourceRef", "kind");
  const name = str(m.object, "spec", "sourceRef", "name");
  if (!kind || !name) return null;
  return `${kind}/${str(m.object, "spec", "sourceRef", "namespace") ?? m.object.metadata.namespace ?? "default"}/${name}`;
}

/**
 * The remote cluster a Kustomization or HelmRelease applies to through `spec.kubeConfig`
 * (`secretRef`, or `configMapRef` for workload identity), as seen from cluster `hubId`; null
 * when it applies to its own cluster. The id names the hub and the kubeconfig, so two hubs'
 * Secrets of the same name are different clusters and every Kustomization using one kubeconfig
 * reaches the same one.
 */
export function kubeConfigTarget(o: K8sObject, hubId: string): RemoteTarget | null {
  const kc = asObject(at(o, "spec", "kubeConfig"));
  if (!kc) return null;
  const ns = o.metadata.namespace ?? "default";
  const secret = str(kc, "secretRef", "name");
  const cm = str(kc, "configMapRef", "name");
  const kind = secret ? "Secret" : cm ? "ConfigMap" : null;
  if (!kind) return null;
  const name = (secret ?? cm)!;
  return { clusterId: `${hubId} -> ${kind === "ConfigMap" ? "ConfigMap " : ""}${ns}/${name}`, kind, namespace: ns, name, key: kind === "Secret" ? (str(kc, "secretRef", "key") ?? null) : null };
}

export function buildCluster(input: ClusterInput): FluxCluster {
  const { id, objects, config } = input;
  const entry = input.entrypoint;
  const controllers = new Map<FluxControllerName, ControllerInfo>();
  const fluxInstance = objects.find((m) => isFluxInstance(m.object)) ?? null;
  const rendered = fluxInstance ? (input.instanceBuild ?? []) : [];
  // The operator's rendering first; a controller Deployment in the repository wins.
  for (const [m, inst] of [...rendered.map((r) => [r, fluxInstance] as const), ...objects.map((o) => [o, null] as const)]) {
    if (m.object.kind !== "Deployment") continue;
    const name = m.object.metadata.name as FluxControllerName;
    if (!FLUX_CONTROLLERS.includes(name)) continue;
    const info = controllerInfo(m, name);
    if (info) controllers.set(name, inst ? { ...info, fluxInstance: inst } : info);
  }
  const fluxNamespace = [...controllers.values()][0]?.namespace ?? fluxInstance?.object.metadata.namespace ?? entry?.object.metadata.namespace ?? config.platform.namespaces[0] ?? "flux-system";
  const patchFlags = input.patchFlags ?? (fluxInstance ? lockdownPatches(asArray(at(fluxInstance.object, "spec", "kustomize", "patches"))).flags : undefined);
  const lockdown = {
    "kustomize-controller": lockdownFor(config, controllers.get("kustomize-controller"), fluxInstance, patchFlags?.get("kustomize-controller")),
    "helm-controller": lockdownFor(config, controllers.get("helm-controller"), fluxInstance, patchFlags?.get("helm-controller")),
  };
  // The RBAC the operator installs (cluster-reconciler, crd-controller) is the cluster's too.
  let rbacObjects = rendered.length ? [...objects, ...rendered.filter((m) => RBAC_KINDS.has(m.object.kind))] : objects;
  // Flux's install binds cluster-admin to its controllers. When the install is not in the
  // repository (bootstrap, Flux Operator), model that default so rules can see it.
  const hasReconcilerBinding = rbacObjects.some((m) => m.object.kind === "ClusterRoleBinding" && asArray(m.object["subjects"] as JsonValue).some((s) => str(s, "name") === "kustomize-controller"));
  const installVisible = controllers.has("kustomize-controller");
  if (input.synthesizeDefaultBinding && !hasReconcilerBinding && !installVisible && (entry || fluxInstance)) {
    const anchor = fluxInstance ?? entry!;
    const binding: K8sObject = {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: `cluster-reconciler-${fluxNamespace}`, annotations: { "fluxguard.io/synthesized": "Flux's default install binds cluster-admin to its controllers" } },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
      subjects: [
        { kind: "ServiceAccount", name: "kustomize-controller", namespace: fluxNamespace },
        { kind: "ServiceAccount", name: "helm-controller", namespace: fluxNamespace },
      ],
    };
    rbacObjects = [
      ...rbacObjects,
      { key: `synth:default-binding:${id}`, object: binding, ref: refOf(binding), origin: { kind: "synthesized", ...(anchor.origin.file ? { file: anchor.origin.file } : {}) }, clusterId: id, locate: () => anchor.locate("") },
    ];
  }
  const operatorDeployment = objects.find((m) => m.object.kind === "Deployment" && m.object.metadata.name === "flux-operator");
  const fluxOperator = operatorDeployment ? operatorInfo(operatorDeployment) : undefined;
  const cluster: FluxCluster = {
    id,
    entrypoint: entry,
    fluxNamespace,
    controllers,
    fluxInstance,
    ...(rendered.length ? { fluxInstanceBuild: rendered } : {}),
    ...(fluxOperator ? { fluxOperator } : {}),
    lockdown,
    objects,
    rbac: new RbacGraph(rbacObjects),
    reconcilers: [],
    paths: [],
    branches: [],
    ...(input.remote ? { remote: input.remote } : {}),
    fluxVersion: declaredFluxVersion(objects, input.headerOf ?? (() => null)),
  };
  for (const m of objects) {
    const isKs = isFluxKustomization(m.object);
    if (!isKs && !isHelmRelease(m.object)) continue;
    const kind = isKs ? "Kustomization" : "HelmRelease";
    const controller = isKs ? "kustomize-controller" : "helm-controller";
    const ns = m.object.metadata.namespace ?? "default";
    const sa = str(m.object, "spec", "serviceAccountName");
    const ld = lockdown[controller];
    const remote = kubeConfigTarget(m.object, id);
    // With spec.kubeConfig the controller acts on the remote cluster with the kubeconfig's
    // credentials and impersonates serviceAccountName there when set (fluxcd/pkg runtime/client
    // Impersonator); the hub's controller identity and lockdown default do not apply.
    const identity: ReconcilerIdentity = remote
      ? { namespace: ns, serviceAccount: sa ?? "", source: "kubeconfig" }
      : sa
        ? { namespace: ns, serviceAccount: sa, source: "spec" }
        : ld.defaultServiceAccount
          ? { namespace: ns, serviceAccount: ld.defaultServiceAccount, source: "default-service-account" }
          : { namespace: fluxNamespace, serviceAccount: controller, source: "controller" };
    // The kubeconfig's own identity is the platform's (it can do what the kubeconfig allows).
    const platformSA =
      (remote !== null && !sa) ||
      (identity.namespace === fluxNamespace && (FLUX_CONTROLLERS as readonly string[]).includes(identity.serviceAccount)) ||
      config.platform.serviceAccounts.includes(`${identity.namespace}/${identity.serviceAccount}`);
    const rec: Reconciler = {
      key: `${id}|${kind}/${ns}/${m.object.metadata.name}`,
      kind,
      object: m,
      clusterId: id,
      identity,
      tier: platformSA ? "platform" : "tenant",
      dependsOn: asArray(at(m.object, "spec", "dependsOn"))
        .map((d) => (str(d, "name") ? `${str(d, "namespace") ?? ns}/${str(d, "name")}` : null))
        .filter((x): x is string => x !== null),
    };
    if (remote) rec.remote = remote;
    if (isKs) {
      const r = input.render?.(m);
      if (r) rec.render = r;
      const p = str(m.object, "spec", "path");
      if (p) cluster.paths.push(normalizePath(p));
    }
    cluster.reconcilers.push(rec);
  }
  cluster.paths = [...new Set(cluster.paths)].sort();
  cluster.branches = trackedBranches(objects, cluster.reconcilers);
  return cluster;
}

/** The branches the GitRepositories the reconcilers apply from track (`cluster.branches`), sorted, once each. */
export function trackedBranches(objects: readonly ModelObject[], reconcilers: readonly Reconciler[]): string[] {
  const usedSources = new Set(reconcilers.map((r) => sourceRefKey(r.object)).filter((x): x is string => x !== null));
  const branches: string[] = [];
  for (const m of objects) {
    if (m.object.kind !== "GitRepository") continue;
    if (!usedSources.has(`GitRepository/${m.object.metadata.namespace ?? "default"}/${m.object.metadata.name}`)) continue;
    // The branch Flux applies, however the ref names it (ref.branch, ref.name: refs/heads/…, the default).
    const b = trackedBranch(gitCheckout(at(m.object, "spec", "ref")));
    if (b) branches.push(b);
  }
  return [...new Set(branches)].sort();
}

function lockdownFor(config: FleetConfig, ctrl: ControllerInfo | undefined, inst: ModelObject | null, patchFlags?: Map<string, string>): Lockdown {
  if (ctrl) {
    const f = ctrl.flags;
    const dsa = f.get("default-service-account")?.value;
    return {
      noCrossNamespaceRefs: flagIsTrue(f.get("no-cross-namespace-refs")?.value),
      defaultServiceAccount: dsa && dsa !== "true" ? dsa : null,
      noRemoteBases: flagIsTrue(f.get("no-remote-bases")?.value),
      evidence: "controller-args",
    };
  }
  const has = (f: string): boolean => patchFlags?.has(f) === true;
  const patched = ["no-cross-namespace-refs", "default-service-account", "no-remote-bases"].some(has);
  if (inst || patched) {
    // The FluxInstance's multitenant setting first, then any flag the kustomize patches set.
    const multi = inst ? at(inst.object, "spec", "cluster", "multitenant") === true : false;
    const instDsa = multi ? (str(inst!.object, "spec", "cluster", "tenantDefaultServiceAccount") ?? "default") : null;
    const dsa = patchFlags?.get("default-service-account");
    return {
      noCrossNamespaceRefs: has("no-cross-namespace-refs") ? flagIsTrue(patchFlags!.get("no-cross-namespace-refs")) : multi,
      defaultServiceAccount: dsa && dsa !== "true" ? dsa : instDsa,
      // multitenant does not set --no-remote-bases (generate adds it as a patch).
      noRemoteBases: has("no-remote-bases") ? flagIsTrue(patchFlags!.get("no-remote-bases")) : false,
      evidence: patched ? "kustomize-patches" : "flux-instance",
    };
  }
  if (config.platform.defaultServiceAccount) {
    return { noCrossNamespaceRefs: undefined, defaultServiceAccount: config.platform.defaultServiceAccount, noRemoteBases: undefined, evidence: "config" };
  }
  return { noCrossNamespaceRefs: undefined, defaultServiceAccount: undefined, noRemoteBases: undefined, evidence: "none" };
}

/**
 * The Flux Operator's Deployment: its service account, and the default service account it
 * impersonates for ResourceSets (`--default-service-account`, else the `DEFAULT_SERVICE_ACCOUNT`
 * environment variable; flux-operator cmd/operator/main.go).
 */
function operatorInfo(m: ModelObject): NonNullable<FluxCluster["fluxOperator"]> {
  const containers = asArray(at(m.object, "spec", "template", "spec", "containers"));
  const c = containers.find((x) => str(x, "name") === "manager") ?? containers[0];
  const flags = parseFlags(asArray(at(c, "args")).filter((a): a is string => typeof a === "string"));
  const env = asArray(at(c, "env")).find((e) => str(e, "name") === "DEFAULT_SERVICE_ACCOUNT");
  const dsa = flags.get("default-service-account")?.value || str(env, "value") || null;
  return {
    namespace: m.object.metadata.namespace ?? "flux-system",
    serviceAccount: str(m.object, "spec", "template", "spec", "serviceAccountName") ?? "flux-operator",
    defaultServiceAccount: dsa && dsa !== "true" ? dsa : null,
    object: m,
  };
}

export function controllerInfo(m: ModelObject, name: FluxControllerName): ControllerInfo | null {
  const containers = asArray(at(m.object, "spec", "template", "spec", "containers"));
  let idx = containers.findIndex((c) => str(c, "name") === "manager");
  if (idx < 0) idx = 0;
  const c = containers[idx];
  if (!c) return null;
  const args = asArray(at(c, "args")).filter((a): a is string => typeof a === "string");
  return {
    name,
    namespace: m.object.metadata.namespace ?? "flux-system",
    object: m,
    containerPointer: pointer("spec", "template", "spec", "containers", idx),
    args,
    flags: parseFlags(args),
    serviceAccount: str(m.object, "spec", "template", "spec", "serviceAccountName") ?? name,
  };
}


/**
 * Reads lockdown flags from kustomize patches (a flux-system kustomization's, or a
 * FluxInstance's `spec.kustomize.patches`) when the controller manifests are not visible.
 */
export function lockdownPatches(patches: JsonValue[]): { flags: Map<string, Map<string, string>>; kustomizationServiceAccount: string | null } {
  const flags = new Map<string, Map<string, string>>();
  let kustomizationServiceAccount: string | null = null;
  for (const p of patches) {
    const po = asObject(p) ?? {};
    const text = asString(po["patch"]) ?? "";
    const target = asObject(po["target"]) ?? {};
    const kind = asString(target["kind"]);
    const name = asString(target["name"]) ?? ".*";
    if (kind === "Kustomization") {
      const m = /path:\s*\/spec\/serviceAccountName[\s\S]*?value:\s*["']?([\w.-]+)/.exec(text) ?? /serviceAccountName:\s*["']?([\w.-]+)/.exec(text);
      if (m) kustomizationServiceAccount = m[1]!;
      continue;
    }
    if (kind !== undefined && kind !== "Deployment") continue;
    let re: RegExp;
    try {
      re = new RegExp(`^(?:${name})$`);
    } catch {
      continue;
    }
    const found = [...text.matchAll(/--([a-z-]+)(?:=([^\s"']+))?/g)];
    for (const controller of FLUX_CONTROLLERS) {
      if (!re.test(controller)) continue;
      const map = flags.get(controller) ?? new Map<string, string>();
      for (const f of found) map.set(f[1]!, f[2] ?? "true");
      flags.set(controller, map);
    }
  }
  return { flags, kustomizationServiceAccount };
}

