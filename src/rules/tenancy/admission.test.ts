/**
 * admission-policy-tenant-gap on fluxguard's own generated policies: the generated fleet's
 * ValidatingAdmissionPolicies and Kyverno ClusterPolicies cover every tenant of the spec; a
 * tenant added to the repository later, outside the spec, is reported uncovered (the CEL
 * match condition names the spec's tenant namespaces only). Plus the matching primitives.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { generateFleet } from "../../generate/fleet.js";
import { loadSpec } from "../../generate/spec.js";
import { writeGenerated } from "../../generate/write.js";
import { runAudit } from "../../engine/audit.js";
import { REPO_ROOT } from "../../testing/paths.js";
import { resourceOf } from "./admission.js";

const dir = mkdtempSync(join(tmpdir(), "fluxguard-admission-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const NEW_TENANT = `
---
apiVersion: v1
kind: Namespace
metadata:
  name: newteam
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: newteam-reconciler
  namespace: newteam
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: newteam
  namespace: newteam
spec:
  interval: 10m
  path: ./
  prune: true
  serviceAccountName: newteam-reconciler
  sourceRef:
    kind: GitRepository
    name: newteam
`;

test("admission-policy-tenant-gap: fluxguard's generated policies cover every tenant of the spec, and not one added later", async () => {
  const spec = loadSpec(join(REPO_ROOT, "examples", "specs", "multi-tenant.yaml"));
  writeGenerated(dir, generateFleet(spec, { kyverno: true }));
  const env = { PATH: process.env["PATH"] };
  const clean = await runAudit({ root: dir, env });
  assert.deepEqual(clean.findings.filter((f) => f.ruleId === "admission-policy-tenant-gap").map((f) => f.message), []);

  // A tenant onboarded by hand, without regenerating: the policies' match condition lists the
  // spec's namespaces only, so its reconciler is not matched.
  const tenants = join(dir, "clusters", "production", "tenants.yaml");
  const { readFileSync } = await import("node:fs");
  writeFileSync(tenants, readFileSync(tenants, "utf8") + NEW_TENANT);
  const gap = await runAudit({ root: dir, env });
  const got = gap.findings.filter((f) => f.ruleId === "admission-policy-tenant-gap");
  assert.ok(got.length > 0, "the hand-added tenant is uncovered");
  for (const f of got) {
    assert.match(f.message, /does not cover tenant newteam\/newteam-reconciler \(Kustomization newteam\/newteam\)/);
    assert.match(f.message, /matchCondition 'tenant-reconciler' is false for system:serviceaccount:newteam:newteam-reconciler|celPrecondition 'tenant-reconciler' is false/);
    assert.equal(f.severity, "high");
  }
  // Both the ValidatingAdmissionPolicies and the Kyverno ClusterPolicies miss it.
  assert.ok(got.some((f) => f.message.startsWith("ValidatingAdmissionPolicy fluxguard-tenant-cluster-scope")));
  assert.ok(got.some((f) => f.message.startsWith("Kyverno ClusterPolicy fluxguard-tenant-cluster-scope")));
});

test("admission: kinds map to the API server's plural resources", () => {
  assert.equal(resourceOf("Deployment"), "deployments");
  assert.equal(resourceOf("NetworkPolicy"), "networkpolicies");
  assert.equal(resourceOf("Ingress"), "ingresses");
  assert.equal(resourceOf("GitRepository"), "gitrepositories");
  assert.equal(resourceOf("Gateway"), "gateways");
});
