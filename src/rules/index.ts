/**
 * The rule catalogue. One file per rule, grouped by domain; add a rule by importing it here.
 * Order does not matter: findings are sorted.
 */
import type { Rule } from "../core/rule.js";
import fluxApiRemoved from "./api/flux-api-removed.js";
import fluxSchemaViolation from "./api/flux-schema-violation.js";
import noFailureAlerting from "./alerting/no-failure-alerting.js";
import noVerificationAlerting from "./alerting/no-verification-alerting.js";
import pruneDisabled from "./alerting/prune-disabled.js";
import reconciliationSuspended from "./alerting/reconciliation-suspended.js";
import fluxEgressUnrestricted from "./credentials/flux-egress-unrestricted.js";
import gitHttpsCredentials from "./credentials/git-https-credentials.js";
import hardcodedCredentialInValues from "./credentials/hardcoded-credential-in-values.js";
import helmrepositoryPassCredentials from "./credentials/helmrepository-pass-credentials.js";
import plaintextSecretInGit from "./credentials/plaintext-secret-in-git.js";
import sshKnownHostsMissing from "./credentials/ssh-known-hosts-missing.js";
import helmreleaseNoRemediation from "./helm/helmrelease-no-remediation.js";
import helmreleasePrivilegedValues from "./helm/helmrelease-privileged-values.js";
import helmreleaseUnpinnedChart from "./helm/helmrelease-unpinned-chart.js";
import imageAutomationPushesToAppliedBranch from "./images/image-automation-pushes-to-applied-branch.js";
import imageRegistryNotAllowed from "./images/image-registry-not-allowed.js";
import imagepolicyInvalidExtract from "./images/imagepolicy-invalid-extract.js";
import imagepolicyUnbounded from "./images/imagepolicy-unbounded.js";
import gitrepositoryUnverified from "./source/gitrepository-unverified.js";
import helmChartUnverified from "./source/helm-chart-unverified.js";
import ocirepositoryUnverified from "./source/ocirepository-unverified.js";
import sourceInsecureTransport from "./source/source-insecure-transport.js";
import verifyModeMismatch from "./source/verify-mode-mismatch.js";
import workloadMutableImageTag from "./workloads/workload-mutable-image-tag.js";
import workloadPrivileged from "./workloads/workload-privileged.js";
import fluxControllerClusterAdmin from "./rbac/flux-controller-cluster-admin.js";
import fluxObjectWriteAccess from "./rbac/flux-object-write-access.js";
import fluxSecretsReadable from "./rbac/flux-secrets-readable.js";
import workloadSaEscalation from "./rbac/workload-sa-escalation.js";
import reconcilerSaOverprivileged from "./rbac/reconciler-sa-overprivileged.js";
import remoteClusterCredentialsReadable from "./rbac/remote-cluster-credentials-readable.js";
import sourceVerificationFailed from "./live/source-verification-failed.js";
import kustomizationNotRendered from "./repository/kustomization-not-rendered.js";
import parseError from "./repository/parse-error.js";
import inputNotAssessed from "./repository/input-not-assessed.js";
import resourcesetNotExpanded from "./repository/resourceset-not-expanded.js";
import suppressionInvalid from "./repository/suppression-invalid.js";
import admissionPolicyTenantGap from "./tenancy/admission-policy-tenant-gap.js";
import controllerInsecureFlag from "./tenancy/controller-insecure-flag.js";
import crossNamespaceSourceRef from "./tenancy/cross-namespace-source-ref.js";
import kustomizationAppliesEscalation from "./tenancy/kustomization-applies-escalation.js";
import kustomizationForceApply from "./tenancy/kustomization-force-apply.js";
import { helmreleaseMissingServiceAccount, kustomizationMissingServiceAccount } from "./tenancy/missing-service-account.js";
import multitenancyLockdownMissing from "./tenancy/multitenancy-lockdown-missing.js";
import resourcesetMissingServiceAccount from "./tenancy/resourceset-missing-service-account.js";
import remoteKustomizeBase from "./tenancy/remote-kustomize-base.js";
import sharedFluxMultiEnvironment from "./tenancy/shared-flux-multi-environment.js";
import reconcilerRemoteKubeconfig from "./tenancy/reconciler-remote-kubeconfig.js";
import tenantAppliesClusterScoped from "./tenancy/tenant-applies-cluster-scoped.js";

export const ALL_RULES: readonly Rule[] = [
  // repository
  parseError,
  inputNotAssessed,
  kustomizationNotRendered,
  resourcesetNotExpanded,
  suppressionInvalid,
  // rbac
  fluxControllerClusterAdmin,
  reconcilerSaOverprivileged,
  fluxSecretsReadable,
  fluxObjectWriteAccess,
  workloadSaEscalation,
  remoteClusterCredentialsReadable,
  // tenancy and trust boundaries
  multitenancyLockdownMissing,
  controllerInsecureFlag,
  kustomizationMissingServiceAccount,
  resourcesetMissingServiceAccount,
  helmreleaseMissingServiceAccount,
  tenantAppliesClusterScoped,
  kustomizationAppliesEscalation,
  kustomizationForceApply,
  crossNamespaceSourceRef,
  remoteKustomizeBase,
  sharedFluxMultiEnvironment,
  admissionPolicyTenantGap,
  reconcilerRemoteKubeconfig,
  // live cluster only
  sourceVerificationFailed,
  // source integrity
  gitrepositoryUnverified,
  verifyModeMismatch,
  ocirepositoryUnverified,
  helmChartUnverified,
  sourceInsecureTransport,
  // credentials
  plaintextSecretInGit,
  gitHttpsCredentials,
  sshKnownHostsMissing,
  hardcodedCredentialInValues,
  fluxEgressUnrestricted,
  helmrepositoryPassCredentials,
  // Helm values injection
  helmreleasePrivilegedValues,
  helmreleaseUnpinnedChart,
  helmreleaseNoRemediation,
  // image automation
  imageRegistryNotAllowed,
  imagepolicyUnbounded,
  imagepolicyInvalidExtract,
  imageAutomationPushesToAppliedBranch,
  // rendered workloads
  workloadPrivileged,
  workloadMutableImageTag,
  // alerting and drift
  noFailureAlerting,
  noVerificationAlerting,
  reconciliationSuspended,
  pruneDisabled,
  // Flux API hygiene
  fluxApiRemoved,
  fluxSchemaViolation,
];

export function findRule(id: string, rules: readonly Rule[] = ALL_RULES): Rule | undefined {
  return rules.find((r) => r.meta.id === id);
}
