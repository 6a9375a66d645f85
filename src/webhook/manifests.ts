/**
 * The ValidatingWebhookConfiguration for `fluxguard webhook`, built so the webhook can never
 * deadlock the cluster:
 *
 * - It is sent only Flux kinds and RBAC bindings (resource rules), never Leases, Events,
 *   Pods or anything else; the API server never sends webhook configurations to webhooks,
 *   so deleting this object is always the escape hatch.
 * - Namespaced objects in kube-system and in the webhook's own namespace are never sent
 *   (namespaceSelector on `kubernetes.io/metadata.name`, which the API server sets on every
 *   namespace).
 * - matchConditions drop updates that leave `spec` alone (the controllers' finalizers and
 *   status-side metadata), the webhook's own service account, and the control plane's own
 *   `system:` users (not service accounts) for RBAC.
 * - Flux kinds: `failurePolicy: Fail` with a short timeout (fail-closed). RBAC bindings:
 *   `Ignore` by default, because bindings are what a broken cluster needs to be repaired
 *   with; `--rbac-failure-policy Fail` makes them fail-closed too.
 */

export interface WebhookManifestOptions {
  /** The webhook's namespace (excluded), and its service account's. */
  namespace: string;
  serviceAccount: string;
  /** In-cluster: the Service in front of the webhook. */
  service?: { name: string; port: number };
  /** Out of cluster (tests): the URL the API server calls. */
  url?: string;
  /** PEM bundle the API server trusts for the webhook's certificate (base64-encoded here). */
  caBundle?: string;
  /** Set instead of caBundle when cert-manager's CA injector fills it in (Certificate namespace/name). */
  certManagerCertificate?: string;
  timeoutSeconds?: number;
  rbacFailurePolicy?: "Fail" | "Ignore";
  name?: string;
}

/** The Flux API groups and resources the webhook judges. */
export const FLUX_RESOURCES: ReadonlyArray<{ apiGroups: string[]; resources: string[] }> = [
  { apiGroups: ["source.toolkit.fluxcd.io"], resources: ["gitrepositories", "ocirepositories", "helmrepositories", "helmcharts", "buckets"] },
  { apiGroups: ["kustomize.toolkit.fluxcd.io"], resources: ["kustomizations"] },
  { apiGroups: ["helm.toolkit.fluxcd.io"], resources: ["helmreleases"] },
  { apiGroups: ["image.toolkit.fluxcd.io"], resources: ["imagerepositories", "imagepolicies", "imageupdateautomations"] },
];

export const RBAC_RESOURCES: ReadonlyArray<{ apiGroups: string[]; resources: string[] }> = [
  { apiGroups: ["rbac.authorization.k8s.io"], resources: ["rolebindings", "clusterrolebindings"] },
];

/** Namespaces whose objects are never sent to the webhook. */
export function excludedNamespaces(namespace: string): string[] {
  return [...new Set(["kube-system", namespace])].sort();
}

export function webhookConfiguration(o: WebhookManifestOptions): Record<string, unknown> {
  const clientConfig: Record<string, unknown> = o.url
    ? { url: o.url }
    : { service: { name: o.service?.name ?? "fluxguard-webhook", namespace: o.namespace, path: "/validate", port: o.service?.port ?? 443 } };
  if (o.caBundle) clientConfig["caBundle"] = Buffer.from(o.caBundle).toString("base64");
  const self = `system:serviceaccount:${o.namespace}:${o.serviceAccount}`;
  const namespaceSelector = { matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "NotIn", values: excludedNamespaces(o.namespace) }] };
  const common = {
    admissionReviewVersions: ["v1"],
    sideEffects: "None",
    clientConfig,
    namespaceSelector,
    matchPolicy: "Equivalent",
    timeoutSeconds: o.timeoutSeconds ?? 5,
  };
  const specChanged = {
    name: "spec-changed",
    expression: "request.operation != 'UPDATE' || !has(object.spec) || !has(oldObject.spec) || object.spec != oldObject.spec",
  };
  const notSelf = { name: "not-the-webhook", expression: `request.userInfo.username != '${self}'` };
  const rules = (r: ReadonlyArray<{ apiGroups: string[]; resources: string[] }>) =>
    r.map((x) => ({ apiGroups: x.apiGroups, apiVersions: ["*"], operations: ["CREATE", "UPDATE"], resources: x.resources, scope: "*" }));
  const name = o.name ?? "fluxguard-webhook";
  const metadata: Record<string, unknown> = { name, labels: { "app.kubernetes.io/name": "fluxguard-webhook", "app.kubernetes.io/managed-by": "fluxguard" } };
  if (o.certManagerCertificate) metadata["annotations"] = { "cert-manager.io/inject-ca-from": o.certManagerCertificate };
  return {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "ValidatingWebhookConfiguration",
    metadata,
    webhooks: [
      {
        name: "flux.fluxguard.io",
        ...common,
        failurePolicy: "Fail",
        rules: rules(FLUX_RESOURCES),
        matchConditions: [specChanged, notSelf],
      },
      {
        name: "rbac.fluxguard.io",
        ...common,
        failurePolicy: o.rbacFailurePolicy ?? "Ignore",
        rules: rules(RBAC_RESOURCES),
        matchConditions: [
          notSelf,
          {
            name: "not-the-control-plane",
            expression: "!request.userInfo.username.startsWith('system:') || (request.userInfo.username.startsWith('system:serviceaccount:') && !request.userInfo.username.startsWith('system:serviceaccount:kube-system:'))",
          },
        ],
      },
    ],
  };
}
