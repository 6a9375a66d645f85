/**
 * Allowed kinds in a fleet spec: `<group>/<resource>`, where `core` is the core group and the
 * resource is the lowercase plural Kubernetes uses in RBAC (`apps/deployments`,
 * `core/services`, `helm.toolkit.fluxcd.io/helmreleases`).
 */

export interface AllowedKind {
  /** As written in the spec. */
  text: string;
  /** The API group; "" for core. */
  group: string;
  resource: string;
}

/** Resources that exist only at cluster scope: a tenant must never own one (Adversary 3). */
export const CLUSTER_SCOPED_RESOURCES: ReadonlySet<string> = new Set([
  "/namespaces",
  "/nodes",
  "/persistentvolumes",
  "/componentstatuses",
  "rbac.authorization.k8s.io/clusterroles",
  "rbac.authorization.k8s.io/clusterrolebindings",
  "apiextensions.k8s.io/customresourcedefinitions",
  "apiregistration.k8s.io/apiservices",
  "admissionregistration.k8s.io/mutatingwebhookconfigurations",
  "admissionregistration.k8s.io/validatingwebhookconfigurations",
  "admissionregistration.k8s.io/validatingadmissionpolicies",
  "admissionregistration.k8s.io/validatingadmissionpolicybindings",
  "admissionregistration.k8s.io/mutatingadmissionpolicies",
  "admissionregistration.k8s.io/mutatingadmissionpolicybindings",
  "storage.k8s.io/storageclasses",
  "storage.k8s.io/csidrivers",
  "storage.k8s.io/csinodes",
  "storage.k8s.io/volumeattachments",
  "scheduling.k8s.io/priorityclasses",
  "node.k8s.io/runtimeclasses",
  "networking.k8s.io/ingressclasses",
  "certificates.k8s.io/certificatesigningrequests",
  "flowcontrol.apiserver.k8s.io/flowschemas",
  "flowcontrol.apiserver.k8s.io/prioritylevelconfigurations",
  "policy/podsecuritypolicies",
  "cert-manager.io/clusterissuers",
  "kyverno.io/clusterpolicies",
  "external-secrets.io/clustersecretstores",
  "gateway.networking.k8s.io/gatewayclasses",
  "fluxcd.controlplane.io/resourcesetinputproviders",
]);

/** The kinds a tenant gets when the spec names none: an application's everyday objects. */
export const DEFAULT_ALLOWED_KINDS: readonly string[] = [
  "apps/deployments",
  "apps/statefulsets",
  "autoscaling/horizontalpodautoscalers",
  "core/configmaps",
  "core/persistentvolumeclaims",
  "core/secrets",
  "core/serviceaccounts",
  "core/services",
  "networking.k8s.io/ingresses",
  "networking.k8s.io/networkpolicies",
  "policy/poddisruptionbudgets",
];

/** Verbs a reconciler needs to server-side apply, diff and prune. */
export const RECONCILER_VERBS: readonly string[] = ["get", "list", "watch", "create", "update", "patch", "delete"];

const GROUP_RE = /^(core|[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*)$/;
const RESOURCE_RE = /^[a-z][a-z0-9]*$/;

export type KindParse = { ok: true; kind: AllowedKind } | { ok: false; message: string };

export function parseAllowedKind(text: string): KindParse {
  if (text.includes("*")) return { ok: false, message: `'${text}': wildcards are not allowed; list each kind (least privilege)` };
  const slash = text.lastIndexOf("/");
  if (slash <= 0) return { ok: false, message: `'${text}' must be written <group>/<resource>, e.g. apps/deployments or core/services` };
  const groupText = text.slice(0, slash);
  const resource = text.slice(slash + 1);
  if (!GROUP_RE.test(groupText)) return { ok: false, message: `'${text}': '${groupText}' is not an API group (use 'core' for the core group)` };
  if (!RESOURCE_RE.test(resource)) {
    return { ok: false, message: `'${text}': '${resource}' must be the lowercase plural resource name, as in RBAC (e.g. deployments)` };
  }
  const group = groupText === "core" ? "" : groupText;
  return { ok: true, kind: { text, group, resource } };
}

export function isClusterScopedResource(k: AllowedKind): boolean {
  return CLUSTER_SCOPED_RESOURCES.has(`${k.group}/${k.resource}`);
}

/** RBAC rules for a set of kinds: one rule per group, resources sorted. */
export function rbacRules(kinds: readonly AllowedKind[]): Array<{ apiGroups: string[]; resources: string[]; verbs: string[] }> {
  const byGroup = new Map<string, Set<string>>();
  for (const k of kinds) {
    const set = byGroup.get(k.group) ?? new Set<string>();
    set.add(k.resource);
    byGroup.set(k.group, set);
  }
  return [...byGroup.entries()]
    .sort(([a], [b]) => (a === "" ? -1 : b === "" ? 1 : a.localeCompare(b)))
    .map(([group, resources]) => ({ apiGroups: [group], resources: [...resources].sort(), verbs: [...RECONCILER_VERBS] }));
}
