/**
 * A synthetic Flux fleet for `npm run bench`: several clusters bootstrapped by Flux, shared
 * infrastructure (HelmRepositories and HelmReleases), tenants with namespaces, reconciler
 * service accounts, Roles and RoleBindings, and for every tenant a set of apps laid out as
 * kustomize bases plus per-environment overlays with patches, images and generators, each
 * reconciled by its own Flux Kustomization. Some tenants and clusters are insecure on
 * purpose, so the rules have work to do.
 *
 * Generation is deterministic (no randomness, no clock): the same shape gives byte-identical
 * files. The fleet is cached under ~/.cache/fluxguard-bench (or $FLUXGUARD_BENCH_CACHE),
 * keyed by the shape and GENERATOR_VERSION, and written to a temporary directory that is
 * renamed into place when complete.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { homedir, tmpdir } from "node:os";
import { dirname, join } from "node:path";

/** Bump when the generated content changes, so stale caches are not reused. */
export const GENERATOR_VERSION = 5;

export interface FleetShape {
  clusters: Array<{ name: string; env: string; lockdown: boolean }>;
  tenants: number;
  appsPerTenant: number;
  /** Flux CRDs in gotk-components.yaml, as Flux ships them (parse load). */
  crds: number;
}

export const DEFAULT_SHAPE: FleetShape = {
  clusters: [
    { name: "prod-eu", env: "production", lockdown: true },
    { name: "prod-us", env: "production", lockdown: true },
    { name: "staging", env: "staging", lockdown: false },
    { name: "dev", env: "dev", lockdown: false },
  ],
  tenants: 10,
  appsPerTenant: 6,
  crds: 12,
};

export interface GeneratedFleet {
  dir: string;
  /** Directories with a kustomization.yaml that a Flux Kustomization builds (unique). */
  overlays: string[];
  /** Expected Flux Kustomizations, counted per cluster. */
  kustomizations: number;
  files: number;
  bytes: number;
  cached: boolean;
}

const REPO_URL = "ssh://git@github.com/acme/fleet";
const pad = (n: number): string => String(n).padStart(2, "0");

/** YAML documents, joined with `---`. Values are plain JSON-compatible data written as YAML by hand for speed and stable output. */
function yaml(...docs: unknown[]): string {
  return docs.map((d) => toYaml(d, 0).trimEnd()).join("\n---\n") + "\n";
}

function scalar(v: unknown): string {
  if (v === null) return "null";
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  const s = String(v);
  if (s === "" || /^[\s]|[\s]$|^[-?:,[\]{}#&*!|>'"%@`]|: | #|^(true|false|null|yes|no|on|off|~|[-+]?\d[\d_.eE+-]*)$/i.test(s) || s.includes("\n")) return JSON.stringify(s);
  return s;
}

function toYaml(v: unknown, indent: number): string {
  const sp = " ".repeat(indent);
  if (Array.isArray(v)) {
    if (v.length === 0) return "[]\n";
    return v
      .map((item) => {
        if (item !== null && typeof item === "object" && !Array.isArray(item) && Object.keys(item).length > 0) {
          const body = toYaml(item, indent + 2);
          return `${sp}- ${body.slice(indent + 2)}`;
        }
        return `${sp}- ${inline(item, indent + 2)}`;
      })
      .join("");
  }
  if (v !== null && typeof v === "object") {
    const entries = Object.entries(v as Record<string, unknown>);
    if (entries.length === 0) return "{}\n";
    return entries
      .map(([k, x]) => {
        const key = scalar(k);
        if (x !== null && typeof x === "object" && (Array.isArray(x) ? x.length > 0 : Object.keys(x).length > 0)) {
          return `${sp}${key}:\n${toYaml(x, Array.isArray(x) ? indent : indent + 2)}`;
        }
        return `${sp}${key}: ${inline(x, indent + 2)}`;
      })
      .join("");
  }
  return `${scalar(v)}\n`;
}

function inline(v: unknown, indent: number): string {
  if (Array.isArray(v) && v.length === 0) return "[]\n";
  if (v !== null && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 0) return "{}\n";
  if (typeof v === "string" && v.includes("\n")) {
    const sp = " ".repeat(indent);
    return `|\n${v.replace(/\n$/, "").split("\n").map((l) => `${sp}${l}`).join("\n")}\n`;
  }
  return `${scalar(v)}\n`;
}

const ksApi = "kustomize.toolkit.fluxcd.io/v1";
const kcfg = (o: Record<string, unknown>): Record<string, unknown> => ({ apiVersion: "kustomize.config.k8s.io/v1beta1", kind: "Kustomization", ...o });

function controllerDeployment(name: string, args: string[]): unknown {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: "flux-system", labels: { "app.kubernetes.io/component": name, "app.kubernetes.io/part-of": "flux" } },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name }, annotations: { "prometheus.io/scrape": "true", "prometheus.io/port": "8080" } },
        spec: {
          serviceAccountName: name,
          securityContext: { fsGroup: 1337 },
          terminationGracePeriodSeconds: 60,
          containers: [
            {
              name: "manager",
              image: `ghcr.io/fluxcd/${name}:v1.5.0`,
              imagePullPolicy: "IfNotPresent",
              args: ["--events-addr=http://notification-controller.flux-system.svc.cluster.local./", "--watch-all-namespaces=true", "--log-level=info", "--log-encoding=json", "--enable-leader-election", ...args],
              env: [{ name: "RUNTIME_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } }],
              ports: [{ containerPort: 8080, name: "http-prom", protocol: "TCP" }, { containerPort: 9440, name: "healthz", protocol: "TCP" }],
              livenessProbe: { httpGet: { path: "/healthz", port: "healthz" } },
              readinessProbe: { httpGet: { path: "/readyz", port: "healthz" } },
              resources: { limits: { cpu: "1000m", memory: "1Gi" }, requests: { cpu: "100m", memory: "64Mi" } },
              securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ["ALL"] }, seccompProfile: { type: "RuntimeDefault" } },
              volumeMounts: [{ name: "temp", mountPath: "/tmp" }],
            },
          ],
          volumes: [{ name: "temp", emptyDir: {} }],
        },
      },
    },
  };
}

function crd(i: number): unknown {
  const kinds = ["GitRepository", "OCIRepository", "HelmRepository", "HelmChart", "Bucket", "Kustomization", "HelmRelease", "Alert", "Provider", "Receiver", "ImageRepository", "ImagePolicy", "ImageUpdateAutomation"];
  const kind = kinds[i % kinds.length]!;
  const plural = `${kind.toLowerCase()}s${i >= kinds.length ? i : ""}`;
  const field = (n: number): Record<string, unknown> =>
    Object.fromEntries(Array.from({ length: n }, (_, j) => [`field${j}`, { type: j % 3 === 0 ? "string" : j % 3 === 1 ? "integer" : "boolean", description: `Field ${j} of ${kind}: controls part ${j} of the reconciliation.` }]));
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${plural}.toolkit.fluxcd.io`, annotations: { "controller-gen.kubebuilder.io/version": "v0.16.1" }, labels: { "app.kubernetes.io/part-of": "flux" } },
    spec: {
      group: "toolkit.fluxcd.io",
      names: { kind, listKind: `${kind}List`, plural, singular: kind.toLowerCase() },
      scope: "Namespaced",
      versions: [
        {
          name: "v1",
          served: true,
          storage: true,
          subresources: { status: {} },
          schema: {
            openAPIV3Schema: {
              description: `${kind} is the Schema for the ${plural} API.`,
              type: "object",
              properties: {
                apiVersion: { type: "string" },
                kind: { type: "string" },
                metadata: { type: "object" },
                spec: { type: "object", properties: field(24), required: ["field0"] },
                status: { type: "object", properties: field(12) },
              },
            },
          },
        },
      ],
    },
  };
}

const CONTROLLERS = ["source-controller", "kustomize-controller", "helm-controller", "notification-controller"];

interface Writer {
  write(rel: string, text: string): void;
}

function writeCluster(w: Writer, c: FleetShape["clusters"][number], shape: FleetShape): void {
  const base = `clusters/${c.name}`;
  w.write(
    `${base}/flux-system/gotk-components.yaml`,
    yaml(
      { apiVersion: "v1", kind: "Namespace", metadata: { name: "flux-system", labels: { "pod-security.kubernetes.io/warn": "restricted" } } },
      ...Array.from({ length: shape.crds }, (_, i) => crd(i)),
      ...CONTROLLERS.map((n) => ({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name: n, namespace: "flux-system" } })),
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRole",
        metadata: { name: "crd-controller-flux-system" },
        rules: [
          { apiGroups: ["source.toolkit.fluxcd.io", "kustomize.toolkit.fluxcd.io", "helm.toolkit.fluxcd.io", "notification.toolkit.fluxcd.io"], resources: ["*"], verbs: ["*"] },
          { apiGroups: [""], resources: ["namespaces", "secrets", "configmaps", "serviceaccounts"], verbs: ["get", "list", "watch"] },
          { apiGroups: [""], resources: ["events"], verbs: ["create", "patch"] },
        ],
      },
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRoleBinding",
        metadata: { name: "crd-controller-flux-system" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "crd-controller-flux-system" },
        subjects: CONTROLLERS.map((n) => ({ kind: "ServiceAccount", name: n, namespace: "flux-system" })),
      },
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRoleBinding",
        metadata: { name: "cluster-reconciler-flux-system" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
        subjects: ["kustomize-controller", "helm-controller"].map((n) => ({ kind: "ServiceAccount", name: n, namespace: "flux-system" })),
      },
      ...CONTROLLERS.map((n) => ({ apiVersion: "v1", kind: "Service", metadata: { name: n, namespace: "flux-system" }, spec: { selector: { app: n }, ports: [{ name: "http", port: 80, targetPort: "http-prom" }] } })),
      ...CONTROLLERS.map((n) => controllerDeployment(n, n === "source-controller" ? ["--storage-path=/data", "--storage-adv-addr=source-controller.$(RUNTIME_NAMESPACE).svc.cluster.local."] : [])),
    ),
  );
  w.write(
    `${base}/flux-system/gotk-sync.yaml`,
    yaml(
      { apiVersion: "source.toolkit.fluxcd.io/v1", kind: "GitRepository", metadata: { name: "flux-system", namespace: "flux-system" }, spec: { interval: "1m0s", ref: { branch: "main" }, secretRef: { name: "flux-system" }, url: REPO_URL } },
      { apiVersion: ksApi, kind: "Kustomization", metadata: { name: "flux-system", namespace: "flux-system" }, spec: { interval: "10m0s", path: `./${base}`, prune: true, sourceRef: { kind: "GitRepository", name: "flux-system" } } },
    ),
  );
  const lockdown = c.lockdown
    ? {
        patches: [
          {
            patch: "- op: add\n  path: /spec/template/spec/containers/0/args/-\n  value: --no-cross-namespace-refs=true\n",
            target: { kind: "Deployment", name: "(kustomize-controller|helm-controller|notification-controller|image-reflector-controller|image-automation-controller)" },
          },
          { patch: "- op: add\n  path: /spec/template/spec/containers/0/args/-\n  value: --no-remote-bases=true\n", target: { kind: "Deployment", name: "kustomize-controller" } },
          { patch: "- op: add\n  path: /spec/template/spec/containers/0/args/-\n  value: --default-service-account=default\n", target: { kind: "Deployment", name: "(kustomize-controller|helm-controller)" } },
          // As Flux's multi-tenancy lockdown guide does: the platform sync keeps reconciling as the controller.
          { patch: "- op: add\n  path: /spec/serviceAccountName\n  value: kustomize-controller\n", target: { kind: "Kustomization", name: "flux-system" } },
        ],
      }
    : {};
  w.write(`${base}/flux-system/kustomization.yaml`, yaml(kcfg({ resources: ["gotk-components.yaml", "gotk-sync.yaml"], ...lockdown })));
  const vars = { CLUSTER_NAME: c.name, ENVIRONMENT: c.env, DOMAIN: `${c.name}.acme.example` };
  w.write(
    `${base}/infrastructure.yaml`,
    yaml(
      {
        apiVersion: ksApi,
        kind: "Kustomization",
        metadata: { name: "infra-controllers", namespace: "flux-system" },
        spec: { interval: "1h", retryInterval: "1m", timeout: "5m", path: "./infrastructure/controllers", prune: true, wait: true, sourceRef: { kind: "GitRepository", name: "flux-system" }, serviceAccountName: "kustomize-controller" },
      },
      {
        apiVersion: ksApi,
        kind: "Kustomization",
        metadata: { name: "infra-configs", namespace: "flux-system" },
        spec: {
          dependsOn: [{ name: "infra-controllers" }],
          interval: "1h",
          path: `./infrastructure/configs/${c.env}`,
          prune: true,
          sourceRef: { kind: "GitRepository", name: "flux-system" },
          serviceAccountName: "kustomize-controller",
          postBuild: { substitute: vars },
        },
      },
    ),
  );
  w.write(
    `${base}/tenants.yaml`,
    yaml({
      apiVersion: ksApi,
      kind: "Kustomization",
      metadata: { name: "tenants", namespace: "flux-system" },
      spec: {
        dependsOn: [{ name: "infra-configs" }],
        interval: "10m",
        path: `./tenants/${c.env}`,
        prune: true,
        sourceRef: { kind: "GitRepository", name: "flux-system" },
        serviceAccountName: "kustomize-controller",
        postBuild: { substitute: vars },
      },
    }),
  );
}

const INFRA = [
  { name: "ingress-nginx", repo: "https://kubernetes.github.io/ingress-nginx", chart: "ingress-nginx", version: "4.11.x" },
  { name: "cert-manager", repo: "https://charts.jetstack.io", chart: "cert-manager", version: "1.16.x" },
  { name: "kyverno", repo: "https://kyverno.github.io/kyverno", chart: "kyverno", version: "3.3.x" },
  { name: "external-secrets", repo: "https://charts.external-secrets.io", chart: "external-secrets", version: "0.10.x" },
  { name: "kube-prometheus-stack", repo: "oci://ghcr.io/prometheus-community/charts", chart: "kube-prometheus-stack", version: "66.x" },
  { name: "metrics-server", repo: "https://kubernetes-sigs.github.io/metrics-server", chart: "metrics-server", version: "3.12.x" },
];

function writeInfrastructure(w: Writer, envs: string[]): void {
  for (const i of INFRA) {
    const oci = i.repo.startsWith("oci://");
    w.write(
      `infrastructure/controllers/${i.name}.yaml`,
      yaml(
        { apiVersion: "v1", kind: "Namespace", metadata: { name: i.name, labels: { "toolkit.fluxcd.io/tenant": "platform" } } },
        { apiVersion: "source.toolkit.fluxcd.io/v1", kind: "HelmRepository", metadata: { name: i.name, namespace: i.name }, spec: { interval: "24h", url: i.repo, ...(oci ? { type: "oci" } : {}) } },
        {
          apiVersion: "helm.toolkit.fluxcd.io/v2",
          kind: "HelmRelease",
          metadata: { name: i.name, namespace: i.name },
          spec: {
            interval: "30m",
            chart: { spec: { chart: i.chart, version: i.version, sourceRef: { kind: "HelmRepository", name: i.name }, interval: "12h" } },
            install: { crds: "Create", remediation: { retries: 3 } },
            upgrade: { crds: "CreateReplace", remediation: { retries: 3 } },
            values: { replicaCount: 2, resources: { requests: { cpu: "100m", memory: "128Mi" } }, podSecurityContext: { runAsNonRoot: true } },
          },
        },
      ),
    );
  }
  w.write("infrastructure/controllers/kustomization.yaml", yaml(kcfg({ resources: INFRA.map((i) => `${i.name}.yaml`) })));
  w.write(
    "infrastructure/configs/base/cluster-config.yaml",
    yaml(
      { apiVersion: "cert-manager.io/v1", kind: "ClusterIssuer", metadata: { name: "letsencrypt" }, spec: { acme: { email: "platform@acme.example", server: "https://acme-v02.api.letsencrypt.org/directory", privateKeySecretRef: { name: "letsencrypt" }, solvers: [{ http01: { ingress: { ingressClassName: "nginx" } } }] } } },
      { apiVersion: "scheduling.k8s.io/v1", kind: "PriorityClass", metadata: { name: "tenant-default" }, value: 1000, globalDefault: true },
      { apiVersion: "scheduling.k8s.io/v1", kind: "PriorityClass", metadata: { name: "platform-critical" }, value: 100000 },
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRole",
        metadata: { name: "tenant-view", labels: { "rbac.authorization.k8s.io/aggregate-to-view": "true" } },
        rules: [{ apiGroups: ["kustomize.toolkit.fluxcd.io", "helm.toolkit.fluxcd.io"], resources: ["kustomizations", "helmreleases"], verbs: ["get", "list", "watch"] }],
      },
      {
        apiVersion: "kyverno.io/v1",
        kind: "ClusterPolicy",
        metadata: { name: "disallow-privileged" },
        spec: { validationFailureAction: "Enforce", rules: [{ name: "privileged", match: { any: [{ resources: { kinds: ["Pod"] } }] }, validate: { message: "no privileged pods", pattern: { spec: { containers: [{ "=(securityContext)": { "=(privileged)": false } }] } } } }] },
      },
      { apiVersion: "notification.toolkit.fluxcd.io/v1beta3", kind: "Provider", metadata: { name: "slack", namespace: "flux-system" }, spec: { type: "slack", channel: "${CLUSTER_NAME}-alerts", secretRef: { name: "slack-webhook" } } },
      {
        apiVersion: "notification.toolkit.fluxcd.io/v1beta3",
        kind: "Alert",
        metadata: { name: "reconciliation-failures", namespace: "flux-system" },
        spec: { providerRef: { name: "slack" }, eventSeverity: "error", eventSources: [{ kind: "Kustomization", name: "*" }, { kind: "HelmRelease", name: "*" }] },
      },
    ),
  );
  w.write("infrastructure/configs/base/kustomization.yaml", yaml(kcfg({ resources: ["cluster-config.yaml"] })));
  for (const env of envs) {
    w.write(
      `infrastructure/configs/${env}/kustomization.yaml`,
      yaml(
        kcfg({
          resources: ["../base"],
          patches: [{ patch: `apiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata:\n  name: tenant-default\nvalue: ${env === "production" ? 2000 : 500}\n` }],
          labels: [{ pairs: { "acme.example/environment": env } }],
        }),
      ),
    );
  }
}

/** Tenant traits, by index: some are insecure on purpose. */
function tenantTraits(t: number): { clusterAdminInNamespace: boolean; appliesClusterRoleBinding: boolean; appsWithoutServiceAccount: boolean } {
  return { clusterAdminInNamespace: t % 4 === 1, appliesClusterRoleBinding: t % 5 === 3, appsWithoutServiceAccount: t % 6 === 5 };
}

function writeTenants(w: Writer, shape: FleetShape, envs: string[]): void {
  const names = Array.from({ length: shape.tenants }, (_, t) => `team-${pad(t + 1)}`);
  names.forEach((tenant, t) => {
    const tr = tenantTraits(t);
    const sa = `${tenant}-reconciler`;
    const docs: unknown[] = [
      { apiVersion: "v1", kind: "Namespace", metadata: { name: tenant, labels: { "toolkit.fluxcd.io/tenant": tenant, "pod-security.kubernetes.io/enforce": "baseline" } } },
      { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: sa, namespace: tenant, labels: { "toolkit.fluxcd.io/tenant": tenant } } },
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "Role",
        metadata: { name: `${tenant}-flux`, namespace: tenant },
        rules: [
          { apiGroups: ["kustomize.toolkit.fluxcd.io", "helm.toolkit.fluxcd.io", "source.toolkit.fluxcd.io"], resources: ["*"], verbs: ["get", "list", "watch"] },
          { apiGroups: [""], resources: ["configmaps", "services", "serviceaccounts"], verbs: ["*"] },
        ],
      },
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "RoleBinding",
        metadata: { name: `${sa}-${tr.clusterAdminInNamespace ? "cluster-admin" : "admin"}`, namespace: tenant },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: tr.clusterAdminInNamespace ? "cluster-admin" : "admin" },
        subjects: [{ kind: "ServiceAccount", name: sa, namespace: tenant }],
      },
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "RoleBinding",
        metadata: { name: `${tenant}-developers`, namespace: tenant },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "edit" },
        subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: `acme:${tenant}` }],
      },
    ];
    if (tr.appliesClusterRoleBinding) {
      docs.push({
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRoleBinding",
        metadata: { name: `${tenant}-cluster-view` },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "view" },
        subjects: [{ kind: "ServiceAccount", name: sa, namespace: tenant }],
      });
    }
    w.write(`tenants/base/${tenant}/rbac.yaml`, yaml(...docs));
    w.write(
      `tenants/base/${tenant}/sync.yaml`,
      yaml(
        { apiVersion: "source.toolkit.fluxcd.io/v1", kind: "GitRepository", metadata: { name: tenant, namespace: tenant }, spec: { interval: "5m", url: REPO_URL, ref: { branch: "main" }, secretRef: { name: `${tenant}-git` } } },
        {
          apiVersion: ksApi,
          kind: "Kustomization",
          metadata: { name: `${tenant}-apps`, namespace: tenant },
          spec: {
            interval: "10m",
            path: `./apps/${tenant}/\${ENVIRONMENT}`,
            prune: true,
            serviceAccountName: sa,
            sourceRef: { kind: "GitRepository", name: tenant },
            postBuild: { substitute: { CLUSTER_NAME: "${CLUSTER_NAME}", DOMAIN: "${DOMAIN}", TENANT: tenant } },
          },
        },
      ),
    );
    w.write(`tenants/base/${tenant}/kustomization.yaml`, yaml(kcfg({ resources: ["rbac.yaml", "sync.yaml"], labels: [{ pairs: { "toolkit.fluxcd.io/tenant": tenant }, includeSelectors: false }] })));
  });
  for (const env of envs) {
    w.write(
      `tenants/${env}/kustomization.yaml`,
      yaml(
        kcfg({
          resources: names.map((n) => `../base/${n}`),
          patches: [
            {
              patch: `- op: replace\n  path: /spec/interval\n  value: ${env === "production" ? "5m" : "1m"}\n`,
              target: { group: "kustomize.toolkit.fluxcd.io", kind: "Kustomization" },
            },
          ],
        }),
      ),
    );
  }
}

function componentDocs(app: string, comp: string, tenant: string, port: number): unknown[] {
  const name = `${app}-${comp}`;
  const labels = { "app.kubernetes.io/name": name, "app.kubernetes.io/component": comp };
  return [
    { apiVersion: "v1", kind: "ServiceAccount", metadata: { name } },
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name, labels },
      spec: {
        replicas: 2,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: name,
            securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
            containers: [
              {
                name: comp,
                image: `ghcr.io/acme/${tenant}/${name}:1.0.0`,
                ports: [{ name: "http", containerPort: port }],
                envFrom: [{ configMapRef: { name: `${app}-config` } }],
                env: [{ name: "CLUSTER", value: "${CLUSTER_NAME}" }, { name: "PUBLIC_URL", value: `https://${app}.\${DOMAIN}` }],
                resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { memory: "256Mi" } },
                securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
                readinessProbe: { httpGet: { path: "/ready", port: "http" } },
              },
            ],
          },
        },
      },
    },
    { apiVersion: "v1", kind: "Service", metadata: { name, labels }, spec: { selector: labels, ports: [{ name: "http", port: 80, targetPort: "http" }] } },
    {
      apiVersion: "autoscaling/v2",
      kind: "HorizontalPodAutoscaler",
      metadata: { name },
      spec: { scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name }, minReplicas: 2, maxReplicas: 10, metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 70 } } }] },
    },
    { apiVersion: "policy/v1", kind: "PodDisruptionBudget", metadata: { name }, spec: { minAvailable: 1, selector: { matchLabels: labels } } },
    {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: { name },
      spec: { podSelector: { matchLabels: labels }, policyTypes: ["Ingress"], ingress: [{ from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "ingress-nginx" } } }], ports: [{ port }] }] },
    },
  ];
}

function writeApps(w: Writer, shape: FleetShape, envs: string[]): string[] {
  const overlays: string[] = [];
  for (let t = 0; t < shape.tenants; t++) {
    const tenant = `team-${pad(t + 1)}`;
    const tr = tenantTraits(t);
    const apps = Array.from({ length: shape.appsPerTenant }, (_, a) => `app-${pad(a + 1)}`);
    apps.forEach((app, a) => {
      const comps = a % 3 === 0 ? ["api", "worker", "web"] : ["api", "worker"];
      const resources: string[] = [];
      comps.forEach((comp, ci) => {
        w.write(`apps/${tenant}/base/${app}/${comp}.yaml`, yaml(...componentDocs(app, comp, tenant, 8080 + ci)));
        resources.push(`${comp}.yaml`);
      });
      w.write(
        `apps/${tenant}/base/${app}/rbac.yaml`,
        yaml(
          { apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata: { name: `${app}-leader-election` }, rules: [{ apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["get", "create", "update"] }] },
          {
            apiVersion: "rbac.authorization.k8s.io/v1",
            kind: "RoleBinding",
            metadata: { name: `${app}-leader-election` },
            roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: `${app}-leader-election` },
            subjects: comps.map((c) => ({ kind: "ServiceAccount", name: `${app}-${c}` })),
          },
          {
            apiVersion: "networking.k8s.io/v1",
            kind: "Ingress",
            metadata: { name: app, annotations: { "cert-manager.io/cluster-issuer": "letsencrypt" } },
            spec: {
              ingressClassName: "nginx",
              tls: [{ hosts: [`${app}.${tenant}.\${DOMAIN}`], secretName: `${app}-tls` }],
              rules: [{ host: `${app}.${tenant}.\${DOMAIN}`, http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: `${app}-api`, port: { name: "http" } } } }] } }],
            },
          },
        ),
      );
      resources.push("rbac.yaml");
      if (a % 4 === 1) {
        w.write(
          `apps/${tenant}/base/${app}/cache.yaml`,
          yaml(
            { apiVersion: "source.toolkit.fluxcd.io/v1", kind: "HelmRepository", metadata: { name: "bitnami" }, spec: { type: "oci", interval: "24h", url: "oci://registry-1.docker.io/bitnamicharts" } },
            {
              apiVersion: "helm.toolkit.fluxcd.io/v2",
              kind: "HelmRelease",
              metadata: { name: `${app}-cache` },
              spec: {
                interval: "30m",
                chart: { spec: { chart: "redis", version: "20.x", sourceRef: { kind: "HelmRepository", name: "bitnami" } } },
                values: { architecture: "standalone", auth: { enabled: true, existingSecret: `${app}-redis` }, master: { persistence: { size: "1Gi" } } },
              },
            },
          ),
        );
        resources.push("cache.yaml");
      }
      if (tr.appliesClusterRoleBinding && a === 0) {
        // Adversary 3: a tenant's own app carries a ClusterRoleBinding to cluster-admin.
        w.write(
          `apps/${tenant}/base/${app}/debug-access.yaml`,
          yaml({
            apiVersion: "rbac.authorization.k8s.io/v1",
            kind: "ClusterRoleBinding",
            metadata: { name: `${tenant}-${app}-debug` },
            roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
            subjects: [{ kind: "ServiceAccount", name: `${app}-api`, namespace: tenant }],
          }),
        );
        resources.push("debug-access.yaml");
      }
      if (a % 5 === 2) {
        w.write(
          `apps/${tenant}/base/${app}/cron.yaml`,
          yaml({
            apiVersion: "batch/v1",
            kind: "CronJob",
            metadata: { name: `${app}-cleanup` },
            spec: { schedule: "17 3 * * *", jobTemplate: { spec: { template: { spec: { restartPolicy: "OnFailure", serviceAccountName: `${app}-worker`, containers: [{ name: "cleanup", image: `ghcr.io/acme/${tenant}/${app}-worker:1.0.0`, args: ["cleanup", "--older-than=30d"] }] } } } } },
          }),
        );
        resources.push("cron.yaml");
      }
      w.write(
        `apps/${tenant}/base/${app}/kustomization.yaml`,
        yaml(kcfg({ resources, configMapGenerator: [{ name: `${app}-config`, literals: ["LOG_LEVEL=info", `APP_NAME=${app}`, "FEATURE_FLAGS=search,export"] }], labels: [{ pairs: { "app.kubernetes.io/part-of": app, "acme.example/tenant": tenant } }] })),
      );
    });
    for (const env of envs) {
      const ksFiles: string[] = [];
      apps.forEach((app, a) => {
        const dir = `apps/${tenant}/${env}/${app}`;
        w.write(
          `${dir}/kustomization.yaml`,
          yaml(
            kcfg({
              resources: [`../../base/${app}`],
              images: [{ name: `ghcr.io/acme/${tenant}/${app}-api`, newTag: `${env}-1.${a}.0` }],
              configMapGenerator: [{ name: `${app}-config`, behavior: "merge", literals: [`LOG_LEVEL=${env === "production" ? "warn" : "debug"}`, `ENVIRONMENT=${env}`] }],
              patches: [
                { patch: `- op: replace\n  path: /spec/replicas\n  value: ${env === "production" ? 3 : 1}\n`, target: { kind: "Deployment" } },
                { patch: `- op: replace\n  path: /spec/minReplicas\n  value: ${env === "production" ? 3 : 1}\n`, target: { kind: "HorizontalPodAutoscaler" } },
              ],
              labels: [{ pairs: { "acme.example/environment": env } }],
            }),
          ),
        );
        overlays.push(dir);
        const force = a % 7 === 3;
        w.write(
          `apps/${tenant}/${env}/${app}.yaml`,
          yaml({
            apiVersion: ksApi,
            kind: "Kustomization",
            metadata: { name: app, namespace: tenant },
            spec: {
              interval: "10m",
              path: `./${dir}`,
              prune: true,
              wait: true,
              ...(force ? { force: true } : {}),
              targetNamespace: tenant,
              ...(tr.appsWithoutServiceAccount ? {} : { serviceAccountName: `${tenant}-reconciler` }),
              sourceRef: { kind: "GitRepository", name: tenant },
              postBuild: { substitute: { APP: app, CLUSTER_NAME: "${CLUSTER_NAME}", DOMAIN: "${DOMAIN}" } },
              ...(a % 3 === 2
                ? { patches: [{ patch: "- op: add\n  path: /metadata/annotations/acme.example~1owner\n  value: " + tenant + "\n", target: { kind: "Deployment" } }] }
                : {}),
            },
          }),
        );
        ksFiles.push(`${app}.yaml`);
      });
      w.write(`apps/${tenant}/${env}/kustomization.yaml`, yaml(kcfg({ resources: ksFiles })));
      overlays.push(`apps/${tenant}/${env}`);
    }
  }
  return overlays;
}

export function shapeKey(shape: FleetShape): string {
  return createHash("sha256").update(JSON.stringify({ v: GENERATOR_VERSION, shape })).digest("hex").slice(0, 12);
}

export function cacheRoot(): string {
  const explicit = process.env["FLUXGUARD_BENCH_CACHE"];
  if (explicit) return explicit;
  const home = homedir();
  return home && existsSync(home) ? join(home, ".cache", "fluxguard-bench") : join(tmpdir(), "fluxguard-bench");
}

/** Generates the fleet (or reuses the cached copy) and describes it. */
export function syntheticFleet(shape: FleetShape = DEFAULT_SHAPE): GeneratedFleet {
  const dir = join(cacheRoot(), `fleet-${shapeKey(shape)}`);
  const manifest = join(dir, ".bench-fleet.json");
  if (existsSync(manifest)) {
    const m = JSON.parse(readFileSync(manifest, "utf8")) as Omit<GeneratedFleet, "dir" | "cached">;
    return { ...m, dir, cached: true };
  }
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  let files = 0;
  let bytes = 0;
  const w: Writer = {
    write(rel, text) {
      const abs = join(tmp, rel);
      mkdirSync(dirname(abs), { recursive: true });
      writeFileSync(abs, text);
      files++;
      bytes += Buffer.byteLength(text);
    },
  };
  const envs = [...new Set(shape.clusters.map((c) => c.env))].sort();
  for (const c of shape.clusters) writeCluster(w, c, shape);
  writeInfrastructure(w, envs);
  writeTenants(w, shape, envs);
  const appOverlays = writeApps(w, shape, envs);
  const overlays = [
    ...shape.clusters.map((c) => `clusters/${c.name}/flux-system`),
    "infrastructure/controllers",
    ...envs.map((e) => `infrastructure/configs/${e}`),
    ...envs.map((e) => `tenants/${e}`),
    ...appOverlays,
  ].sort();
  // Per cluster: flux-system, infra-controllers, infra-configs, tenants, one per tenant, one per app.
  const kustomizations = shape.clusters.length * (4 + shape.tenants + shape.tenants * shape.appsPerTenant);
  const desc = { overlays, kustomizations, files, bytes };
  writeFileSync(join(tmp, ".bench-fleet.json"), `${JSON.stringify(desc, null, 2)}\n`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dirname(dir), { recursive: true });
  renameSync(tmp, dir);
  return { ...desc, dir, cached: false };
}
