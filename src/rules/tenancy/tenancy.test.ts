import { ruleFixtureTests } from "../../testing/rule-tester.js";

for (const id of [
  "multitenancy-lockdown-missing",
  "controller-insecure-flag",
  "kustomization-missing-service-account",
  "resourceset-missing-service-account",
  "helmrelease-missing-service-account",
  "tenant-applies-cluster-scoped",
  "kustomization-applies-escalation",
  "kustomization-force-apply",
  "cross-namespace-source-ref",
  "remote-kustomize-base",
  "shared-flux-multi-environment",
  "admission-policy-tenant-gap",
  "reconciler-remote-kubeconfig",
])
  ruleFixtureTests(import.meta.url, id);
