import { defineRule } from "../../core/rule.js";
import type { Reconciler } from "../../core/model.js";
import type { JsonObject } from "../../core/types.js";
import { clustersWithObjects, describe } from "../util.js";
import { admissionPolicies, probeFor, type AdmissionProbe, type MatchResult, type PolicyUnit } from "./admission.js";

/** Kinds to probe a policy with when a tenant's content is not rendered (first one the policy covers). */
const REPRESENTATIVE = [
  { group: "", version: "v1", kind: "ConfigMap" },
  { group: "apps", version: "v1", kind: "Deployment" },
  { group: "", version: "v1", kind: "Pod" },
  { group: "rbac.authorization.k8s.io", version: "v1", kind: "RoleBinding" },
  { group: "rbac.authorization.k8s.io", version: "v1", kind: "ClusterRoleBinding" },
  { group: "kustomize.toolkit.fluxcd.io", version: "v1", kind: "Kustomization" },
  { group: "helm.toolkit.fluxcd.io", version: "v2", kind: "HelmRelease" },
  { group: "source.toolkit.fluxcd.io", version: "v1", kind: "GitRepository" },
  { group: "image.toolkit.fluxcd.io", version: "v1", kind: "ImageRepository" },
];

function tenantLabel(r: Reconciler): string {
  return `${r.identity.namespace}/${r.identity.serviceAccount}`;
}

/** The requests a tenant reconciler makes that a policy's rules could cover: its rendered kinds, else a representative kind. */
function probes(model: Parameters<typeof probeFor>[0], unit: PolicyUnit, r: Reconciler): AdmissionProbe[] {
  const ns = (r.object.object["spec"] as JsonObject | undefined)?.["targetNamespace"];
  const namespace = typeof ns === "string" ? ns : r.identity.namespace;
  // What it applies, when known (rendered, or a live inventory); else a representative kind.
  const rendered = r.render?.method && r.render.objects.length ? r.render.objects : null;
  if (rendered) {
    const seen = new Set<string>();
    const out: AdmissionProbe[] = [];
    for (const m of rendered) {
      const key = `${m.object.apiVersion}/${m.object.kind}/${m.object.metadata.namespace ?? namespace}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const p = probeFor(model, r.identity, m.object.metadata.namespace ?? namespace, m.object as unknown as JsonObject, undefined, r.clusterId);
      if (unit.coversKind(p.group, p.resource, p.kind)) out.push(p);
    }
    return out;
  }
  const k = REPRESENTATIVE.find((x) => {
    const p = probeFor(model, r.identity, namespace, null, x, r.clusterId);
    return unit.coversKind(p.group, p.resource, p.kind);
  });
  return k ? [probeFor(model, r.identity, namespace, null, k, r.clusterId)] : [];
}

export default defineRule({
  meta: {
    id: "admission-policy-tenant-gap",
    reads: { allKindsBut: [], why: "each tenant Kustomization's applied objects, of any kind (its live inventory, or the objects labelled as applied by it), are the requests it checks a policy against" },
    title: "The repository's admission policy does not cover a tenant",
    severity: "high",
    severityVaries: "high for a tenant reconciler the policy does not cover; medium for a policy that denies nothing (no binding, or audit/warn only); info when whether it covers a tenant is not assessed",
    threats: ["adversary-3-kustomization-escalation", "weakness-4-unscoped-kustomization"],
    summary: "a ValidatingAdmissionPolicy (with its binding) or Kyverno ClusterPolicy that guards tenants does not match one tenant's reconciler identity, namespace or kinds",
    rationale:
      "When a repository relies on admission policy as its trust boundary, each tenant is only as safe as the policy's match: the binding's namespaceSelector must select the tenant's Namespace, the matchConditions on request.userInfo must accept the tenant's reconciler service account, and the matchConstraints must include the kinds the tenant applies. A tenant the policy leaves out can apply whatever its RBAC allows. fluxguard evaluates the policy's own selectors and CEL match conditions (with a CEL implementation) for each tenant reconciler; a policy without a binding, or a binding that only audits, denies nothing.",
    remediation: {
      text: "Label the tenant's Namespace as the binding selects, add the tenant's namespace to the match condition (regenerate fluxguard's policies after adding a tenant), or widen the policy's resource rules.",
      snippet: `apiVersion: v1
kind: Namespace
metadata:
  name: team-b
  labels:
    tenant: "true"   # the label the ValidatingAdmissionPolicyBinding's namespaceSelector selects`,
    },
    references: [
      "https://kubernetes.io/docs/reference/access-authn-authz/validating-admission-policy/",
      "https://kyverno.io/docs/writing-policies/match-exclude/",
    ],
  },
  check({ model, report }) {
    for (const c of clustersWithObjects(model)) {
      const units = admissionPolicies(c.objects);
      if (units.length === 0) continue;
      // Reconcilers in the platform namespaces (a FluxInstance's sync under its lockdown account) are not tenants.
      const tenants = c.reconcilers.filter((r) => r.tier === "tenant" && !model.platform.namespaces.includes(r.identity.namespace));
      for (const unit of units) {
        if (unit.policy.object.kind === "ValidatingAdmissionPolicy" && unit.binding === null) {
          report({ object: unit.policy, pointer: "", severity: "medium", message: `${unit.label} has no ValidatingAdmissionPolicyBinding: it denies nothing` });
          continue;
        }
        if (!unit.enforcing) {
          report({ object: unit.binding ?? unit.policy, pointer: unit.binding ? "/spec/validationActions" : "/spec", severity: "medium", message: `${unit.label} only audits or warns: it denies nothing` });
          continue;
        }
        if (tenants.length === 0) continue;
        const results = new Map<Reconciler, MatchResult[]>();
        for (const r of tenants) results.set(r, probes(model, unit, r).map((p) => unit.match(p)));
        const covered = tenants.filter((r) => results.get(r)!.some((x) => x.verdict === "matched"));
        // A policy that guards no tenant at all is not about tenants (unless fluxguard generated it for them).
        if (covered.length === 0 && !unit.generated) continue;
        const seenIdentity = new Set<string>();
        for (const r of tenants) {
          const res = results.get(r)!;
          if (res.length === 0 || res.some((x) => x.verdict === "matched")) continue;
          const id = `${tenantLabel(r)}|${r.object.object.metadata.namespace ?? ""}`;
          if (seenIdentity.has(id)) continue;
          seenIdentity.add(id);
          const miss = res.find((x): x is Extract<MatchResult, { verdict: "not-matched" }> => x.verdict === "not-matched");
          const others = covered.length ? `; it covers ${[...new Set(covered.map(tenantLabel))].sort().join(", ")}` : "";
          if (miss) {
            report({
              object: miss.at,
              pointer: miss.pointer,
              message: `${unit.label} does not cover tenant ${tenantLabel(r)} (${describe(r.object)}): ${miss.why}${others}`,
            });
          } else {
            const unknown = res.find((x) => x.verdict === "unknown") as Extract<MatchResult, { verdict: "unknown" }>;
            report({ object: unit.binding ?? unit.policy, pointer: "", severity: "info", message: `whether ${unit.label} covers tenant ${tenantLabel(r)} (${describe(r.object)}) is not assessed: ${unknown.why}` });
          }
        }
      }
    }
  },
});
