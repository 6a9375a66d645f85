/**
 * Which admission requests a repository's own admission policies match, the way the API
 * server (ValidatingAdmissionPolicy, admissionregistration.k8s.io/v1) and Kyverno
 * (ClusterPolicy, kyverno.io/v1) decide it: resource rules, namespace selectors against the
 * Namespace's labels, and CEL match conditions on `request.userInfo`, evaluated with a real
 * CEL implementation (@marcbachmann/cel-js). Kubernetes' order is followed: matchConstraints
 * (policy), then matchResources (binding), then matchConditions.
 *
 * A probe is one request a tenant reconciler would send: its impersonated service account,
 * a namespace, a kind. The answer is matched, not matched (with the reason), or unknown
 * (the Namespace is not in the repository, a CEL expression could not be evaluated).
 */
import { Environment } from "@marcbachmann/cel-js";
import { asArray, asObject, asString, groupOf, isClusterScopedKind, path as at, str, versionOf } from "../../core/flux.js";
import type { FleetModel, ModelObject } from "../../core/model.js";
import { selectorMatches, serviceAccountUser } from "../../core/rbac.js";
import type { JsonObject, JsonValue } from "../../core/types.js";

/** One request a reconciler would make. */
export interface AdmissionProbe {
  username: string;
  groups: string[];
  /** "" for a cluster-scoped object. */
  namespace: string;
  /** Labels of that Namespace (with `kubernetes.io/metadata.name`), or null when the Namespace is not in the model. */
  namespaceLabels: Record<string, string> | null;
  group: string;
  version: string;
  kind: string;
  /** The lowercase plural resource (`deployments`). */
  resource: string;
  object: JsonObject;
}

export type MatchResult = { verdict: "matched" } | { verdict: "not-matched"; why: string; pointer: string; at: ModelObject } | { verdict: "unknown"; why: string };

/** An admission policy as it is enforced: a VAP with one binding, or a Kyverno ClusterPolicy. */
export interface PolicyUnit {
  label: string;
  policy: ModelObject;
  binding: ModelObject | null;
  /** Denies (binding validationActions Deny, Kyverno Enforce); false when it only audits or warns. */
  enforcing: boolean;
  /** Whether fluxguard generated it (`app.kubernetes.io/managed-by: fluxguard`). */
  generated: boolean;
  /** Whether the policy's rules could cover a kind at all. */
  coversKind(group: string, resource: string, kind: string): boolean;
  match(p: AdmissionProbe): MatchResult;
}

/** The plural resource name the API server uses for a kind (the regular English rules Kubernetes follows). */
export function resourceOf(kind: string): string {
  const k = kind.toLowerCase();
  if (k.endsWith("y") && !/[aeiou]y$/.test(k)) return `${k.slice(0, -1)}ies`;
  if (/(s|x|z|ch|sh)$/.test(k)) return `${k}es`;
  return `${k}s`;
}

const celEnv = new Environment({ unlistedVariablesAreDyn: true, homogeneousAggregateLiterals: false, limits: { maxAstNodes: 10_000, maxDepth: 100, maxListElements: 1000, maxMapEntries: 1000, maxCallArguments: 32 } });

/** Evaluates one CEL match condition; a string when it cannot be evaluated. */
function cel(expression: string, p: AdmissionProbe): boolean | string {
  const request: JsonObject = {
    kind: { group: p.group, version: p.version, kind: p.kind },
    resource: { group: p.group, version: p.version, resource: p.resource },
    name: asString(asObject(p.object["metadata"])?.["name"]) ?? "",
    ...(p.namespace ? { namespace: p.namespace } : {}),
    operation: "CREATE",
    userInfo: { username: p.username, groups: p.groups, uid: "" },
    dryRun: false,
  };
  try {
    const v = celEnv.evaluate(expression, { request, object: p.object, oldObject: null, params: null, namespaceObject: p.namespace ? { metadata: { name: p.namespace, labels: p.namespaceLabels ?? {} } } : null });
    return typeof v === "boolean" ? v : `evaluates to ${typeof v}, not a boolean`;
  } catch (e) {
    return (e as Error).message.split("\n")[0] ?? "error";
  }
}

function strings(v: JsonValue | undefined): string[] {
  return asArray(v).filter((x): x is string => typeof x === "string");
}

function ruleCovers(rule: JsonValue, group: string, resource: string, version = "*", operation = "CREATE"): boolean {
  const r = asObject(rule) ?? {};
  const any = (list: string[], v: string): boolean => list.includes("*") || list.includes(v);
  const ops = strings(r["operations"]);
  return any(strings(r["apiGroups"]), group) && (strings(r["apiVersions"]).length === 0 || any(strings(r["apiVersions"]), version) || version === "*") && strings(r["resources"]).some((x) => x === "*" || x === resource || x === `${resource}/*`) && (ops.length === 0 || any(ops, operation));
}

/** `matchConstraints` or a binding's `matchResources`: resource rules and the namespace selector. */
function matchResources(mr: JsonObject | undefined, p: AdmissionProbe, owner: ModelObject, base: string, what: string): MatchResult {
  if (!mr) return { verdict: "matched" };
  const rules = asArray(mr["resourceRules"]);
  if (rules.length && !rules.some((r) => ruleCovers(r, p.group, p.resource, p.version))) {
    return { verdict: "not-matched", why: `its ${what} resourceRules do not include ${p.resource}${p.group ? `.${p.group}` : ""}`, pointer: `${base}/resourceRules`, at: owner };
  }
  if (asArray(mr["excludeResourceRules"]).some((r) => ruleCovers(r, p.group, p.resource, p.version))) {
    return { verdict: "not-matched", why: `its ${what} excludeResourceRules exclude ${p.resource}`, pointer: `${base}/excludeResourceRules`, at: owner };
  }
  const nsSel = asObject(mr["namespaceSelector"]);
  if (nsSel && p.namespace && (Object.keys(asObject(nsSel["matchLabels"]) ?? {}).length || asArray(nsSel["matchExpressions"]).length)) {
    if (p.namespaceLabels === null) return { verdict: "unknown", why: `Namespace ${p.namespace} is not in the repository, so its labels (which the ${what} namespaceSelector reads) are unknown` };
    if (!selectorMatches(nsSel, p.namespaceLabels)) {
      return { verdict: "not-matched", why: `Namespace ${p.namespace} lacks the labels the ${what} namespaceSelector requires (${selectorText(nsSel)})`, pointer: `${base}/namespaceSelector`, at: owner };
    }
  }
  const objSel = asObject(mr["objectSelector"]);
  if (objSel && (Object.keys(asObject(objSel["matchLabels"]) ?? {}).length || asArray(objSel["matchExpressions"]).length)) {
    const labels = asObject(asObject(p.object["metadata"])?.["labels"]) as Record<string, string> | undefined;
    if (!selectorMatches(objSel, labels ?? {})) return { verdict: "not-matched", why: `the ${what} objectSelector (${selectorText(objSel)}) does not select the tenant's ${p.kind}`, pointer: `${base}/objectSelector`, at: owner };
  }
  return { verdict: "matched" };
}

function selectorText(sel: JsonObject): string {
  const parts = Object.entries(asObject(sel["matchLabels"]) ?? {}).map(([k, v]) => `${k}=${String(v)}`);
  for (const e of asArray(sel["matchExpressions"])) {
    const ex = asObject(e) ?? {};
    parts.push(`${asString(ex["key"]) ?? "?"} ${asString(ex["operator"]) ?? "?"}${asArray(ex["values"]).length ? ` (${strings(ex["values"]).join(", ")})` : ""}`);
  }
  return parts.join(", ");
}

function vapUnits(objects: readonly ModelObject[]): PolicyUnit[] {
  const policies = objects.filter((m) => m.object.kind === "ValidatingAdmissionPolicy" && groupOf(m.object.apiVersion) === "admissionregistration.k8s.io");
  const bindings = objects.filter((m) => m.object.kind === "ValidatingAdmissionPolicyBinding" && groupOf(m.object.apiVersion) === "admissionregistration.k8s.io");
  const out: PolicyUnit[] = [];
  for (const pol of policies) {
    const name = pol.object.metadata.name;
    const mine = bindings.filter((b) => str(b.object, "spec", "policyName") === name);
    const generated = pol.object.metadata.labels?.["app.kubernetes.io/managed-by"] === "fluxguard";
    const constraints = asObject(at(pol.object, "spec", "matchConstraints"));
    const conditions = asArray(at(pol.object, "spec", "matchConditions")).map(asObject).filter((c): c is JsonObject => c !== undefined);
    const coversKind = (group: string, resource: string): boolean => {
      const rules = asArray(constraints?.["resourceRules"]);
      return rules.length === 0 || rules.some((r) => ruleCovers(r, group, resource));
    };
    const unit = (binding: ModelObject | null): PolicyUnit => ({
      label: `ValidatingAdmissionPolicy ${name}${binding ? ` (binding ${binding.object.metadata.name})` : ""}`,
      policy: pol,
      binding,
      enforcing: binding !== null && strings(at(binding.object, "spec", "validationActions")).includes("Deny"),
      generated,
      coversKind: (g, r) => coversKind(g, r),
      match: (p) => {
        const c = matchResources(constraints, p, pol, "/spec/matchConstraints", "policy's matchConstraints");
        if (c.verdict !== "matched") return c;
        if (binding) {
          const b = matchResources(asObject(at(binding.object, "spec", "matchResources")), p, binding, "/spec/matchResources", "binding's matchResources");
          if (b.verdict !== "matched") return b;
        }
        for (const [i, cond] of conditions.entries()) {
          const expr = asString(cond["expression"]) ?? "true";
          const v = cel(expr, p);
          if (typeof v === "string") return { verdict: "unknown", why: `matchCondition '${asString(cond["name"]) ?? i}' could not be evaluated (${v})` };
          if (!v) return { verdict: "not-matched", why: `its matchCondition '${asString(cond["name"]) ?? i}' is false for ${p.username}`, pointer: `/spec/matchConditions/${i}/expression`, at: pol };
        }
        return { verdict: "matched" };
      },
    });
    if (mine.length === 0) out.push(unit(null));
    for (const b of mine) out.push(unit(b));
  }
  return out;
}

/** Kyverno's kind strings: `Kind`, `group/version/Kind`, `version/Kind`, with `*` wildcards. */
function kyvernoKindCovers(kinds: string[], group: string, kind: string): boolean {
  return kinds.some((k) => {
    if (k === "*") return true;
    const parts = k.split("/");
    const want = parts[parts.length - 1]!;
    if (want !== kind && want !== "*") return false;
    if (parts.length === 3) return parts[0] === "*" || parts[0] === group;
    return true;
  });
}

function wildcard(pattern: string, v: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`);
  return re.test(v);
}

/** Whether one Kyverno `resources`/`subjects` filter block selects the probe; a reason when not. */
function kyvernoFilter(f: JsonObject, p: AdmissionProbe): string | null | "unknown" {
  const res = asObject(f["resources"]) ?? {};
  const kinds = strings(res["kinds"]);
  if (kinds.length && !kyvernoKindCovers(kinds, p.group, p.kind)) return `its kinds (${kinds.join(", ")}) do not include ${p.kind}`;
  const nss = strings(res["namespaces"]);
  if (nss.length && !nss.some((n) => wildcard(n, p.namespace))) return `its namespaces (${nss.join(", ")}) do not include ${p.namespace}`;
  const nsSel = asObject(res["namespaceSelector"]);
  if (nsSel && p.namespace) {
    if (p.namespaceLabels === null) return "unknown";
    if (!selectorMatches(nsSel, p.namespaceLabels)) return `Namespace ${p.namespace} lacks the labels its namespaceSelector requires (${selectorText(nsSel)})`;
  }
  const subjects = asArray(f["subjects"]).map(asObject).filter((s): s is JsonObject => s !== undefined);
  if (subjects.length) {
    const [, , ns, name] = p.username.split(":");
    const hit = subjects.some((s) => {
      const kind = asString(s["kind"]);
      if (kind === "ServiceAccount") return asString(s["name"]) === name && (asString(s["namespace"]) ?? "") === ns;
      if (kind === "User") return asString(s["name"]) === p.username;
      if (kind === "Group") return p.groups.includes(asString(s["name"]) ?? "");
      return false;
    });
    if (!hit) return `its subjects do not include ${p.username}`;
  }
  return null;
}

function kyvernoUnits(objects: readonly ModelObject[]): PolicyUnit[] {
  const out: PolicyUnit[] = [];
  for (const pol of objects) {
    if (pol.object.kind !== "ClusterPolicy" || groupOf(pol.object.apiVersion) !== "kyverno.io") continue;
    const specAction = (str(pol.object, "spec", "validationFailureAction") ?? "Audit").toLowerCase();
    const rules = asArray(at(pol.object, "spec", "rules")).map(asObject).filter((r): r is JsonObject => r !== undefined && asObject(r["validate"]) !== undefined);
    if (rules.length === 0) continue;
    const enforcing = rules.some((r) => (asString(asObject(r["validate"])?.["failureAction"]) ?? specAction).toLowerCase() === "enforce");
    const blocks = (r: JsonObject, k: "match" | "exclude"): { any: JsonObject[]; all: JsonObject[] } => {
      const m = asObject(r[k]) ?? {};
      const list = (v: JsonValue | undefined): JsonObject[] => asArray(v).map(asObject).filter((x): x is JsonObject => x !== undefined);
      const any = list(m["any"]);
      const all = list(m["all"]);
      if (!any.length && !all.length && (m["resources"] || m["subjects"])) any.push(m);
      return { any, all };
    };
    out.push({
      label: `Kyverno ClusterPolicy ${pol.object.metadata.name}`,
      policy: pol,
      binding: null,
      enforcing,
      generated: pol.object.metadata.labels?.["app.kubernetes.io/managed-by"] === "fluxguard",
      coversKind: (group, _resource, kind) => rules.some((r) => [...blocks(r, "match").any, ...blocks(r, "match").all].some((f) => {
        const kinds = strings(asObject(f["resources"])?.["kinds"]);
        return kinds.length === 0 || kyvernoKindCovers(kinds, group, kind);
      })),
      match: (p) => {
        let first: MatchResult | null = null;
        for (const [ri, r] of rules.entries()) {
          const m = blocks(r, "match");
          const results = [...m.any, ...m.all].map((f) => kyvernoFilter(f, p));
          const anyOk = m.any.length === 0 || m.any.some((_, i) => results[i] === null);
          const allOk = m.all.every((_, i) => results[m.any.length + i] === null);
          const reason = results.find((x) => x !== null) ?? null;
          if (!(anyOk && allOk)) {
            if (reason === "unknown") first ??= { verdict: "unknown", why: `Namespace ${p.namespace} is not in the repository, so its labels are unknown` };
            else first ??= { verdict: "not-matched", why: `rule '${asString(r["name"]) ?? ri}': ${reason ?? "its match blocks do not select the request"}`, pointer: `/spec/rules/${ri}/match`, at: pol };
            continue;
          }
          const ex = blocks(r, "exclude");
          if ([...ex.any].some((f) => kyvernoFilter(f, p) === null) || (ex.all.length > 0 && ex.all.every((f) => kyvernoFilter(f, p) === null))) {
            first ??= { verdict: "not-matched", why: `rule '${asString(r["name"]) ?? ri}' excludes ${p.username}`, pointer: `/spec/rules/${ri}/exclude`, at: pol };
            continue;
          }
          let ok = true;
          for (const [ci, c] of asArray(r["celPreconditions"]).entries()) {
            const expr = asString(asObject(c)?.["expression"]) ?? "true";
            const v = cel(expr, p);
            if (typeof v === "string") {
              first ??= { verdict: "unknown", why: `celPrecondition '${asString(asObject(c)?.["name"]) ?? ci}' could not be evaluated (${v})` };
              ok = false;
              break;
            }
            if (!v) {
              first ??= { verdict: "not-matched", why: `rule '${asString(r["name"]) ?? ri}': its celPrecondition '${asString(asObject(c)?.["name"]) ?? ci}' is false for ${p.username}`, pointer: `/spec/rules/${ri}/celPreconditions/${ci}/expression`, at: pol };
              ok = false;
              break;
            }
          }
          if (ok) return { verdict: "matched" };
        }
        return first ?? { verdict: "not-matched", why: "no rule selects the request", pointer: "/spec/rules", at: pol };
      },
    });
  }
  return out;
}

/** Every admission policy among the objects, as enforced units. */
export function admissionPolicies(objects: readonly ModelObject[]): PolicyUnit[] {
  return [...vapUnits(objects), ...kyvernoUnits(objects)];
}

/** The request a reconciler identity makes to apply one object (or a representative ConfigMap in its namespace). */
export function probeFor(model: FleetModel, sa: { namespace: string; serviceAccount: string }, namespace: string, object: JsonObject | null, kind?: { group: string; version: string; kind: string }, clusterId?: string | null): AdmissionProbe {
  const apiVersion = object ? (asString(object["apiVersion"]) ?? "v1") : kind ? (kind.group ? `${kind.group}/${kind.version}` : kind.version) : "v1";
  const k = object ? (asString(object["kind"]) ?? "ConfigMap") : (kind?.kind ?? "ConfigMap");
  const ns = isClusterScopedKind(k) ? "" : namespace;
  const nsObj = ns ? model.objects.find((m) => m.object.kind === "Namespace" && m.object.apiVersion === "v1" && m.object.metadata.name === ns && (clusterId === undefined || m.clusterId === clusterId)) : undefined;
  return {
    username: serviceAccountUser(sa.namespace, sa.serviceAccount),
    groups: ["system:serviceaccounts", `system:serviceaccounts:${sa.namespace}`, "system:authenticated"],
    namespace: ns,
    namespaceLabels: ns ? (nsObj ? { ...(nsObj.object.metadata.labels ?? {}), "kubernetes.io/metadata.name": ns } : null) : {},
    group: groupOf(apiVersion),
    version: versionOf(apiVersion),
    kind: k,
    resource: resourceOf(k),
    object: object ?? { apiVersion, kind: k, metadata: { name: "probe", namespace: ns } },
  };
}
