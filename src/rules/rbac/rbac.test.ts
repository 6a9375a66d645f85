import { ruleFixtureTests } from "../../testing/rule-tester.js";

for (const id of ["flux-controller-cluster-admin", "reconciler-sa-overprivileged", "flux-secrets-readable", "remote-cluster-credentials-readable", "flux-object-write-access", "workload-sa-escalation"]) ruleFixtureTests(import.meta.url, id);
