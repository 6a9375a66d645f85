/**
 * Live-only analysis: what each reconciler identity can really do, asked of the API server
 * with SubjectAccessReview (its answer, not our reading of RBAC); who can read Secrets in the
 * Flux namespace; and who can create Kustomizations or HelmReleases that would run as
 * cluster-admin.
 */
import type { FleetModel } from "../core/model.js";
import type { Subject } from "../core/rbac.js";
import { serviceAccountUser, subjectKey } from "../core/rbac.js";
import { clusterAdminReconcilers } from "../core/escalation.js";
import { limiter } from "../core/limit.js";
import type { LiveContext } from "../loader/cluster.js";
import { isKubernetesSystemSubject } from "../rules/util.js";

export interface AccessCheck {
  id: string;
  label: string;
  verb: string;
  group: string;
  resource: string;
  /** null = cluster-wide; "$flux" = the Flux namespace. */
  namespace: string | null;
}

export const IDENTITY_CHECKS: readonly AccessCheck[] = [
  { id: "cluster-admin", label: "* on * (cluster-wide)", verb: "*", group: "*", resource: "*", namespace: null },
  { id: "create-crb", label: "create ClusterRoleBindings", verb: "create", group: "rbac.authorization.k8s.io", resource: "clusterrolebindings", namespace: null },
  { id: "escalate", label: "escalate ClusterRoles", verb: "escalate", group: "rbac.authorization.k8s.io", resource: "clusterroles", namespace: null },
  { id: "bind", label: "bind ClusterRoles", verb: "bind", group: "rbac.authorization.k8s.io", resource: "clusterroles", namespace: null },
  { id: "impersonate", label: "impersonate ServiceAccounts", verb: "impersonate", group: "", resource: "serviceaccounts", namespace: null },
  { id: "flux-secrets", label: "get Secrets in the Flux namespace", verb: "get", group: "", resource: "secrets", namespace: "$flux" },
  { id: "all-secrets", label: "list Secrets cluster-wide", verb: "list", group: "", resource: "secrets", namespace: null },
];

export interface IdentityRow {
  identity: string;
  usedBy: string[];
  tier: "platform" | "tenant";
  allowed: Record<string, boolean>;
}

export interface LiveAnalysis {
  context: string;
  server: string;
  fluxNamespace: string;
  checks: Array<{ id: string; label: string }>;
  identities: IdentityRow[];
  secretReaders: string[];
  clusterAdminCreators: Array<{ subject: string; kinds: string[]; namespaces: string[] }>;
  notices: Array<{ file: string; reason: string }>;
}

type Sar = (user: string, groups: string[], verb: string, group: string, resource: string, namespace: string | null) => Promise<boolean>;

export async function analyzeLive(model: FleetModel, live: LiveContext): Promise<LiveAnalysis> {
  const cache = new Map<string, Promise<boolean>>();
  const limit = limiter(16); // requests in flight: enough to pipeline, few enough for memory
  const sar: Sar = (user, groups, verb, group, resource, namespace) => {
    const key = JSON.stringify([user, groups, verb, group, resource, namespace]);
    let p = cache.get(key);
    if (!p) {
      p = limit(() =>
        live.api
          .request<{ status?: { allowed?: boolean } }>("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", {
            body: {
              apiVersion: "authorization.k8s.io/v1",
              kind: "SubjectAccessReview",
              spec: { user, groups, resourceAttributes: { verb, group, resource, ...(namespace ? { namespace } : {}) } },
            },
          })
          .then((r) => r.status?.allowed === true),
      );
      cache.set(key, p);
    }
    return p;
  };
  return analyzeWith(model, live, sar);
}


function saGroups(namespace: string): string[] {
  return ["system:serviceaccounts", `system:serviceaccounts:${namespace}`, "system:authenticated"];
}

function userOf(s: Subject): { user: string; groups: string[] } | null {
  if (s.kind === "ServiceAccount") return { user: serviceAccountUser(s.namespace ?? "default", s.name), groups: saGroups(s.namespace ?? "default") };
  if (s.kind === "User") return { user: s.name, groups: ["system:authenticated"] };
  return null;
}

export async function analyzeWith(model: FleetModel, live: LiveContext, sar: Sar): Promise<LiveAnalysis> {
  const cluster = model.clusters[0]!;
  const fluxNs = cluster.fluxNamespace;
  const identities = new Map<string, IdentityRow>();
  for (const r of cluster.reconcilers) {
    const id = `${r.identity.namespace}/${r.identity.serviceAccount}`;
    const row = identities.get(id) ?? { identity: id, usedBy: [], tier: r.tier, allowed: {} };
    row.usedBy.push(`${r.kind}/${r.object.object.metadata.namespace ?? ""}/${r.object.object.metadata.name}`);
    identities.set(id, row);
  }
  await Promise.all(
    [...identities.values()].map(async (row) => {
      const [ns, sa] = row.identity.split("/") as [string, string];
      const results = await Promise.all(
        IDENTITY_CHECKS.map((c) => sar(serviceAccountUser(ns, sa), saGroups(ns), c.verb, c.group, c.resource, c.namespace === "$flux" ? fluxNs : c.namespace)),
      );
      IDENTITY_CHECKS.forEach((c, i) => (row.allowed[c.id] = results[i]!));
      row.usedBy.sort();
    }),
  );
  // Who, among every subject RBAC names, can read the Flux namespace's Secrets.
  // Subjects named by some binding other than Kubernetes' own bootstrap policy.
  const subjects = cluster.rbac
    .allSubjects()
    .filter((s) => s.kind !== "Group" && cluster.rbac.bindings.some((b) => b.subjects.some((x) => subjectKey(x) === subjectKey(s)) && !isKubernetesSystemSubject(s, b)));
  const isFluxController = (s: Subject): boolean => s.kind === "ServiceAccount" && s.namespace === fluxNs && /-controller$|^source-watcher$/.test(s.name);
  const secretReaders: string[] = [];
  const creators: LiveAnalysis["clusterAdminCreators"] = [];
  const lockdown = cluster.lockdown;
  const unconfined = {
    Kustomization: !lockdown["kustomize-controller"].defaultServiceAccount,
    HelmRelease: !lockdown["helm-controller"].defaultServiceAccount,
  };
  // Under the lockdown, a reconciler may still name a cluster-admin service account of its own
  // namespace (the controllers' own in the Flux namespace): those namespaces are asked too
  // (core/escalation.ts, the same reading as the static rule flux-object-write-access).
  const nameable = {
    Kustomization: clusterAdminReconcilers(cluster, "Kustomization").nameable,
    HelmRelease: clusterAdminReconcilers(cluster, "HelmRelease").nameable,
  };
  const namespaces = new Set(model.objects.filter((m) => m.object.kind === "Namespace").map((m) => m.object.metadata.name));
  // RBAC grants a namespaced right through a RoleBinding in that namespace, or cluster-wide
  // through a ClusterRoleBinding. So: one question for all namespaces, then one per namespace
  // where a RoleBinding names the subject or one of its groups. The API server answers each;
  // the RBAC objects only choose which questions are worth asking (thousands fewer in a
  // cluster of many tenants).
  const roleBindingNamespaces = (u: { user: string; groups: string[] }, s: Subject): string[] => {
    const out = new Set<string>();
    for (const b of cluster.rbac.bindings) {
      if (b.kind !== "RoleBinding" || !b.namespace || !namespaces.has(b.namespace)) continue;
      const names = b.subjects.some((x) => (x.kind === "Group" ? u.groups.includes(x.name) : subjectKey(x) === subjectKey(s)));
      if (names) out.add(b.namespace);
    }
    return [...out].sort();
  };
  await Promise.all(
    subjects.map(async (s) => {
      const u = userOf(s);
      if (!u || isFluxController(s)) return;
      if (await sar(u.user, u.groups, "get", "", "secrets", fluxNs)) secretReaders.push(subjectKey(s));
      const kinds: string[] = [];
      const where = new Set<string>();
      let bound: string[] | undefined; // the namespaces of its RoleBindings, once per subject
      for (const [kind, resource, group] of [
        ["Kustomization", "kustomizations", "kustomize.toolkit.fluxcd.io"],
        ["HelmRelease", "helmreleases", "helm.toolkit.fluxcd.io"],
      ] as const) {
        if (!unconfined[kind] && nameable[kind].size === 0) continue;
        if (live.notices.some((n) => n.file.startsWith(`${kind} (`))) continue; // CRD not installed
        const nsAllowed: string[] = [];
        if (unconfined[kind]) {
          if (await sar(u.user, u.groups, "create", group, resource, null)) nsAllowed.push("*");
          else for (const ns of (bound ??= roleBindingNamespaces(u, s))) if (await sar(u.user, u.groups, "create", group, resource, ns)) nsAllowed.push(ns);
        }
        for (const ns of [...nameable[kind].keys()].sort()) {
          if (nsAllowed.includes("*") || nsAllowed.includes(ns)) continue;
          if (await sar(u.user, u.groups, "create", group, resource, ns)) nsAllowed.push(ns);
        }
        if (nsAllowed.length) {
          kinds.push(kind);
          nsAllowed.forEach((n) => where.add(n));
        }
      }
      if (kinds.length) creators.push({ subject: subjectKey(s), kinds, namespaces: [...where].sort() });
    }),
  );
  return {
    context: live.context,
    server: live.server,
    fluxNamespace: fluxNs,
    checks: IDENTITY_CHECKS.map((c) => ({ id: c.id, label: c.label })),
    identities: [...identities.values()].sort((a, b) => a.identity.localeCompare(b.identity)),
    secretReaders: secretReaders.sort(),
    clusterAdminCreators: creators.sort((a, b) => a.subject.localeCompare(b.subject)),
    notices: [...live.notices].sort((a, b) => a.file.localeCompare(b.file)),
  };
}

export function formatLiveText(a: LiveAnalysis): string {
  const lines: string[] = [];
  lines.push(`Live analysis of ${a.context} (${a.server}), answered by the API server (SubjectAccessReview)`);
  const w = Math.max(8, ...a.identities.map((r) => r.identity.length));
  const short = a.checks.map((c) => c.id);
  lines.push(`  ${"identity".padEnd(w)}  tier      ${short.join("  ")}`);
  for (const r of a.identities) {
    const cells = short.map((id) => (r.allowed[id] ? "yes" : "no").padEnd(id.length));
    lines.push(`  ${r.identity.padEnd(w)}  ${r.tier.padEnd(8)}  ${cells.join("  ")}`);
  }
  lines.push(`  (${a.checks.map((c) => `${c.id}: ${c.label}`).join("; ")})`);
  lines.push(`  Can read Secrets in ${a.fluxNamespace}: ${a.secretReaders.length ? a.secretReaders.join(", ") : "only the Flux controllers"}`);
  if (a.clusterAdminCreators.length) {
    lines.push("  Can create reconcilers that run as cluster-admin (no --default-service-account, or a cluster-admin service account to name there):");
    for (const c of a.clusterAdminCreators) lines.push(`    ${c.subject}: ${c.kinds.join(", ")} in ${c.namespaces.includes("*") ? "every namespace" : c.namespaces.join(", ")}`);
  } else lines.push("  Can create reconcilers that run as cluster-admin: nobody");
  return `${lines.join("\n")}\n`;
}
