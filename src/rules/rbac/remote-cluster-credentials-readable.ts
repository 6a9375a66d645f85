import { RECONCILER_KINDS, RBAC_KINDS } from "../../core/model-kinds.js";
import { runsFlux } from "../../core/model.js";
import { ruleAllows, type Subject } from "../../core/rbac.js";
import { defineRule } from "../../core/rule.js";
import { describe, describeSubject, isFluxControllerSubject, isKubernetesSystemSubject } from "../util.js";

/**
 * Hub and spoke: a Kustomization or HelmRelease with `spec.kubeConfig.secretRef` applies to
 * another cluster with the credentials in that Secret. On the hub, whoever can read the Secret
 * holds the remote cluster's credentials. Flux's own controllers must read it; anyone else is a
 * finding. One info finding per Secret says who holds it when only Flux does.
 */
export default defineRule({
  meta: {
    id: "remote-cluster-credentials-readable",
    title: "A subject on the hub can read a remote cluster's kubeconfig",
    severity: "high",
    severityVaries: "high for each subject besides Flux that can read a remote cluster's kubeconfig Secret; info, once, saying who holds it when only Flux can",
    threats: ["adversary-2-credential-exfiltration", "weakness-1-cluster-admin"],
    summary: "someone other than the Flux controllers can read the Secret holding the kubeconfig a Kustomization or HelmRelease uses for remote apply",
    rationale:
      "With `spec.kubeConfig.secretRef`, kustomize-controller and helm-controller act on another cluster with the kubeconfig in that Secret, often a Cluster API admin kubeconfig. The remote cluster trusts whoever presents it. Every subject on the hub that can get, list or watch that Secret (through a RoleBinding in its namespace or a ClusterRoleBinding) holds the remote cluster's credentials, and can act there without Git, review or Flux.",
    remediation: {
      text: "Keep kubeconfig Secrets in a namespace only the platform can read; grant tenants no Secret access there, and prefer a kubeconfig whose identity is limited on the remote cluster (or serviceAccountName to impersonate a small account there).",
      snippet: `# Secret read only where it is needed, never cluster-wide:
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: app-readers
  namespace: apps          # not the namespace of the kubeconfig Secrets
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: view               # 'view' excludes Secrets`,
    },
    references: ["https://fluxcd.io/flux/components/kustomize/kustomizations/#remote-clusters--cluster-api", "https://kubernetes.io/docs/concepts/security/rbac-good-practices/#listing-secrets"],
    reads: [...new Set<string>([...RBAC_KINDS, ...RECONCILER_KINDS, "Secret"])],
  },
  check({ model, report }) {
    for (const hub of model.clusters) {
      // Reconcilers on this hub, grouped by the kubeconfig Secret they use.
      const bySecret = new Map<string, typeof hub.reconcilers>();
      for (const r of hub.reconcilers) {
        if (r.remote?.kind !== "Secret") continue;
        const k = `${r.remote.namespace}/${r.remote.name}`;
        bySecret.set(k, [...(bySecret.get(k) ?? []), r]);
      }
      for (const [key, users] of bySecret) {
        const first = users[0]!;
        const remote = first.remote!;
        const target = remote.clusterId;
        const who = users.length === 1 ? describe(first.object) : `${describe(first.object)} and ${users.length - 1} more`;
        const flux: string[] = [];
        let others = 0;
        for (const b of hub.rbac.bindings) {
          if (b.namespace !== null && b.namespace !== remote.namespace) continue;
          const role = hub.rbac.roleFor(b);
          if (!role) continue;
          const reads = role.rules.some((rule) => ["get", "list", "watch"].some((v) => ruleAllows(rule, v, "", "secrets", v === "get" ? remote.name : undefined)));
          if (!reads) continue;
          b.subjects.forEach((s: Subject, i) => {
            if (isKubernetesSystemSubject(s, b)) return;
            if (runsFlux(hub) && isFluxControllerSubject(hub, s)) {
              flux.push(s.name);
              return;
            }
            others++;
            report({
              object: b.object,
              pointer: `/subjects/${i}`,
              message: `${describeSubject(s)} can read Secret ${key} through ${describe(b.object)} (role ${role.name}): it holds the kubeconfig ${who} ${users.length === 1 ? "uses" : "use"} to apply to remote cluster ${target}, so this subject holds that cluster's credentials`,
            });
          });
        }
        if (others === 0) {
          const holders = [...new Set(flux)].sort();
          report({
            object: first.object,
            pointer: "/spec/kubeConfig/secretRef",
            severity: "info",
            message: `Secret ${key} holds the credentials of remote cluster ${target} (${who} applies there as its identity${first.identity.serviceAccount ? `, impersonating ${first.identity.namespace}/${first.identity.serviceAccount}` : ""}); on the hub ${holders.length ? `only Flux's ${holders.join(", ")} can read it` : "no binding in the repository grants read access to it"}`,
          });
        }
      }
    }
  },
});
