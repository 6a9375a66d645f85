/**
 * The live-cluster loader: reads Flux objects, RBAC, NetworkPolicies and the controller
 * Deployments through the Kubernetes API and builds the same FleetModel the file loader
 * builds, so the same rules run. Secrets are read only as key names, and only for the Git
 * credential Secrets that GitRepositories name (to see whether `known_hosts` is there).
 */
import type { KubeConfig as KubeConfigT } from "@kubernetes/client-node";
import type { FleetConfig } from "../core/config.js";
import { existsSync } from "node:fs";
import { UsageError } from "../core/errors.js";
import { asArray, asObject, asString, GROUP, isFluxKustomization, objectId, path as at, str } from "../core/flux.js";
import type { FleetModel, FluxCluster, ModelObject, RenderRecord } from "../core/model.js";
import { declaredFluxVersion } from "../core/flux-version.js";
import { RbacGraph } from "../core/rbac.js";
import { refOf } from "../core/model.js";
import type { JsonObject, JsonValue, K8sObject } from "../core/types.js";
import { buildCluster, trackedBranches } from "./tenancy.js";
import { importKubeClient } from "./kube-client.js";
import { collectionPath, KubeApi } from "./kube-http.js";
import { environmentProxy, isHttpProxy, kubeconfigFiles, nodeProxySupport, proxyForDisplay, resolveEndpoint } from "./kubeconfig.js";

export interface ClusterLoadOptions {
  config: FleetConfig;
  kubeconfig?: string;
  context?: string;
  env?: Record<string, string | undefined>;
  /**
   * "audit" (default): everything the rules read. "posture": what the reconciler-identity and
   * lockdown analysis reads (the monitor's posture gauges, every few minutes): Flux objects
   * without their status, RBAC, service accounts, namespaces, the controllers; no workloads
   * Flux applied and no Secret reads.
   */
  purpose?: "audit" | "posture";
  /** Whether Node.js can tunnel through a proxy (default `nodeProxySupport()`; tests). */
  proxySupport?: boolean;
}

interface KindSpec {
  apiVersion: string;
  kind: string;
  /** Flux is not installed without these. */
  required?: boolean;
  /** A Flux or add-on CRD that may be missing. */
  optional?: boolean;
  /** Extra input (Flux-applied workloads): a 403 is a notice, not a failed audit. */
  bestEffort?: boolean;
  namespace?: string;
  labelSelector?: string;
}

const FLUX_KINDS: KindSpec[] = [
  { apiVersion: `${GROUP.source}/v1`, kind: "GitRepository", required: true },
  { apiVersion: `${GROUP.kustomize}/v1`, kind: "Kustomization", required: true },
  { apiVersion: `${GROUP.source}/v1`, kind: "OCIRepository", optional: true },
  { apiVersion: `${GROUP.source}/v1`, kind: "HelmRepository", optional: true },
  { apiVersion: `${GROUP.source}/v1`, kind: "HelmChart", optional: true },
  { apiVersion: `${GROUP.source}/v1`, kind: "Bucket", optional: true },
  { apiVersion: `${GROUP.source}/v1`, kind: "ExternalArtifact", optional: true },
  { apiVersion: `${GROUP.helm}/v2`, kind: "HelmRelease", optional: true },
  { apiVersion: `${GROUP.image}/v1`, kind: "ImageRepository", optional: true },
  { apiVersion: `${GROUP.image}/v1`, kind: "ImagePolicy", optional: true },
  { apiVersion: `${GROUP.image}/v1`, kind: "ImageUpdateAutomation", optional: true },
  { apiVersion: `${GROUP.notification}/v1beta3`, kind: "Alert", optional: true },
  { apiVersion: `${GROUP.notification}/v1beta3`, kind: "Provider", optional: true },
  { apiVersion: `${GROUP.notification}/v1`, kind: "Receiver", optional: true },
  { apiVersion: `${GROUP.operator}/v1`, kind: "FluxInstance", optional: true },
  { apiVersion: `${GROUP.operator}/v1`, kind: "ResourceSet", optional: true },
  { apiVersion: `${GROUP.operator}/v1`, kind: "ResourceSetInputProvider", optional: true, bestEffort: true },
  // Admission policies the repository relies on as its trust boundary (admission-policy-tenant-gap).
  { apiVersion: "kyverno.io/v1", kind: "ClusterPolicy", optional: true, bestEffort: true },
  { apiVersion: "source.extensions.fluxcd.io/v1beta1", kind: "ArtifactGenerator", optional: true },
  { apiVersion: "monitoring.coreos.com/v1", kind: "PrometheusRule", optional: true },
];

const CORE_KINDS: KindSpec[] = [
  { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole" },
  { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRoleBinding" },
  { apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role" },
  { apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding" },
  { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy" },
  { apiVersion: "v1", kind: "ServiceAccount" },
  { apiVersion: "v1", kind: "Namespace" },
  { apiVersion: "admissionregistration.k8s.io/v1", kind: "ValidatingAdmissionPolicy", optional: true, bestEffort: true },
  { apiVersion: "admissionregistration.k8s.io/v1", kind: "ValidatingAdmissionPolicyBinding", optional: true, bestEffort: true },
  { apiVersion: "apps/v1", kind: "Deployment", labelSelector: "app.kubernetes.io/part-of=flux" },
];

/**
 * Workloads that Flux applied (kustomize-controller and helm-controller label everything they
 * apply), so the workload rules see the live pod specs that files mode sees rendered. Listing
 * by label keeps this to Flux's objects, not every Pod in the cluster.
 */
const FLUX_APPLIED_LABELS = ["kustomize.toolkit.fluxcd.io/name", "helm.toolkit.fluxcd.io/name"];
const WORKLOAD_KINDS: KindSpec[] = [
  { apiVersion: "apps/v1", kind: "Deployment" },
  { apiVersion: "apps/v1", kind: "StatefulSet" },
  { apiVersion: "apps/v1", kind: "DaemonSet" },
  { apiVersion: "batch/v1", kind: "Job" },
  { apiVersion: "batch/v1", kind: "CronJob" },
  { apiVersion: "v1", kind: "Pod" },
].flatMap((k) => FLUX_APPLIED_LABELS.map((labelSelector) => ({ ...k, labelSelector, bestEffort: true })));

/** The resource name kubectl would use, for error messages. */
function plural(kind: string): string {
  const k = kind.toLowerCase();
  return k.endsWith("y") && !k.endsWith("ay") ? `${k.slice(0, -1)}ies` : k.endsWith("s") ? `${k}es` : `${k}s`;
}

interface ApiError {
  code?: number;
  message?: string;
  cause?: { code?: string };
}

export interface LiveContext {
  context: string;
  server: string;
  /** The API server connection every live read goes through (loader/kube-http.ts). */
  api: KubeApi;
  notices: Array<{ file: string; reason: string }>;
  /** Closes the kept-alive connections to the API server. */
  close(): Promise<void>;
  /**
   * The same context as a @kubernetes/client-node KubeConfig, for the webhook's informers;
   * loaded on first call (it imports the library: Node.js >= 22.19, about 90 MB).
   */
  kubeConfig(): Promise<KubeConfigT>;
}

/**
 * A LiveContext over an existing connection (the monitor's posture analysis). `kubeConfig`
 * rejects: such a context has no kubeconfig files to give the library.
 */
export function liveContext(api: KubeApi, kubeConfig?: () => Promise<KubeConfigT>): LiveContext {
  return {
    context: api.context,
    server: api.server,
    api,
    notices: [],
    close: async () => undefined,
    kubeConfig: kubeConfig ?? (() => Promise.reject(new Error("this connection has no kubeconfig for the Kubernetes client library"))),
  };
}

/**
 * Loads the files and context into the library's KubeConfig (kubectl's merge: the first
 * definition wins); no files: the Pod's in-cluster config (resolveEndpoint's choice too).
 * `what` names the need in the error on a Node.js too old for the library; `proxy` is the
 * environment's proxy for this server (`environmentProxy`), used when the cluster has no
 * `proxy-url`.
 */
async function libraryKubeConfig(files: readonly string[], context: string, what: string, proxy: string | null): Promise<KubeConfigT> {
  const k8s = await importKubeClient(what);
  const kc = new k8s.KubeConfig();
  // The environment's proxy (already decided for this server) where the cluster names none.
  const withProxy = (): KubeConfigT => {
    const cur = kc.getCurrentCluster();
    if (proxy && cur && !cur.proxyUrl) kc.clusters = kc.clusters.map((c) => (c.name === cur.name ? { ...c, proxyUrl: proxy } : c));
    return kc;
  };
  if (files.length === 0) {
    kc.loadFromCluster();
    return withProxy();
  }
  // As resolveEndpoint: missing $KUBECONFIG files are skipped (an explicit one was read there).
  let first = true;
  for (const file of files) {
    if (!existsSync(file)) continue;
    if (first) {
      kc.loadFromFile(file);
      first = false;
      continue;
    }
    const more = new k8s.KubeConfig();
    more.loadFromFile(file);
    kc.mergeConfig(more, true);
  }
  kc.setCurrentContext(context);
  return withProxy();
}

/**
 * Connects to the cluster of `opts.kubeconfig`/`opts.context` (kubectl's resolution, see
 * loader/kubeconfig.ts), or with `inCluster` and no kubeconfig, to the Pod's own API server.
 * Nothing is sent yet. Errors: UsageError for no context, an unknown context, an unreadable
 * kubeconfig, or a plain-HTTP server.
 */
export async function connect(opts: ClusterLoadOptions & { inCluster?: boolean }): Promise<LiveContext> {
  const env = opts.env ?? process.env;
  const endpoint = resolveEndpoint({ env, ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}), ...(opts.context ? { context: opts.context } : {}), ...(opts.inCluster ? { inCluster: true } : {}), ...(opts.proxySupport !== undefined ? { proxySupport: opts.proxySupport } : {}) });
  const files = kubeconfigFiles({ env, ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}) });
  // One library KubeConfig per context, for exec credentials and the webhook's informers alike.
  const what = endpoint.needsLibrary ? `a kubeconfig user with ${endpoint.needsLibrary.reason}` : "the Kubernetes client library (the webhook's watches)";
  // client-go's ProxyFromEnvironment, in a Pod too; the kubeconfig's proxy-url wins.
  const fromEnv = endpoint.proxy ? null : environmentProxy(endpoint.server, env);
  // Node.js tunnels through HTTP proxies only; a SOCKS one is the library's to dial.
  if (fromEnv && !isHttpProxy(fromEnv) && !endpoint.needsLibrary) endpoint.needsLibrary = { reason: "a SOCKS proxy (HTTPS_PROXY)" };
  let kc: Promise<KubeConfigT> | null = null;
  // The library's clients (exec users, the webhook's watches) take the environment's proxy too.
  const kubeConfig = (): Promise<KubeConfigT> => (kc ??= libraryKubeConfig(files, endpoint.context, what, fromEnv));
  const proxySupport = opts.proxySupport ?? nodeProxySupport();
  const api = new KubeApi(endpoint, kubeConfig, proxySupport || endpoint.needsLibrary ? fromEnv : null);
  const live = { ...liveContext(api, kubeConfig), close: async () => api.close() };
  if (fromEnv && !proxySupport && !endpoint.needsLibrary) {
    live.notices.push({ file: "HTTPS_PROXY", reason: `set for ${endpoint.server}, but Node.js ${process.versions.node} cannot tunnel through a proxy (24.5 or 22.21 can): connecting directly` });
  }
  return live;
}

/** Finds a network error code anywhere in an error's cause chain. */
function networkCode(e: unknown): string | undefined {
  let cur: unknown = e;
  for (let depth = 0; cur && depth < 6; depth++) {
    const c = cur as { code?: unknown; message?: unknown; cause?: unknown };
    if (typeof c.code === "string" && /^(E[A-Z]+|ERR_PROXY_[A-Z_]+)$/.test(c.code)) return c.code;
    const m = /(ECONNREFUSED|ENOTFOUND|ETIMEDOUT|EHOSTUNREACH|ECONNRESET|EAI_AGAIN|CERT_[A-Z_]+|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN)/.exec(String(c.message));
    if (m) return m[1];
    cur = c.cause;
  }
  return /fetch failed/.test(String((e as Error)?.message)) ? "connection failed" : undefined;
}

function apiErrorText(e: unknown, what: string, live: Pick<LiveContext, "server" | "api">): UsageError | null {
  const err = e as ApiError;
  const server = live.server;
  const netCode = networkCode(e);
  const proxy = live.api.proxy === null ? null : proxyForDisplay(live.api.proxy);
  if (netCode?.startsWith("ERR_PROXY_")) {
    // Node.js: "Failed to establish tunnel to host:port via proxy: HTTP/1.1 403 ..."
    const answer = /:\s*(HTTP\/\S+\s+\d{3}.*)$/.exec(String((e as Error).message))?.[1];
    return new UsageError(`the proxy ${proxy ?? ""} did not open a tunnel to the API server at ${server}${answer ? ` (it answered ${answer})` : ` (${netCode})`}`, "check the proxy's address and that it allows CONNECT to the API server's port (kubeconfig proxy-url, or HTTPS_PROXY and NO_PROXY)");
  }
  if (netCode) return new UsageError(`cannot reach the API server at ${server}${proxy ? ` through the proxy ${proxy}` : ""} (${netCode})`, "check the kubeconfig's server address, the network, and that the cluster is up");
  if (err.code === 401) return new UsageError(`the API server at ${server} rejected the credentials (401 Unauthorized)`, "refresh the kubeconfig's token or certificate");
  if (err.code === 403) return new UsageError(`forbidden: cannot ${what}`, `grant the audit identity that permission (a read-only ClusterRole with get/list on it), or run as a user who has it`);
  return null;
}

async function listKind(live: LiveContext, spec: KindSpec, keep: (o: unknown) => K8sObject): Promise<K8sObject[] | null> {
  try {
    return await live.api.listAll(collectionPath(spec.apiVersion, plural(spec.kind), spec.namespace), { labelSelector: spec.labelSelector }, keep);
  } catch (e) {
    if (networkCode(e)) throw apiErrorText(e, "", live)!;
    const group = spec.apiVersion.includes("/") ? spec.apiVersion.split("/")[0] : "core";
    if (spec.bestEffort && (e as ApiError).code === 403) {
      const note = { file: `${spec.kind} (${spec.apiVersion})`, reason: `forbidden: cannot list ${plural(spec.kind)} (API group ${group}) in all namespaces; the workload rules did not see them` };
      if (!live.notices.some((n) => n.file === note.file)) live.notices.push(note);
      return null;
    }
    const usage = apiErrorText(e, `list ${plural(spec.kind)} (API group ${group}) ${spec.namespace ? `in namespace ${spec.namespace}` : "in all namespaces"}`, live);
    if (usage) throw usage;
    if ((e as ApiError).code === 404) {
      if (spec.required) {
        throw new UsageError(`Flux is not installed in this cluster: the ${plural(spec.kind)}.${spec.apiVersion.split("/")[0]} CRD is not there`, "install Flux, or point --context at a cluster that runs it");
      }
      live.notices.push({ file: `${spec.kind} (${spec.apiVersion})`, reason: "CRD not installed; skipped" });
      return null;
    }
    throw e;
  }
}

/** Keeps what rules need (a copy): drops managedFields and kubectl's last-applied annotation. */
export function clean(o: unknown, apiVersion: string, kind: string): K8sObject {
  return cleanOwned(JSON.parse(JSON.stringify(o)) as unknown, apiVersion, kind);
}

/**
 * clean() in place, for an object the caller owns and nothing else holds (parsed from a
 * response just now): no copy, so listing 10,000 objects allocates each once.
 */
export function cleanOwned(o: unknown, apiVersion: string, kind: string): K8sObject {
  const v = (asObject(o as JsonValue) ?? {}) as JsonObject;
  const md = asObject(v["metadata"]);
  if (md) {
    delete md["managedFields"];
    const annotations = asObject(md["annotations"]);
    if (annotations) delete annotations["kubectl.kubernetes.io/last-applied-configuration"];
  } else v["metadata"] = {};
  v["apiVersion"] = apiVersion;
  v["kind"] = kind;
  return v as unknown as K8sObject;
}

export async function loadCluster(opts: ClusterLoadOptions, live?: LiveContext): Promise<{ model: FleetModel; live: LiveContext }> {
  const ctx = live ?? (await connect(opts));
  try {
    return await loadWith(opts, ctx);
  } catch (e) {
    if (!live) await ctx.close();
    throw e;
  }
}

async function loadWith(opts: ClusterLoadOptions, ctx: LiveContext): Promise<{ model: FleetModel; live: LiveContext }> {
  const posture = opts.purpose === "posture";
  const keepFor = (s: KindSpec) => {
    const dropStatus = posture && FLUX_KINDS.includes(s);
    return (o: unknown): K8sObject => {
      const c = cleanOwned(o, s.apiVersion, s.kind);
      if (dropStatus) delete (c as { status?: unknown }).status;
      return c;
    };
  };
  const listed: K8sObject[] = [];
  // Lists run in parallel; the API server is the bottleneck, not us.
  const specs = posture ? [...FLUX_KINDS, ...CORE_KINDS] : [...FLUX_KINDS, ...CORE_KINDS, ...WORKLOAD_KINDS];
  const lists = await Promise.all(specs.map((s) => listKind(ctx, s, keepFor(s))));
  for (const l of lists) for (const o of l ?? []) listed.push(o);
  // Flux installs without the part-of label (old installs): look in the config's namespaces.
  const platformNs = new Set(opts.config.platform.namespaces);
  if (!listed.some((o) => o.kind === "Deployment" && platformNs.has(o.metadata.namespace ?? ""))) {
    for (const ns of opts.config.platform.namespaces) {
      const spec: KindSpec = { apiVersion: "apps/v1", kind: "Deployment", namespace: ns };
      listed.push(...((await listKind(ctx, spec, keepFor(spec))) ?? []));
    }
  }
  if (!posture) listed.push(...(await gitCredentialKeys(ctx, listed)));
  const model = modelFromObjects(listed, { config: opts.config, id: `context ${ctx.context}`, root: ctx.server, mode: "cluster" });
  return { model, live: ctx };
}

/** The Kubernetes kinds a live model is built from (the webhook watches the same). */
export const LIVE_KINDS: ReadonlyArray<{ apiVersion: string; kind: string; labelSelector?: string; optional?: boolean; bestEffort?: boolean }> = [...FLUX_KINDS, ...CORE_KINDS];

function liveKey(o: K8sObject): string {
  return `cluster:${objectId(o)}:${o.apiVersion}`;
}

function liveObject(o: K8sObject, key: string, clusterId: string): ModelObject {
  return { key, object: o, ref: refOf(o), origin: { kind: "cluster" }, clusterId, locate: () => null };
}

const RBAC_OBJECT_KINDS: ReadonlySet<string> = new Set(["Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"]);
/** Kinds whose change the overlay does not re-derive: the controllers, the lockdown, the entrypoint, reconcilers and what they applied. */
const REBUILD_KINDS: ReadonlySet<string> = new Set(["Kustomization", "HelmRelease", "Deployment", "FluxInstance"]);

/**
 * The model {@link modelFromObjects} builds for `base`'s objects without `removed` and with
 * `added` last, derived from `base` instead of from scratch (admission: the cluster as it
 * stands, with the candidate in place). The objects that stay keep their ModelObjects (nothing
 * a model build derives about them changes), and of the cluster's views only those an object of
 * the changed kinds feeds are derived again (src/core/model-kinds.ts): the RBAC graph for RBAC
 * objects; the tracked branches and the Flux version for GitRepositories and OCIRepositories.
 * Null when the change reaches further (a Kustomization, HelmRelease, controller Deployment or
 * FluxInstance; an object labelled as applied by Flux, or one a Kustomization's inventory
 * names; a model of several clusters): the caller builds the model in full.
 */
export function overlayModel(base: FleetModel, removed: ReadonlySet<K8sObject>, added: K8sObject): FleetModel | null {
  const cluster = base.clusters[0];
  if (base.clusters.length !== 1 || !cluster || base.fileObjects.length || base.kustomizeFiles.length) return null;
  const changed = [added, ...removed];
  if (changed.some((o) => REBUILD_KINDS.has(o.kind))) return null;
  // What Flux applied: an object labelled by kustomize- or helm-controller, or named by an inventory.
  const labelled = (o: K8sObject): boolean => {
    const l = o.metadata.labels;
    return l !== undefined && (l["kustomize.toolkit.fluxcd.io/name"] !== undefined || l["helm.toolkit.fluxcd.io/name"] !== undefined);
  };
  if (changed.some(labelled)) return null;
  const same = (a: K8sObject, b: K8sObject): boolean => a.kind === b.kind && a.metadata.name === b.metadata.name && (a.metadata.namespace ?? "") === (b.metadata.namespace ?? "");
  for (const r of cluster.reconcilers) if (r.render?.objects.some((m) => changed.some((o) => same(m.object, o)))) return null;
  const key = liveKey(added);
  const objects: ModelObject[] = [];
  let found = 0;
  for (const m of base.objects) {
    if (removed.has(m.object)) found++;
    else if (m.key === key) return null; // the added object would be a duplicate
    else objects.push(m);
  }
  if (found !== removed.size) return null; // `removed` is not what `base` holds
  const candidate = liveObject(added, key, cluster.id);
  objects.push(candidate);
  const kinds = new Set(changed.map((o) => o.kind));
  const next: FluxCluster = { ...cluster, objects };
  if ([...kinds].some((k) => RBAC_OBJECT_KINDS.has(k))) next.rbac = new RbacGraph(objects);
  if (kinds.has("GitRepository") || kinds.has("OCIRepository")) {
    next.fluxVersion = declaredFluxVersion(objects, () => null);
    next.branches = trackedBranches(objects, cluster.reconcilers);
  }
  return { ...base, objects, clusters: [next], reconcilers: next.reconcilers };
}

/**
 * Builds the live FleetModel from objects as the API server returns them (already cleaned):
 * the cluster audit after its lists, the admission webhook from its watch caches with the
 * candidate object in place. Objects listed twice (same kind, namespace, name and apiVersion)
 * count once.
 */
export function modelFromObjects(input: readonly K8sObject[], opts: { config: FleetConfig; id: string; root: string; mode: FleetModel["mode"] }): FleetModel {
  const { id } = opts;
  const objects: ModelObject[] = [];
  const byKey = new Map<string, ModelObject>();
  for (const o of input) {
    const key = liveKey(o);
    if (byKey.has(key)) continue; // listed twice (e.g. a controller Deployment that Flux itself applies)
    const m = liveObject(o, key, id);
    byKey.set(key, m);
    objects.push(m);
  }
  const renders = new Map<string, RenderRecord>();
  const index = inventoryIndex(objects);
  for (const m of objects) {
    if (!isFluxKustomization(m.object)) continue;
    const record = inventoryRecord(m, index);
    renders.set(m.key, record);
    for (const o of record.objects) o.origin.renderedBy ??= objectId(m.object);
  }
  // What helm-controller applied carries its HelmRelease's labels (charts are not rendered
  // in files mode; live, their workloads are checked like any applied content).
  for (const m of objects) {
    const labels = m.object.metadata.labels ?? {};
    const hr = labels["helm.toolkit.fluxcd.io/name"];
    if (hr && !m.origin.renderedBy) m.origin.renderedBy = `HelmRelease/${labels["helm.toolkit.fluxcd.io/namespace"] ?? ""}/${hr}`;
  }
  const entry = objects.find((m) => isFluxKustomization(m.object) && m.object.metadata.name === "flux-system") ?? null;
  const cluster = buildCluster({ id, objects, entrypoint: entry, config: opts.config, render: (m) => renders.get(m.key), synthesizeDefaultBinding: false });
  return {
    mode: opts.mode,
    root: opts.root,
    objects,
    fileObjects: [],
    kustomizeFiles: [],
    clusters: [cluster],
    reconcilers: cluster.reconcilers,
    renderNotes: [],
    platform: { namespaces: opts.config.platform.namespaces, serviceAccounts: opts.config.platform.serviceAccounts },
    notAssessed: [],
  };
}

/**
 * For the Secrets GitRepositories use, fetch key names only (values are dropped before they
 * leave this function), so rules can see whether `known_hosts` is present.
 */
async function gitCredentialKeys(live: LiveContext, objects: readonly K8sObject[]): Promise<K8sObject[]> {
  const out: K8sObject[] = [];
  const wanted = new Set<string>();
  for (const o of objects) {
    if (o.kind !== "GitRepository") continue;
    const name = str(o, "spec", "secretRef", "name");
    if (name) wanted.add(`${o.metadata.namespace ?? "default"}/${name}`);
  }
  for (const key of [...wanted].sort()) {
    const [namespace, name] = key.split("/") as [string, string];
    try {
      const s = await live.api.request<{ data?: Record<string, string>; type?: string }>("GET", `${collectionPath("v1", "secrets", namespace)}/${encodeURIComponent(name)}`);
      const keys = Object.keys(s.data ?? {}).sort();
      const redacted: K8sObject = {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name, namespace, annotations: { "fluxguard.io/values-redacted": "true" } },
        ...(s.type ? { type: s.type } : {}),
        data: Object.fromEntries(keys.map((k) => [k, ""])),
      };
      out.push(redacted);
    } catch (e) {
      const code = (e as ApiError).code;
      if (code === 404) continue;
      if (code === 403) {
        live.notices.push({ file: `Secret ${key}`, reason: "forbidden: cannot get it to check for known_hosts (key names only are read)" });
        continue;
      }
      const usage = apiErrorText(e, `get secret ${key}`, live);
      if (usage) throw usage;
      throw e;
    }
  }
  return out;
}

/** The listed objects by kind, namespace and name, and by the Kustomization whose labels they carry. */
interface InventoryIndex {
  byId: Map<string, ModelObject>;
  appliedBy: Map<string, ModelObject[]>;
}

/**
 * Built once per model: each Kustomization's inventory is resolved by lookups, not by a scan
 * of every object (at 5,000 Kustomizations and 10,000 objects the scans took 4.7 s of CPU).
 * The first object listed under an id wins, as `find` did.
 */
function inventoryIndex(objects: readonly ModelObject[]): InventoryIndex {
  const byId = new Map<string, ModelObject>();
  const appliedBy = new Map<string, ModelObject[]>();
  for (const m of objects) {
    const md = m.object.metadata;
    const id = `${m.object.kind}\u0000${md.namespace ?? ""}\u0000${md.name}`;
    if (!byId.has(id)) byId.set(id, m);
    const name = md.labels?.["kustomize.toolkit.fluxcd.io/name"];
    const namespace = md.labels?.["kustomize.toolkit.fluxcd.io/namespace"];
    if (name !== undefined && namespace !== undefined) {
      const key = `${namespace}\u0000${name}`;
      const list = appliedBy.get(key);
      if (list) list.push(m);
      else appliedBy.set(key, [m]);
    }
  }
  return { byId, appliedBy };
}

/** A Kustomization's applied objects, from its status inventory (`<ns>_<name>_<group>_<kind>`). */
function inventoryRecord(ks: ModelObject, index: InventoryIndex): RenderRecord {
  const entries = asArray(at(ks.object, "status", "inventory", "entries"));
  const rendered: ModelObject[] = [];
  for (const e of entries) {
    const id = asString(asObject(e)?.["id"]);
    const v = asString(asObject(e)?.["v"]) ?? "v1";
    if (!id) continue;
    const parts = id.split("_");
    if (parts.length < 4) continue;
    const kind = parts.pop()!;
    const group = parts.pop()!;
    const ns = parts.shift()!;
    const name = parts.join("_");
    const apiVersion = group ? `${group}/${v}` : v;
    const known = index.byId.get(`${kind}\u0000${ns}\u0000${name}`);
    if (known) rendered.push(known);
    else {
      const o: K8sObject = { apiVersion, kind, metadata: ns ? { name, namespace: ns } : { name } };
      rendered.push({ key: `inventory:${ks.key}:${id}`, object: o, ref: refOf(o), origin: { kind: "cluster", renderedBy: objectId(ks.object) }, clusterId: ks.clusterId, locate: () => null });
    }
  }
  if (entries.length) return { method: "cluster", dir: null, objects: rendered, problems: [] };
  // No inventory (prune disabled, or not reconciled yet): kustomize-controller still labels
  // what it applies with the Kustomization's name and namespace.
  const name = ks.object.metadata.name;
  const namespace = ks.object.metadata.namespace ?? "";
  const labelled = [...(index.appliedBy.get(`${namespace}\u0000${name}`) ?? [])];
  return {
    method: "cluster",
    dir: null,
    objects: labelled,
    problems: labelled.length ? [] : ["no inventory in status and no objects labelled as applied by it (not reconciled yet?)"],
  };
}
