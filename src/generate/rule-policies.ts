/**
 * fluxguard's own rules as ValidatingAdmissionPolicies: every rule whose verdict CEL can reach
 * from the object alone, or through `authorizer` (what another service account may do), for
 * requests from anyone who can create Flux objects: people, CI and reconcilers alike.
 *
 * One policy per rule (`fluxguard-rule-<rule-id>`), so each rule has its own binding and its
 * own `validationActions`: every rule starts in Warn + Audit and the fleet spec switches rules
 * to Deny one at a time (`platform.admission`). Each message starts with `[<rule-id>]`.
 *
 * What CEL cannot reach (another object's fields, the RBAC graph beyond one SubjectAccessReview,
 * the branches applied sources track) is `fluxguard webhook`'s job: src/webhook/.
 */
import type { CelValidation, CelVariable } from "./policies.js";

/** validationActions for one rule: Deny (+Audit), Warn (+Audit), or Audit alone. */
export type AdmissionAction = "Deny" | "Warn" | "Audit";
export const ADMISSION_ACTIONS: readonly AdmissionAction[] = ["Deny", "Warn", "Audit"];

/** The binding's validationActions for an action (Deny and Warn may not be combined). */
export function validationActions(a: AdmissionAction): string[] {
  return a === "Audit" ? ["Audit"] : [a, "Audit"];
}

export interface RuleResource {
  apiGroups: string[];
  resources: string[];
}

/** A policy that enforces one audit rule at admission. */
export interface RulePolicy {
  /** The audit rule it enforces (src/rules); also in every message. */
  ruleId: string;
  name: string;
  description: string;
  resources: RuleResource[];
  /** Objects in the platform namespace are the platform's own (Flux's sync, the lockdown opt-in). */
  exemptPlatformNamespace: boolean;
  variables: CelVariable[];
  validations: CelValidation[];
}

const KS: RuleResource = { apiGroups: ["kustomize.toolkit.fluxcd.io"], resources: ["kustomizations"] };
const HR: RuleResource = { apiGroups: ["helm.toolkit.fluxcd.io"], resources: ["helmreleases"] };
const SRC = (...resources: string[]): RuleResource => ({ apiGroups: ["source.toolkit.fluxcd.io"], resources });
const IMG = (...resources: string[]): RuleResource => ({ apiGroups: ["image.toolkit.fluxcd.io"], resources });

/** `[rule-id] text`: the rule id a reader greps the docs for. */
function msg(ruleId: string, text: string): string {
  return `[${ruleId}] ${text}`;
}

/** Keys under HelmRelease values that helmrelease-privileged-values (and CEL) look for. */
export const PRIVILEGED_VALUE_KEYS = ["privileged", "hostNetwork", "hostPID", "hostIPC"] as const;

/** How deep (maps and lists) the CEL values search goes; the webhook and the audit search all. */
export const VALUES_SEARCH_DEPTH = 5;

/**
 * A bounded, recursive-by-expansion search of a values tree for `privileged: true` or a host
 * namespace (CEL has no recursion). Lists are searched element by element.
 */
export function privilegedValuesExpression(root: string, depth: number = VALUES_SEARCH_DEPTH): string {
  const keys = `[${PRIVILEGED_VALUE_KEYS.map((k) => `'${k}'`).join(", ")}]`;
  const node = (v: string, d: number): string => {
    if (d >= depth) return "false";
    const k = `k${d}`;
    const e = `e${d}`;
    const child = `${v}[${k}]`;
    const inMap = `${v}.exists(${k}, (${k} in ${keys} && ${child} == true) || ${node(child, d + 1)})`;
    const inList = `${v}.exists(${e}, ${node(e, d + 1)})`;
    return `((type(${v}) == map && ${inMap}) || (type(${v}) == list && ${inList}))`;
  };
  return node(root, 0);
}

/**
 * A semver range with an upper bound in every `||` alternative: one of `<`, `<=`, `~`, `^`,
 * a hyphen range, or an exact version or x-range with a fixed major. An approximation of
 * src/generate/semver.ts `checkBoundedRange` (the CEL test compares them case by case).
 */
const BOUNDED_ALTERNATIVE = "\\s*(([^|]*(<=?\\s*v?[0-9]|~>?\\s*v?[0-9]|\\^\\s*v?[0-9]|\\s-\\s+v?[0-9])[^|]*)|(=?\\s*v?[0-9]+(\\.([0-9]+|[xX*])){0,2}(-[0-9A-Za-z.-]+)?))\\s*";
export const BOUNDED_RANGE_REGEX = `^${BOUNDED_ALTERNATIVE}(\\|\\|${BOUNDED_ALTERNATIVE})*$`;

/** The rules enforced natively, in a fixed order. */
export function rulePolicies(): RulePolicy[] {
  const sa = "has(object.spec.serviceAccountName) ? object.spec.serviceAccountName : ''";
  const saCheck = (group: string, resource: string, verb: string): string =>
    `variables.serviceAccount == '' || !authorizer.serviceAccount(request.namespace, variables.serviceAccount).group('${group}').resource('${resource}').check('${verb}').allowed()`;
  const who = "request.kind.kind + ' ' + request.namespace + '/' + object.metadata.name + ' runs as service account ' + request.namespace + '/' + variables.serviceAccount";
  return [
    {
      ruleId: "reconciler-sa-overprivileged",
      name: "fluxguard-rule-reconciler-sa-overprivileged",
      description: "A Kustomization or HelmRelease may not run as a service account that can create ClusterRoleBindings or holds * on * (asked of the authorizer).",
      resources: [KS, HR],
      exemptPlatformNamespace: true,
      variables: [{ name: "serviceAccount", expression: sa }],
      validations: [
        {
          expression: saCheck("*", "*", "*"),
          message: msg("reconciler-sa-overprivileged", "the reconciler's service account holds * on * (cluster-admin): whatever it applies can take the cluster"),
          messageExpression: `'[reconciler-sa-overprivileged] ' + ${who} + ', which holds * on * (cluster-admin): whatever it applies can take the cluster'`,
        },
        {
          expression: saCheck("rbac.authorization.k8s.io", "clusterrolebindings", "create"),
          message: msg("reconciler-sa-overprivileged", "the reconciler's service account may create ClusterRoleBindings: whatever it applies can bind itself cluster-admin"),
          messageExpression: `'[reconciler-sa-overprivileged] ' + ${who} + ', which may create ClusterRoleBindings: whatever it applies can bind itself cluster-admin'`,
        },
      ],
    },
    {
      ruleId: "gitrepository-unverified",
      name: "fluxguard-rule-gitrepository-unverified",
      description: "GitRepositories must verify commit signatures.",
      resources: [SRC("gitrepositories")],
      exemptPlatformNamespace: false,
      variables: [],
      validations: [
        {
          expression: "has(object.spec.verify) && has(object.spec.verify.secretRef) && object.spec.verify.secretRef.name != ''",
          message: msg("gitrepository-unverified", "a GitRepository must set spec.verify with a secretRef of trusted keys: without it Flux applies any commit pushed to it"),
        },
      ],
    },
    {
      ruleId: "verify-mode-mismatch",
      name: "fluxguard-rule-verify-mode-mismatch",
      description: "verify.mode Tag or TagAndHEAD needs a tag, semver or tag-name ref.",
      resources: [SRC("gitrepositories")],
      exemptPlatformNamespace: false,
      variables: [],
      validations: [
        {
          expression:
            "!has(object.spec.verify) || !has(object.spec.verify.mode) || !(object.spec.verify.mode in ['Tag', 'TagAndHEAD']) || (has(object.spec.ref) && (has(object.spec.ref.tag) || has(object.spec.ref.semver) || (has(object.spec.ref.name) && object.spec.ref.name.startsWith('refs/tags/'))))",
          message: msg("verify-mode-mismatch", "verify.mode Tag or TagAndHEAD without a tag, semver or refs/tags/ name ref: no tag is verified"),
        },
      ],
    },
    {
      ruleId: "ocirepository-unverified",
      name: "fluxguard-rule-ocirepository-unverified",
      description: "OCIRepositories (sources and OCI charts) must verify signatures; keyless cosign must name anchored identities.",
      resources: [SRC("ocirepositories")],
      exemptPlatformNamespace: false,
      variables: [],
      validations: [
        {
          expression: "has(object.spec.verify)",
          message: msg("ocirepository-unverified", "an OCIRepository must set spec.verify (cosign or notation): otherwise whoever can push the tag decides what Flux applies"),
        },
        {
          expression:
            "!has(object.spec.verify) || has(object.spec.verify.secretRef) || (has(object.spec.verify.matchOIDCIdentity) && object.spec.verify.matchOIDCIdentity.size() > 0 && object.spec.verify.matchOIDCIdentity.all(i, i.issuer.startsWith('^') && i.issuer.endsWith('$') && i.subject.startsWith('^') && i.subject.endsWith('$') && !i.subject.contains('.*') && !i.issuer.contains('.*')))",
          message: msg("ocirepository-unverified", "keyless cosign without anchored matchOIDCIdentity (^…$, no .*) trusts a signature from anyone's CI"),
        },
      ],
    },
    {
      ruleId: "source-insecure-transport",
      name: "fluxguard-rule-source-insecure-transport",
      description: "Sources may not fetch over http:// or git://, or set insecure: true.",
      resources: [SRC("gitrepositories", "helmrepositories", "ocirepositories", "buckets"), IMG("imagerepositories")],
      exemptPlatformNamespace: false,
      variables: [],
      validations: [
        {
          expression: "!has(object.spec.url) || !(object.spec.url.lowerAscii().startsWith('http://') || object.spec.url.lowerAscii().startsWith('git://'))",
          message: msg("source-insecure-transport", "a source URL over http:// or git:// can be read and changed in transit"),
        },
        {
          expression: "!has(object.spec.insecure) || object.spec.insecure == false",
          message: msg("source-insecure-transport", "insecure: true fetches without TLS"),
        },
      ],
    },
    {
      ruleId: "helmrepository-pass-credentials",
      name: "fluxguard-rule-helmrepository-pass-credentials",
      description: "A HelmRepository may not pass its credentials to the hosts its index names.",
      resources: [SRC("helmrepositories")],
      exemptPlatformNamespace: false,
      variables: [],
      validations: [
        {
          expression: "!has(object.spec.passCredentials) || object.spec.passCredentials == false || !has(object.spec.secretRef)",
          message: msg("helmrepository-pass-credentials", "passCredentials: true sends the repository's credentials to whatever host the index points chart URLs at"),
        },
      ],
    },
    {
      ruleId: "kustomization-force-apply",
      name: "fluxguard-rule-kustomization-force-apply",
      description: "Kustomizations outside the platform namespace may not force-apply.",
      resources: [KS],
      exemptPlatformNamespace: true,
      variables: [],
      validations: [
        {
          expression: "!has(object.spec.force) || object.spec.force == false",
          message: msg("kustomization-force-apply", "spec.force: true recreates objects whose immutable fields changed, including ones another team owns"),
        },
      ],
    },
    {
      ruleId: "reconciler-remote-kubeconfig",
      name: "fluxguard-rule-reconciler-remote-kubeconfig",
      description: "Kustomizations and HelmReleases outside the platform namespace may not target another cluster with spec.kubeConfig.",
      resources: [KS, HR],
      exemptPlatformNamespace: true,
      variables: [],
      validations: [
        {
          expression: "!has(object.spec.kubeConfig)",
          message: msg("reconciler-remote-kubeconfig", "spec.kubeConfig applies to another cluster with the credentials in a Secret, outside this cluster's lockdown and RBAC"),
        },
      ],
    },
    {
      ruleId: "cross-namespace-source-ref",
      name: "fluxguard-rule-cross-namespace-source-ref",
      description: "Kustomizations and HelmReleases outside the platform namespace may not use a source in another namespace (the lockdown's --no-cross-namespace-refs, enforced at admission even where it is off).",
      resources: [KS, HR],
      exemptPlatformNamespace: true,
      variables: [],
      validations: [
        {
          expression: "!has(object.spec.sourceRef) || !has(object.spec.sourceRef.namespace) || object.spec.sourceRef.namespace == request.namespace",
          message: msg("cross-namespace-source-ref", "spec.sourceRef points into another namespace: a tenant reading another tenant's (or the platform's) source"),
        },
        {
          expression:
            "!has(object.spec.chart) || !has(object.spec.chart.spec) || !has(object.spec.chart.spec.sourceRef) || !has(object.spec.chart.spec.sourceRef.namespace) || object.spec.chart.spec.sourceRef.namespace == request.namespace",
          message: msg("cross-namespace-source-ref", "spec.chart.spec.sourceRef points into another namespace"),
        },
        {
          expression: "!has(object.spec.chartRef) || !has(object.spec.chartRef.namespace) || object.spec.chartRef.namespace == request.namespace",
          message: msg("cross-namespace-source-ref", "spec.chartRef points into another namespace"),
        },
      ],
    },
    {
      ruleId: "imagepolicy-unbounded",
      name: "fluxguard-rule-imagepolicy-unbounded",
      description: "ImagePolicies must be bounded: a semver range with an upper bound, filterTags for alphabetical/numerical, anchored patterns.",
      resources: [IMG("imagepolicies")],
      exemptPlatformNamespace: false,
      variables: [],
      validations: [
        {
          expression: `!has(object.spec.policy) || !has(object.spec.policy.semver) || object.spec.policy.semver.range.matches('${BOUNDED_RANGE_REGEX.replace(/\\/g, "\\\\")}')`,
          message: msg("imagepolicy-unbounded", "the semver range has no upper bound: any higher version pushed to the registry is deployed"),
        },
        {
          expression: "!has(object.spec.policy) || !(has(object.spec.policy.alphabetical) || has(object.spec.policy.numerical)) || (has(object.spec.filterTags) && has(object.spec.filterTags.pattern))",
          message: msg("imagepolicy-unbounded", "an alphabetical or numerical policy without filterTags.pattern: any pushed tag that sorts last is deployed"),
        },
        {
          expression:
            "!has(object.spec.filterTags) || !has(object.spec.filterTags.pattern) || (object.spec.filterTags.pattern.startsWith('^') && object.spec.filterTags.pattern.endsWith('$') && !object.spec.filterTags.pattern.endsWith('\\\\$'))",
          message: msg("imagepolicy-unbounded", "filterTags.pattern is not anchored with ^…$: tags that merely contain a match pass"),
        },
      ],
    },
    {
      ruleId: "helmrelease-privileged-values",
      name: "fluxguard-rule-helmrelease-privileged-values",
      description: `HelmRelease values may not set privileged: true or a host namespace (searched ${VALUES_SEARCH_DEPTH} levels deep).`,
      resources: [HR],
      exemptPlatformNamespace: false,
      variables: [],
      validations: [
        {
          expression: `!has(object.spec.values) || !${privilegedValuesExpression("object.spec.values")}`,
          message: msg("helmrelease-privileged-values", "HelmRelease values set privileged: true, hostNetwork, hostPID or hostIPC: the chart's pods get the node"),
        },
      ],
    },
  ];
}

/** The rule ids enforced natively (for the spec's `platform.admission.rules`). */
export function nativeRuleIds(): string[] {
  return rulePolicies().map((p) => p.ruleId);
}

/**
 * Skip updates that leave `spec` as it was (finalizers, labels, annotations set by the
 * controllers themselves), so an object admitted before a policy was tightened keeps
 * reconciling; any change to `spec` is checked.
 */
export const SPEC_CHANGED_EXPRESSION = "request.operation != 'UPDATE' || !has(object.spec) || !has(oldObject.spec) || object.spec != oldObject.spec";

export function platformNamespaceExpression(namespace: string): string {
  return `request.namespace != '${namespace}'`;
}
