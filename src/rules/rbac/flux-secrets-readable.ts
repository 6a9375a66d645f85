import { RECONCILER_KINDS, RBAC_KINDS } from "../../core/model-kinds.js";
import { ruleAllows } from "../../core/rbac.js";
import { runsFlux } from "../../core/model.js";
import { defineRule } from "../../core/rule.js";
import { describe, describeSubject, isFluxControllerSubject, isKubernetesSystemSubject } from "../util.js";

export default defineRule({
  meta: {
    id: "flux-secrets-readable",
    title: "Someone other than Flux can read Secrets in the Flux namespace",
    severity: "high",
    threats: ["adversary-2-credential-exfiltration", "weakness-3-git-credentials"],
    summary: "a subject other than the Flux controllers can get, list or watch Secrets in the Flux namespace or cluster-wide",
    rationale:
      "The Flux namespace holds the Git deploy keys, tokens and SOPS keys. Any other subject that can read Secrets there (directly, or cluster-wide) can exfiltrate them and push to, or read, every repository Flux syncs.",
    remediation: {
      text: "Remove Secret read access from the binding, or scope it to the namespaces that need it (never the Flux namespace).",
      snippet: `# Grant Secret access per namespace, never cluster-wide:
kind: RoleBinding
metadata:
  namespace: team-a
roleRef:
  kind: ClusterRole
  name: view   # 'view' excludes Secrets`,
    },
    references: ["https://fluxcd.io/flux/security/best-practices/", "https://kubernetes.io/docs/concepts/security/rbac-good-practices/#listing-secrets"],
    reads: [...new Set<string>([...RBAC_KINDS, ...RECONCILER_KINDS])],
  },
  check({ model, report }) {
    for (const cluster of model.clusters) {
      if (!runsFlux(cluster)) continue; // a remote cluster reached through spec.kubeConfig runs no Flux of its own
      const ns = cluster.fluxNamespace;
      for (const b of cluster.rbac.bindings) {
        if (b.namespace !== null && b.namespace !== ns) continue;
        const role = cluster.rbac.roleFor(b);
        if (!role) continue;
        const reads = role.rules.some((r) => ["get", "list", "watch"].some((v) => ruleAllows(r, v, "", "secrets")));
        if (!reads) continue;
        b.subjects.forEach((s, i) => {
          if (isFluxControllerSubject(cluster, s)) return;
          if (isKubernetesSystemSubject(s, b)) return;
          report({
            object: b.object,
            pointer: `/subjects/${i}`,
            message: `${describeSubject(s)} can read Secrets ${b.namespace === null ? "in every namespace, including" : "in"} ${ns} through ${describe(b.object)} (role ${role.name})`,
          });
        });
      }
    }
  },
});
