/**
 * Admission policy for the trust boundaries: Kubernetes-native ValidatingAdmissionPolicy
 * (CEL, admissionregistration.k8s.io/v1) and, on request, equivalent Kyverno ClusterPolicies
 * built from the same CEL.
 *
 * Flux applies a tenant's objects by impersonating the tenant's service account, so every
 * policy matches on `request.userInfo.username` being a service account in a tenant
 * namespace. The platform tier (kustomize-controller and helm-controller themselves, and any
 * service account in the Flux namespace) never matches, so platform Kustomizations are left
 * alone.
 */
import type { Doc } from "./emit.js";
import { note } from "./emit.js";
import { registryPrefix, type FleetSpec } from "./spec.js";
import { platformNamespaceExpression, rulePolicies, SPEC_CHANGED_EXPRESSION, validationActions, type AdmissionAction } from "./rule-policies.js";

export const MANAGED_BY = { "app.kubernetes.io/managed-by": "fluxguard" };

/** A CEL check: what it enforces, and the message the API server returns. */
export interface CelValidation {
  expression: string;
  message: string;
  /** A CEL string expression for a message naming the object; `message` when it fails. */
  messageExpression?: string;
}

export interface CelVariable {
  name: string;
  expression: string;
}

export interface TenantPolicy {
  name: string;
  threat: string;
  description: string;
  rules: Array<{ apiGroups: string[]; resources: string[]; kyvernoKinds: string[] }>;
  variables: CelVariable[];
  validations: CelValidation[];
}

/** The matchCondition shared by every policy: the requester is a tenant's service account. */
export function tenantMatchExpression(namespaces: readonly string[]): string {
  const alternatives = [...namespaces].sort().join("|");
  return `request.userInfo.username.matches('^system:serviceaccount:(${alternatives}):[^:]+$')`;
}

/** A CEL map literal from tenant namespace to its registry prefixes. */
export function registryMapExpression(spec: FleetSpec): string {
  const entries: string[] = [];
  for (const t of [...spec.tenants].sort((a, b) => a.name.localeCompare(b.name))) {
    const list = t.allowedRegistries.map((r) => `'${registryPrefix(r)}'`).join(", ");
    for (const ns of [...t.namespaces].sort()) entries.push(`'${ns}': [${list}]`);
  }
  return `{${entries.join(", ")}}`;
}

/** The registries of the requesting service account's tenant (an empty list if none). */
const ALLOWED_VARIABLES: CelVariable[] = [
  {
    name: "tenantNamespaces",
    expression: "variables.registries.filter(ns, request.userInfo.username.startsWith('system:serviceaccount:' + ns + ':'))",
  },
  {
    name: "allowedRegistries",
    expression: "variables.tenantNamespaces.size() == 1 ? variables.registries[variables.tenantNamespaces[0]] : []",
  },
];

function podChecks(): CelValidation[] {
  const s = "variables.podSpec";
  const sc = `${s}.securityContext`;
  return [
    {
      expression: `!(has(${s}.hostNetwork) && ${s}.hostNetwork) && !(has(${s}.hostPID) && ${s}.hostPID) && !(has(${s}.hostIPC) && ${s}.hostIPC)`,
      message: "tenant workloads may not use the host's network, PID or IPC namespaces (adversary-4-helm-values-injection)",
    },
    {
      expression: `!has(${s}.volumes) || ${s}.volumes.all(v, !has(v.hostPath))`,
      message: "tenant workloads may not mount hostPath volumes (adversary-4-helm-values-injection)",
    },
    {
      expression: "variables.containers.all(c, !has(c.securityContext) || !has(c.securityContext.privileged) || c.securityContext.privileged == false)",
      message: "tenant containers may not be privileged (adversary-4-helm-values-injection)",
    },
    {
      expression: "variables.containers.all(c, has(c.securityContext) && has(c.securityContext.allowPrivilegeEscalation) && c.securityContext.allowPrivilegeEscalation == false)",
      message: "tenant containers must set securityContext.allowPrivilegeEscalation: false (adversary-4-helm-values-injection)",
    },
    {
      expression:
        `variables.containers.all(c, has(c.securityContext) && has(c.securityContext.runAsNonRoot) ? c.securityContext.runAsNonRoot == true : has(${sc}) && has(${sc}.runAsNonRoot) && ${sc}.runAsNonRoot == true)` +
        ` && !(has(${sc}) && has(${sc}.runAsUser) && ${sc}.runAsUser == 0)` +
        " && variables.containers.all(c, !(has(c.securityContext) && has(c.securityContext.runAsUser) && c.securityContext.runAsUser == 0))",
      message: "tenant containers must run as non-root: runAsNonRoot: true, and never runAsUser: 0 (adversary-4-helm-values-injection)",
    },
    {
      expression:
        "variables.containers.all(c, !has(c.securityContext) || !has(c.securityContext.capabilities) || !has(c.securityContext.capabilities.add) || c.securityContext.capabilities.add.all(cap, cap == 'NET_BIND_SERVICE'))",
      message: "tenant containers may not add Linux capabilities other than NET_BIND_SERVICE (adversary-4-helm-values-injection)",
    },
    {
      expression: "variables.containers.all(c, variables.allowedRegistries.exists(r, c.image.startsWith(r)))",
      message: "tenant images must come from the tenant's allowed registries (adversary-5-image-automation)",
    },
  ];
}

function podVariables(registries: CelVariable[], podSpec: string): CelVariable[] {
  return [
    ...registries,
    { name: "podSpec", expression: podSpec },
    {
      name: "containers",
      expression:
        "variables.podSpec.containers + (has(variables.podSpec.initContainers) ? variables.podSpec.initContainers : []) + (has(variables.podSpec.ephemeralContainers) ? variables.podSpec.ephemeralContainers : [])",
    },
  ];
}

function registryVariables(registryMap: string): CelVariable[] {
  return [{ name: "registries", expression: registryMap }, ...ALLOWED_VARIABLES];
}

/** The policies for a spec, in a fixed order. */
export function tenantPolicies(spec: FleetSpec): TenantPolicy[] {
  const registries = registryVariables(registryMapExpression(spec));
  return [
    {
      name: "fluxguard-tenant-cluster-scope",
      threat: "adversary-3-kustomization-escalation",
      description: "Tenant reconcilers may not create or change cluster-scoped objects, nor bind cluster-admin.",
      rules: [{ apiGroups: ["*"], resources: ["*"], kyvernoKinds: ["*"] }],
      variables: [],
      validations: [
        {
          // The API server omits request.namespace for cluster-scoped objects; reading it
          // unguarded is a CEL error ("no such key"), which denies without this message.
          expression: "has(request.namespace) && request.namespace != '' && !(request.kind.group == '' && request.kind.kind == 'Namespace')",
          message: "tenant reconcilers may not create or change cluster-scoped objects (adversary-3-kustomization-escalation)",
        },
        {
          expression: "!(request.kind.group == 'rbac.authorization.k8s.io' && request.kind.kind == 'RoleBinding' && object.roleRef.kind == 'ClusterRole' && object.roleRef.name == 'cluster-admin')",
          message: "tenant reconcilers may not bind cluster-admin (adversary-3-kustomization-escalation, weakness-1-cluster-admin)",
        },
      ],
    },
    {
      name: "fluxguard-tenant-pods",
      threat: "adversary-4-helm-values-injection",
      description: "Tenant Pods: no privilege, host namespaces, escalation, root or added capabilities; images from allowed registries.",
      rules: [{ apiGroups: [""], resources: ["pods"], kyvernoKinds: ["Pod"] }],
      variables: podVariables(registries, "object.spec"),
      validations: podChecks(),
    },
    {
      name: "fluxguard-tenant-workloads",
      threat: "adversary-4-helm-values-injection",
      description: "Tenant workload templates: no privilege, host namespaces, escalation, root or added capabilities; images from allowed registries.",
      rules: [
        { apiGroups: ["apps"], resources: ["daemonsets", "deployments", "replicasets", "statefulsets"], kyvernoKinds: ["DaemonSet", "Deployment", "ReplicaSet", "StatefulSet"] },
        { apiGroups: ["batch"], resources: ["jobs"], kyvernoKinds: ["Job"] },
      ],
      variables: podVariables(registries, "object.spec.template.spec"),
      validations: podChecks(),
    },
    {
      name: "fluxguard-tenant-cronjobs",
      threat: "adversary-4-helm-values-injection",
      description: "Tenant CronJobs: the same checks on the job template.",
      rules: [{ apiGroups: ["batch"], resources: ["cronjobs"], kyvernoKinds: ["CronJob"] }],
      variables: podVariables(registries, "object.spec.jobTemplate.spec.template.spec"),
      validations: podChecks(),
    },
    {
      name: "fluxguard-tenant-kustomizations",
      threat: "weakness-4-unscoped-kustomization",
      description: "Tenant Kustomizations must name a service account and may not force-apply.",
      rules: [{ apiGroups: ["kustomize.toolkit.fluxcd.io"], resources: ["kustomizations"], kyvernoKinds: ["kustomize.toolkit.fluxcd.io/v1/Kustomization"] }],
      variables: [],
      validations: [
        {
          expression: "has(object.spec.serviceAccountName) && object.spec.serviceAccountName != ''",
          message: "tenant Kustomizations must set spec.serviceAccountName (weakness-4-unscoped-kustomization)",
        },
        {
          expression: "!has(object.spec.force) || object.spec.force == false",
          message: "tenant Kustomizations may not set spec.force: true (adversary-3-kustomization-escalation)",
        },
      ],
    },
    {
      name: "fluxguard-tenant-helmreleases",
      threat: "weakness-4-unscoped-kustomization",
      description: "Tenant HelmReleases must name a service account.",
      rules: [{ apiGroups: ["helm.toolkit.fluxcd.io"], resources: ["helmreleases"], kyvernoKinds: ["helm.toolkit.fluxcd.io/v2/HelmRelease"] }],
      variables: [],
      validations: [
        {
          expression: "has(object.spec.serviceAccountName) && object.spec.serviceAccountName != ''",
          message: "tenant HelmReleases must set spec.serviceAccountName (weakness-4-unscoped-kustomization, adversary-4-helm-values-injection)",
        },
      ],
    },
    {
      name: "fluxguard-tenant-gitrepositories",
      threat: "weakness-2-unverified-commits",
      description: "Tenant GitRepositories must verify commit signatures.",
      rules: [{ apiGroups: ["source.toolkit.fluxcd.io"], resources: ["gitrepositories"], kyvernoKinds: ["source.toolkit.fluxcd.io/v1/GitRepository"] }],
      variables: [],
      validations: [
        {
          expression: "has(object.spec.verify) && has(object.spec.verify.secretRef) && object.spec.verify.secretRef.name != ''",
          message: "tenant GitRepositories must set spec.verify with a secretRef of trusted keys (weakness-2-unverified-commits, adversary-1-malicious-commit)",
        },
      ],
    },
    {
      name: "fluxguard-tenant-imagerepositories",
      threat: "adversary-5-image-automation",
      description: "Tenant ImageRepositories must scan only the tenant's allowed registries.",
      rules: [{ apiGroups: ["image.toolkit.fluxcd.io"], resources: ["imagerepositories"], kyvernoKinds: ["image.toolkit.fluxcd.io/v1/ImageRepository"] }],
      variables: registries,
      validations: [
        {
          expression: "variables.allowedRegistries.exists(r, object.spec.image.startsWith(r))",
          message: "tenant ImageRepositories must scan images from the tenant's allowed registries (adversary-5-image-automation)",
        },
      ],
    },
  ];
}

export function tenantNamespaces(spec: FleetSpec): string[] {
  return spec.tenants.flatMap((t) => t.namespaces).sort();
}

/** ValidatingAdmissionPolicy and Binding for each policy. */
export function admissionPolicyDocs(spec: FleetSpec): Doc[] {
  const match = tenantMatchExpression(tenantNamespaces(spec));
  const docs: Doc[] = [];
  for (const p of tenantPolicies(spec)) {
    docs.push({
      comment: `${p.threat}: ${p.description}`,
      value: {
        apiVersion: "admissionregistration.k8s.io/v1",
        kind: "ValidatingAdmissionPolicy",
        metadata: { name: p.name, labels: { ...MANAGED_BY } },
        spec: {
          failurePolicy: note("Fail closed: if the policy cannot be evaluated, the request is denied.", "Fail"),
          matchConstraints: {
            resourceRules: p.rules.map((r) => ({ apiGroups: r.apiGroups, apiVersions: ["*"], operations: ["CREATE", "UPDATE"], resources: r.resources })),
          },
          matchConditions: note(
            "Flux impersonates the tenant's service account, so the policy keys on that identity; the platform tier\n(kustomize-controller and helm-controller in the Flux namespace) never matches and is left alone.",
            [{ name: "tenant-reconciler", expression: match }],
          ),
          variables: p.variables.length ? p.variables : undefined,
          validations: p.validations.map((v) => ({ expression: v.expression, message: v.message, reason: "Forbidden" })),
        },
      },
    });
    docs.push({
      value: {
        apiVersion: "admissionregistration.k8s.io/v1",
        kind: "ValidatingAdmissionPolicyBinding",
        metadata: { name: p.name, labels: { ...MANAGED_BY } },
        spec: { policyName: p.name, validationActions: ["Deny"] },
      },
    });
  }
  return docs;
}

/** The action the spec chooses for a natively enforced rule. */
export function ruleAction(spec: FleetSpec, ruleId: string): AdmissionAction {
  return spec.platform.admission.rules[ruleId] ?? spec.platform.admission.default;
}

/**
 * One ValidatingAdmissionPolicy per natively enforced rule, for every requester (people, CI,
 * reconcilers), with its own binding so the spec can move each rule from Warn to Deny.
 */
export function rulePolicyDocs(spec: FleetSpec): Doc[] {
  const docs: Doc[] = [];
  for (const p of rulePolicies()) {
    const action = ruleAction(spec, p.ruleId);
    const conditions = [
      { name: "spec-changed", expression: SPEC_CHANGED_EXPRESSION },
      ...(p.exemptPlatformNamespace ? [{ name: "not-platform-namespace", expression: platformNamespaceExpression(spec.platform.namespace) }] : []),
    ];
    docs.push({
      comment: `${p.ruleId}: ${p.description}\nEvery requester: people, CI and reconcilers. Action: ${action} (platform.admission in the fleet spec).`,
      value: {
        apiVersion: "admissionregistration.k8s.io/v1",
        kind: "ValidatingAdmissionPolicy",
        metadata: { name: p.name, labels: { ...MANAGED_BY, "fluxguard.io/rule": p.ruleId } },
        spec: {
          failurePolicy: "Fail",
          matchConstraints: {
            resourceRules: p.resources.map((r) => ({ apiGroups: r.apiGroups, apiVersions: ["*"], operations: ["CREATE", "UPDATE"], resources: r.resources })),
          },
          matchConditions: note("Only changes to spec are checked: the controllers' own metadata updates (finalizers) pass.", conditions),
          variables: p.variables.length ? p.variables : undefined,
          validations: p.validations.map((v) => ({ expression: v.expression, message: v.message, messageExpression: v.messageExpression, reason: "Forbidden" })),
        },
      },
    });
    docs.push({
      value: {
        apiVersion: "admissionregistration.k8s.io/v1",
        kind: "ValidatingAdmissionPolicyBinding",
        metadata: { name: p.name, labels: { ...MANAGED_BY, "fluxguard.io/rule": p.ruleId } },
        spec: { policyName: p.name, validationActions: validationActions(action) },
      },
    });
  }
  return docs;
}

/** Kyverno ClusterPolicies with the same CEL (Kyverno 1.13 or later). */
export function kyvernoPolicyDocs(spec: FleetSpec): Doc[] {
  const match = tenantMatchExpression(tenantNamespaces(spec));
  return tenantPolicies(spec).map((p) => ({
    comment: `${p.threat}: ${p.description}\nThe same CEL as the ValidatingAdmissionPolicy of the same name, for clusters that run Kyverno.`,
    value: {
      apiVersion: "kyverno.io/v1",
      kind: "ClusterPolicy",
      metadata: {
        name: p.name,
        labels: { ...MANAGED_BY },
        annotations: { "policies.kyverno.io/category": "Flux multi-tenancy", "policies.kyverno.io/description": p.description, "policies.kyverno.io/severity": "high" },
      },
      spec: {
        background: note("The policy reads request.userInfo, which only admission requests carry.", false),
        rules: [
          {
            name: p.name.replace(/^fluxguard-/, ""),
            match: { any: [{ resources: { kinds: p.rules.flatMap((r) => r.kyvernoKinds), operations: ["CREATE", "UPDATE"] } }] },
            celPreconditions: [{ name: "tenant-reconciler", expression: match }],
            validate: {
              failureAction: "Enforce",
              cel: {
                variables: p.variables.length ? p.variables : undefined,
                expressions: p.validations.map((v) => ({ expression: v.expression, message: v.message })),
              },
            },
          },
        ],
      },
    },
  }));
}
