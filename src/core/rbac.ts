/**
 * The RBAC graph of one cluster: roles (with aggregation and the built-in ClusterRoles),
 * bindings, and the question rules ask of it: what can this subject do, and where.
 */
import type { ModelObject } from "./model.js";
import { asArray, asObject, asString } from "./flux.js";
import type { JsonValue } from "./types.js";

export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames: string[];
  nonResourceURLs: string[];
}

export interface RoleNode {
  kind: "Role" | "ClusterRole";
  name: string;
  namespace: string | null;
  /** Own rules plus, for aggregated ClusterRoles, the rules aggregated into them. */
  rules: PolicyRule[];
  /** Index into the object's own `rules`, or -1 for aggregated/built-in rules. */
  ruleIndex: number[];
  object: ModelObject | null;
  builtin: boolean;
}

export interface Subject {
  kind: "ServiceAccount" | "User" | "Group";
  name: string;
  namespace?: string;
}

export interface BindingNode {
  object: ModelObject;
  kind: "RoleBinding" | "ClusterRoleBinding";
  namespace: string | null;
  roleRef: { kind: string; name: string };
  subjects: Subject[];
}

export interface Grant {
  rule: PolicyRule;
  ruleIndex: number;
  role: RoleNode;
  binding: BindingNode;
  /** A namespace, or "*" when the grant holds cluster-wide. */
  scope: string;
}

const R = (apiGroups: string[], resources: string[], verbs: string[]): PolicyRule => ({
  apiGroups,
  resources,
  verbs,
  resourceNames: [],
  nonResourceURLs: [],
});
const RW = ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"];
const RO = ["get", "list", "watch"];
const W = ["create", "update", "patch", "delete", "deletecollection"];

/**
 * `view`, `edit` and `admin` as Kubernetes' bootstrap policy defines them (k8s.io/kubernetes
 * plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go, v1.36: `viewRules`, `editRules`
 * and `system:aggregate-to-admin`, with the default feature gates). Each aggregates the next
 * smaller one: `view` is labelled aggregate-to-edit and `edit` aggregate-to-admin.
 */
const VIEW_RULES: PolicyRule[] = [
  R([""], ["pods", "replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts", "services", "services/status", "endpoints", "persistentvolumeclaims", "persistentvolumeclaims/status", "configmaps"], RO),
  R([""], ["limitranges", "resourcequotas", "bindings", "pods/status", "resourcequotas/status", "namespaces/status", "replicationcontrollers/status", "pods/log"], RO),
  R([""], ["namespaces"], RO),
  R(["", "events.k8s.io"], ["events"], RO),
  R(["discovery.k8s.io"], ["endpointslices"], RO),
  R(["apps"], ["controllerrevisions", "statefulsets", "statefulsets/status", "statefulsets/scale", "daemonsets", "daemonsets/status", "deployments", "deployments/status", "deployments/scale", "replicasets", "replicasets/status", "replicasets/scale"], RO),
  R(["autoscaling"], ["horizontalpodautoscalers", "horizontalpodautoscalers/status"], RO),
  R(["batch"], ["jobs", "cronjobs", "cronjobs/status", "jobs/status"], RO),
  R(["extensions"], ["daemonsets", "daemonsets/status", "deployments", "deployments/scale", "deployments/status", "ingresses", "ingresses/status", "replicasets", "replicasets/scale", "replicasets/status", "replicationcontrollers/scale", "networkpolicies"], RO),
  R(["policy"], ["poddisruptionbudgets", "poddisruptionbudgets/status"], RO),
  R(["networking.k8s.io"], ["networkpolicies", "ingresses", "ingresses/status"], RO),
  // DynamicResourceAllocation (GA, on by default since 1.34).
  R(["resource.k8s.io"], ["resourceclaims", "resourceclaims/status", "resourceclaimtemplates"], RO),
];
const EDIT_RULES: PolicyRule[] = [
  R([""], ["pods/attach", "pods/proxy", "pods/exec", "pods/portforward", "secrets", "services/proxy"], RO),
  // An editor may act as any service account of the namespace.
  R([""], ["serviceaccounts"], ["impersonate"]),
  R([""], ["pods", "pods/attach", "pods/proxy", "pods/exec", "pods/portforward"], W),
  R([""], ["pods/eviction"], ["create"]),
  R([""], ["replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts", "services", "services/proxy", "persistentvolumeclaims", "configmaps", "secrets"], W),
  R([""], ["serviceaccounts/token"], ["create"]),
  R(["", "events.k8s.io"], ["events"], W),
  R(["apps"], ["statefulsets", "statefulsets/scale", "daemonsets", "deployments", "deployments/scale", "deployments/rollback", "replicasets", "replicasets/scale"], W),
  R(["autoscaling"], ["horizontalpodautoscalers"], W),
  R(["batch"], ["jobs", "cronjobs"], W),
  R(["extensions"], ["daemonsets", "deployments", "deployments/scale", "deployments/rollback", "ingresses", "replicasets", "replicasets/scale", "replicationcontrollers/scale", "networkpolicies"], W),
  R(["policy"], ["poddisruptionbudgets"], W),
  R(["networking.k8s.io"], ["networkpolicies", "ingresses"], W),
  R(["coordination.k8s.io"], ["leases"], RW),
  R(["resource.k8s.io"], ["resourceclaims", "resourceclaimtemplates"], W),
];
const ADMIN_RULES: PolicyRule[] = [R(["authorization.k8s.io"], ["localsubjectaccessreviews"], ["create"]), R(["rbac.authorization.k8s.io"], ["roles", "rolebindings"], RW)];

const AGG = (role: string): string => `rbac.authorization.k8s.io/aggregate-to-${role}`;

/**
 * Built-in ClusterRoles from Kubernetes' bootstrap policy. `aggregateLabels`: the labels whose
 * ClusterRoles Kubernetes aggregates into the role, directly or through the smaller role it
 * contains (a role labelled aggregate-to-view ends up in view, edit and admin).
 */
const BUILTIN: Array<{ name: string; rules: PolicyRule[]; aggregateLabels?: string[] }> = [
  { name: "cluster-admin", rules: [R(["*"], ["*"], ["*"]), { ...R([], [], ["*"]), nonResourceURLs: ["*"] }] },
  { name: "admin", aggregateLabels: [AGG("admin"), AGG("edit"), AGG("view")], rules: [...ADMIN_RULES, ...EDIT_RULES, ...VIEW_RULES] },
  { name: "edit", aggregateLabels: [AGG("edit"), AGG("view")], rules: [...EDIT_RULES, ...VIEW_RULES] },
  { name: "view", aggregateLabels: [AGG("view")], rules: VIEW_RULES },
];

function strings(v: JsonValue | undefined): string[] {
  return asArray(v).filter((x): x is string => typeof x === "string");
}

function parseRule(v: JsonValue): PolicyRule {
  const o = asObject(v) ?? {};
  return {
    apiGroups: strings(o["apiGroups"]),
    resources: strings(o["resources"]),
    verbs: strings(o["verbs"]),
    resourceNames: strings(o["resourceNames"]),
    nonResourceURLs: strings(o["nonResourceURLs"]),
  };
}

/** ClusterRole aggregation: an absent or empty selector aggregates nothing. */
function matchLabels(selector: JsonValue, labels: Record<string, string> | undefined): boolean {
  const sel = asObject(selector);
  if (!sel || (Object.keys(asObject(sel["matchLabels"]) ?? {}).length === 0 && asArray(sel["matchExpressions"]).length === 0)) return false;
  return selectorMatches(sel, labels);
}

/** Kubernetes label selector semantics (matchLabels and matchExpressions); an empty selector selects everything. */
export function selectorMatches(selector: JsonValue | undefined, labels: Record<string, string> | undefined): boolean {
  const sel = asObject(selector) ?? {};
  for (const [k, v] of Object.entries(asObject(sel["matchLabels"]) ?? {})) if ((labels ?? {})[k] !== v) return false;
  for (const e of asArray(sel["matchExpressions"])) {
    const ex = asObject(e) ?? {};
    const key = asString(ex["key"]) ?? "";
    const op = asString(ex["operator"]) ?? "";
    const values = strings(ex["values"]);
    const has = labels !== undefined && key in labels;
    const val = labels?.[key];
    if (op === "In" && !(has && values.includes(val!))) return false;
    if (op === "NotIn" && has && values.includes(val!)) return false;
    if (op === "Exists" && !has) return false;
    if (op === "DoesNotExist" && has) return false;
    if (!["In", "NotIn", "Exists", "DoesNotExist"].includes(op)) return false;
  }
  return true;
}

export function ruleAllows(rule: PolicyRule, verb: string, group: string, resource: string, name?: string): boolean {
  const verbOk = rule.verbs.includes("*") || rule.verbs.includes(verb);
  const groupOk = rule.apiGroups.includes("*") || rule.apiGroups.includes(group);
  const [res, sub] = resource.split("/");
  const resOk = rule.resources.some((r) => {
    if (r === "*") return true;
    if (r === resource) return true;
    const [rr, rs] = r.split("/");
    if (sub !== undefined && rr === "*" && rs === sub) return true;
    return sub === undefined && rr === res && rs === undefined;
  });
  const nameOk = rule.resourceNames.length === 0 || (name !== undefined && rule.resourceNames.includes(name));
  return verbOk && groupOk && resOk && nameOk;
}

export function subjectKey(s: Subject): string {
  return s.kind === "ServiceAccount" ? `ServiceAccount:${s.namespace ?? ""}:${s.name}` : `${s.kind}:${s.name}`;
}

export function serviceAccountUser(namespace: string, name: string): string {
  return `system:serviceaccount:${namespace}:${name}`;
}

export class RbacGraph {
  readonly roles = new Map<string, RoleNode>();
  readonly bindings: BindingNode[] = [];
  /** grantsFor's answers, by subjectKey. */
  private readonly grantCache = new Map<string, Grant[]>();

  constructor(objects: readonly ModelObject[]) {
    const clusterRoleObjects: ModelObject[] = [];
    for (const m of objects) {
      const o = m.object;
      if (!o.apiVersion.startsWith("rbac.authorization.k8s.io/")) continue;
      if (o.kind === "Role" || o.kind === "ClusterRole") {
        const rules = asArray(o["rules"] as JsonValue).map(parseRule);
        const node: RoleNode = {
          kind: o.kind,
          name: o.metadata.name,
          namespace: o.kind === "Role" ? (o.metadata.namespace ?? "default") : null,
          rules,
          ruleIndex: rules.map((_, i) => i),
          object: m,
          builtin: false,
        };
        this.roles.set(RbacGraph.roleKey(node.kind, node.name, node.namespace), node);
        if (o.kind === "ClusterRole") clusterRoleObjects.push(m);
      } else if (o.kind === "RoleBinding" || o.kind === "ClusterRoleBinding") {
        const ref = asObject(o["roleRef"] as JsonValue) ?? {};
        const subjects: Subject[] = [];
        for (const s of asArray(o["subjects"] as JsonValue)) {
          const so = asObject(s) ?? {};
          const kind = asString(so["kind"]);
          const name = asString(so["name"]);
          if ((kind === "ServiceAccount" || kind === "User" || kind === "Group") && name) {
            const ns = asString(so["namespace"]) ?? (kind === "ServiceAccount" ? o.metadata.namespace : undefined);
            subjects.push(ns === undefined ? { kind, name } : { kind, name, namespace: ns });
          }
        }
        this.bindings.push({
          object: m,
          kind: o.kind,
          namespace: o.kind === "RoleBinding" ? (o.metadata.namespace ?? "default") : null,
          roleRef: { kind: asString(ref["kind"]) ?? "ClusterRole", name: asString(ref["name"]) ?? "" },
          subjects,
        });
      }
    }
    // Built-ins, unless the repository defines a ClusterRole of the same name.
    for (const b of BUILTIN) {
      const key = RbacGraph.roleKey("ClusterRole", b.name, null);
      if (!this.roles.has(key)) {
        this.roles.set(key, { kind: "ClusterRole", name: b.name, namespace: null, rules: [...b.rules], ruleIndex: b.rules.map(() => -1), object: null, builtin: true });
      }
    }
    // Aggregation: built-in admin/edit/view by label, and any ClusterRole with an aggregationRule.
    for (const b of BUILTIN) {
      if (!b.aggregateLabels) continue;
      const target = this.roles.get(RbacGraph.roleKey("ClusterRole", b.name, null))!;
      if (!target.builtin) continue;
      for (const m of clusterRoleObjects) {
        if (b.aggregateLabels.some((l) => m.object.metadata.labels?.[l] === "true")) this.aggregateInto(target, m);
      }
    }
    for (const m of clusterRoleObjects) {
      const agg = asObject(m.object["aggregationRule"] as JsonValue);
      if (!agg) continue;
      const target = this.roles.get(RbacGraph.roleKey("ClusterRole", m.object.metadata.name, null))!;
      const selectors = asArray(agg["clusterRoleSelectors"]);
      for (const other of clusterRoleObjects) {
        if (other === m) continue;
        if (selectors.some((s) => matchLabels(s, other.object.metadata.labels))) this.aggregateInto(target, other);
      }
    }
  }

  private aggregateInto(target: RoleNode, source: ModelObject): void {
    for (const r of asArray(source.object["rules"] as JsonValue)) {
      target.rules.push(parseRule(r));
      target.ruleIndex.push(-1);
    }
  }

  static roleKey(kind: string, name: string, namespace: string | null): string {
    return kind === "ClusterRole" ? `ClusterRole//${name}` : `Role/${namespace ?? ""}/${name}`;
  }

  roleFor(b: BindingNode): RoleNode | undefined {
    if (b.roleRef.kind === "ClusterRole") return this.roles.get(RbacGraph.roleKey("ClusterRole", b.roleRef.name, null));
    return this.roles.get(RbacGraph.roleKey("Role", b.roleRef.name, b.namespace));
  }

  /** Whether a binding subject covers the given subject, including the service-account groups. */
  static covers(bound: Subject, s: Subject): boolean {
    if (bound.kind === s.kind) {
      if (bound.kind === "ServiceAccount") return bound.name === s.name && (bound.namespace ?? "") === (s.namespace ?? "");
      return bound.name === s.name;
    }
    if (s.kind === "ServiceAccount" && bound.kind === "User") return bound.name === serviceAccountUser(s.namespace ?? "", s.name);
    if (s.kind === "ServiceAccount" && bound.kind === "Group") {
      return bound.name === "system:serviceaccounts" || bound.name === `system:serviceaccounts:${s.namespace ?? ""}` || bound.name === "system:authenticated";
    }
    return false;
  }

  /**
   * Every grant that reaches a subject. Computed once per subject (the graph does not change
   * after construction; rules ask the same subject many times): do not modify the result.
   */
  grantsFor(subject: Subject): readonly Grant[] {
    const key = subjectKey(subject);
    const hit = this.grantCache.get(key);
    if (hit) return hit;
    const out: Grant[] = [];
    for (const b of this.bindings) {
      if (!b.subjects.some((bs) => RbacGraph.covers(bs, subject))) continue;
      const role = this.roleFor(b);
      if (!role) continue;
      role.rules.forEach((rule, i) => out.push({ rule, ruleIndex: role.ruleIndex[i] ?? -1, role, binding: b, scope: b.namespace ?? "*" }));
    }
    this.grantCache.set(key, out);
    return out;
  }

  /** Grants allowing `verb` on `group/resource` in `namespace` (or cluster-wide when null). */
  allowing(subject: Subject, verb: string, group: string, resource: string, namespace: string | null): Grant[] {
    return this.grantsFor(subject).filter(
      (g) => (g.scope === "*" || (namespace !== null && g.scope === namespace)) && ruleAllows(g.rule, verb, group, resource),
    );
  }

  /** All subjects named in any binding. */
  allSubjects(): Subject[] {
    const seen = new Map<string, Subject>();
    for (const b of this.bindings) for (const s of b.subjects) seen.set(subjectKey(s), s);
    return [...seen.values()];
  }
}
