import { RECONCILER_KINDS, RBAC_KINDS } from "../../core/model-kinds.js";
import { clusterAdminReconcilers, isClusterAdmin, RECONCILER_RESOURCES } from "../../core/escalation.js";
import type { BindingNode, Subject } from "../../core/rbac.js";
import { RbacGraph, subjectKey } from "../../core/rbac.js";
import { defineRule } from "../../core/rule.js";
import type { Severity } from "../../core/types.js";
import { describe, describeSubject, isFluxControllerSubject, isKubernetesSystemSubject } from "../util.js";

const VERBS = ["create", "update", "patch"] as const;
const NAMEABLE = "name:";

export default defineRule({
  meta: {
    id: "flux-object-write-access",
    title: "Write access to Flux objects that run as cluster-admin",
    severity: "critical",
    severityVaries: "critical for a ServiceAccount that may write them in every namespace; high for users and groups, and where only some namespaces are reachable",
    threats: ["adversary-3-kustomization-escalation", "weakness-1-cluster-admin", "weakness-4-unscoped-kustomization"],
    summary: "a ServiceAccount, user or group may create or patch Kustomizations or HelmReleases in a namespace where a reconciler runs as cluster-admin (no --default-service-account, or a cluster-admin service account there to name)",
    rationale:
      "A Kustomization or HelmRelease is an instruction to a controller that holds cluster-admin. Without `--default-service-account`, one that names no service account is applied as the controller itself; with it, a reconciler may still name any service account of its own namespace, and the controllers' own accounts in the Flux namespace (or any other account bound to cluster-admin) are cluster-admin. So whoever may create or patch these objects in such a namespace holds cluster-admin through Flux, whatever their own RBAC says (Adversary 3 without touching Git): a CI runner, a team's group, a tenant's service account. The static audit reads RBAC; `fluxguard audit --cluster` asks the API server the same question with SubjectAccessReview.",
    remediation: {
      text: "Turn on the lockdown (`--default-service-account`), keep service accounts bound to cluster-admin out of namespaces where others may create Flux objects, and grant write access to Kustomizations and HelmReleases only in namespaces whose default account is the tenant's own.",
      snippet: `# Give CI write access in its tenant namespace only, where reconcilers run as the tenant:
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: ci-flux-writer
  namespace: team-a
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: flux-edit            # kustomizations, helmreleases, sources
subjects:
  - kind: ServiceAccount
    name: ci-runner
    namespace: ci`,
    },
    references: ["https://fluxcd.io/flux/installation/configuration/multitenancy/", "https://fluxcd.io/flux/security/#multi-tenancy-lock-down"],
    reads: [...new Set<string>([...RBAC_KINDS, ...RECONCILER_KINDS])],
  },
  check({ model, report }) {
    for (const cluster of model.clusters) {
      const targets = RECONCILER_RESOURCES.map((r) => ({ ...r, where: clusterAdminReconcilers(cluster, r.kind) }));
      if (targets.every((t) => !t.where.anywhere && t.where.nameable.size === 0)) continue;
      const seen = new Set<string>();
      for (const b of cluster.rbac.bindings) {
        b.subjects.forEach((s) => {
          const key = subjectKey(s);
          if (seen.has(key) || isFluxControllerSubject(cluster, s) || isKubernetesSystemSubject(s, b)) return;
          seen.add(key);
          if (isClusterAdmin(cluster.rbac, s)) return; // nothing to gain through Flux
          const kinds: string[] = [];
          const places = new Map<string, Set<string>>(); // "*" or a namespace -> why a reconciler there is cluster-admin
          const via = new Map<string, BindingNode>();
          for (const t of targets) {
            const allowedIn = (ns: string | null): BindingNode | undefined => {
              for (const v of VERBS) {
                const g = cluster.rbac.allowing(s, v, t.group, t.resource, ns)[0];
                if (g) return g.binding;
              }
              return undefined;
            };
            const hits: Array<{ ns: string; binding: BindingNode; how: string }> = [];
            const wide = allowedIn(null);
            const unlocked = `${t.controller} runs without --default-service-account`;
            if (t.where.anywhere) {
              if (wide) hits.push({ ns: "*", binding: wide, how: unlocked });
              else for (const ns of roleBindingNamespaces(cluster.rbac, s)) {
                const bound = allowedIn(ns);
                if (bound) hits.push({ ns, binding: bound, how: unlocked });
              }
            }
            for (const [ns, accounts] of t.where.nameable) {
              if (hits.some((h) => h.ns === "*" || h.ns === ns)) continue;
              const bound = allowedIn(ns);
              const account = accounts.includes(t.controller) ? t.controller : accounts[0]!;
              if (bound) hits.push({ ns, binding: bound, how: `${NAMEABLE}${ns}/${account}` });
            }
            if (hits.length === 0) continue;
            kinds.push(`${t.kind}s`);
            for (const h of hits) {
              const why = places.get(h.ns) ?? new Set<string>();
              why.add(h.how);
              places.set(h.ns, why);
              if (!via.has(h.binding.object.key)) via.set(h.binding.object.key, h.binding);
            }
          }
          if (kinds.length === 0) return;
          const bindings = [...via.values()];
          const first = bindings[0]!;
          const idx = first.subjects.findIndex((x) => RbacGraph.covers(x, s) || subjectKey(x) === key);
          const everywhere = places.has("*");
          const severity: Severity = everywhere && s.kind === "ServiceAccount" ? "critical" : "high";
          const list = [...places.entries()]
            .sort(([a], [b]) => (a === "*" ? -1 : b === "*" ? 1 : a.localeCompare(b)))
            .map(([ns, why]) => `${ns === "*" ? "every namespace" : `namespace ${ns}`} (${reasons([...why])})`);
          report({
            object: first.object,
            pointer: idx >= 0 ? `/subjects/${idx}` : "/roleRef",
            severity,
            related: bindings.slice(1).map((x) => x.object),
            message: `${describeSubject(s)} may create or patch ${kinds.join(" and ")} in ${list.join("; ")} (through ${bindings.map((x) => describe(x.object)).join(", ")}): a reconciler it writes there can be applied as cluster-admin, so it holds cluster-admin through Flux; \`fluxguard audit --cluster\` confirms it with SubjectAccessReview`,
          });
        });
      }
    }
  },
});

/** Namespaces where a RoleBinding names the subject (directly or through its groups). */
function roleBindingNamespaces(rbac: RbacGraph, s: Subject): string[] {
  const out = new Set<string>();
  for (const b of rbac.bindings) if (b.kind === "RoleBinding" && b.namespace && b.subjects.some((x) => RbacGraph.covers(x, s))) out.add(b.namespace);
  return [...out].sort();
}

/** "kustomize-controller and helm-controller run without --default-service-account; …". */
function reasons(why: string[]): string {
  const suffix = " runs without --default-service-account";
  const unlocked = why.filter((w) => w.endsWith(suffix)).map((w) => w.slice(0, -suffix.length));
  const accounts = [...new Set(why.filter((w) => w.startsWith(NAMEABLE)).map((w) => w.slice(NAMEABLE.length)))];
  const head = unlocked.length > 1 ? [`${unlocked.join(" and ")} run without --default-service-account`] : unlocked.map((c) => `${c}${suffix}`);
  if (accounts.length) head.push(`a reconciler there may name ${accounts.length === 1 ? "ServiceAccount" : "ServiceAccounts"} ${accounts.join(" or ")}, which ${accounts.length === 1 ? "is" : "are"} cluster-admin`);
  return head.join("; ");
}
