/**
 * The natively enforced rules (one ValidatingAdmissionPolicy per rule) evaluated with a real
 * CEL implementation the way the API server does: matchConditions, variables, validations,
 * messageExpression. `authorizer` is a stand-in answering from a table (the API server's own
 * authorizer is exercised by the e2e suite); everything else is the expression as generated.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { Environment } from "@marcbachmann/cel-js";
import { parseAllDocuments } from "yaml";
import { REPO_ROOT } from "../testing/paths.js";
import { generateFleet } from "./fleet.js";
import { ruleAction } from "./policies.js";
import { BOUNDED_RANGE_REGEX, nativeRuleIds, platformNamespaceExpression, privilegedValuesExpression, rulePolicies, SPEC_CHANGED_EXPRESSION, type RulePolicy } from "./rule-policies.js";
import { checkBoundedRange, isAnchored } from "./semver.js";
import { loadSpec, parseSpec, SpecError } from "./spec.js";
import { ALL_RULES } from "../rules/index.js";

/** What the table-backed authorizer grants: "ns/sa" → set of "group/resource/verb". */
type Grants = Record<string, string[]>;

class Decision {
  constructor(readonly ok: boolean) {}
}
class ResourceCheck {
  constructor(
    readonly grants: Grants,
    readonly who: string,
    readonly group: string,
    readonly resource: string,
  ) {}
}
class GroupCheck {
  constructor(
    readonly grants: Grants,
    readonly who: string,
    readonly group: string,
  ) {}
}
class Authorizer {
  constructor(
    readonly grants: Grants,
    readonly who: string,
  ) {}
}

function env(): Environment {
  return new Environment({ unlistedVariablesAreDyn: false, homogeneousAggregateLiterals: false })
    .registerType("UserInfo", { fields: { username: "string", uid: "string", groups: "list<string>" } })
    .registerType("GroupVersionKind", { fields: { group: "string", version: "string", kind: "string" } })
    .registerType("AdmissionRequest", {
      fields: { kind: "GroupVersionKind", resource: "map", namespace: "string", name: "string", operation: "string", userInfo: "UserInfo", dryRun: "bool" },
    })
    .registerType("Authorizer", Authorizer)
    .registerType("GroupCheck", GroupCheck)
    .registerType("ResourceCheck", ResourceCheck)
    .registerType("Decision", Decision)
    .registerFunction("Authorizer.serviceAccount(string, string): Authorizer", (a: Authorizer, ns: string, name: string) => new Authorizer(a.grants, `${ns}/${name}`))
    .registerFunction("Authorizer.group(string): GroupCheck", (a: Authorizer, g: string) => new GroupCheck(a.grants, a.who, g))
    .registerFunction("GroupCheck.resource(string): ResourceCheck", (g: GroupCheck, r: string) => new ResourceCheck(g.grants, g.who, g.group, r))
    .registerFunction("ResourceCheck.check(string): Decision", (r: ResourceCheck, verb: string) => new Decision((r.grants[r.who] ?? []).includes(`${r.group}/${r.resource}/${verb}`)))
    .registerFunction("Decision.allowed(): bool", (d: Decision) => d.ok)
    .registerVariable("request", "AdmissionRequest")
    .registerVariable("object", "dyn")
    .registerVariable("oldObject", "dyn")
    .registerVariable("authorizer", "Authorizer")
    .registerVariable("variables", "map");
}

const E = env();
const policies = rulePolicies();
const policy = (id: string): RulePolicy => policies.find((p) => p.ruleId === id)!;
const PLATFORM_NS = "flux-system";

interface Req {
  kind: { group: string; version: string; kind: string };
  resource: Record<string, unknown>;
  namespace: string;
  name: string;
  operation: string;
  userInfo: { username: string; uid: string; groups: string[] };
  dryRun: boolean;
}

function request(kind: string, group: string, namespace: string, operation = "CREATE", username = "jane@example.com"): Req {
  return { kind: { group, version: "v1", kind }, resource: {}, namespace, name: "x", operation, userInfo: { username, uid: "", groups: [] }, dryRun: false };
}

/** Evaluates one rule policy as the API server would; returns the messages of failed validations (null = not matched). */
function admit(p: RulePolicy, req: Req, object: unknown, opts: { oldObject?: unknown; grants?: Grants } = {}): string[] | null {
  const ctx = { request: req, object, oldObject: opts.oldObject ?? null, authorizer: new Authorizer(opts.grants ?? {}, ""), variables: {} as Record<string, unknown> };
  const conditions = [SPEC_CHANGED_EXPRESSION, ...(p.exemptPlatformNamespace ? [platformNamespaceExpression(PLATFORM_NS)] : [])];
  for (const c of conditions) if (E.evaluate(c, ctx) !== true) return null;
  for (const v of p.variables) ctx.variables[v.name] = E.evaluate(v.expression, ctx);
  const out: string[] = [];
  for (const v of p.validations) {
    let ok: unknown;
    try {
      ok = E.evaluate(v.expression, ctx);
    } catch (e) {
      out.push(`evaluation error: ${(e as Error).message}`);
      continue;
    }
    if (ok !== true) out.push(v.messageExpression ? String(E.evaluate(v.messageExpression, ctx)) : v.message);
  }
  return out;
}

test("rule policies: every expression parses and type-checks, with authorizer typed", () => {
  for (const p of policies) {
    for (const x of [...p.variables.map((v) => v.expression), ...p.validations.flatMap((v) => [v.expression, ...(v.messageExpression ? [v.messageExpression] : [])])]) {
      const r = E.check(x);
      assert.ok(r.valid, `${p.ruleId}: ${x.slice(0, 200)}\n${JSON.stringify(r.error)}`);
    }
  }
  for (const c of [SPEC_CHANGED_EXPRESSION, platformNamespaceExpression(PLATFORM_NS)]) assert.ok(E.check(c).valid, c);
  assert.ok(!E.check("authorizer.serviceAccount('a').group('').resource('x').check('get').allowed()").valid, "wrong arity is caught");
});

test("rule policies: each names an audit rule that exists, and every message carries its id", () => {
  const ids = new Set(ALL_RULES.map((r) => r.meta.id));
  for (const p of policies) {
    assert.ok(ids.has(p.ruleId), p.ruleId);
    assert.equal(p.name, `fluxguard-rule-${p.ruleId}`);
    for (const v of p.validations) {
      assert.ok(v.message.startsWith(`[${p.ruleId}] `), v.message);
      if (v.messageExpression) assert.ok(v.messageExpression.startsWith(`'[${p.ruleId}] '`), v.messageExpression);
    }
  }
  assert.deepEqual(nativeRuleIds(), [...new Set(nativeRuleIds())], "one policy per rule");
});

const KS = (ns: string): Req => request("Kustomization", "kustomize.toolkit.fluxcd.io", ns);
const HR = (ns: string): Req => request("HelmRelease", "helm.toolkit.fluxcd.io", ns);

test("reconciler-sa-overprivileged: authorizer.serviceAccount asks what the named account may do", () => {
  const p = policy("reconciler-sa-overprivileged");
  const grants: Grants = {
    "team-a/admin": ["*/*/*"],
    "team-a/binder": ["rbac.authorization.k8s.io/clusterrolebindings/create"],
    "team-a/small": ["apps/deployments/create"],
  };
  const ks = (sa?: string) => ({ metadata: { name: "apps", namespace: "team-a" }, spec: sa ? { serviceAccountName: sa } : {} });
  assert.deepEqual(admit(p, KS("team-a"), ks("small"), { grants }), []);
  assert.deepEqual(admit(p, KS("team-a"), ks(), { grants }), [], "no serviceAccountName: the missing-service-account rules' concern");
  assert.deepEqual(admit(p, KS("team-a"), ks("admin"), { grants }), [
    "[reconciler-sa-overprivileged] Kustomization team-a/apps runs as service account team-a/admin, which holds * on * (cluster-admin): whatever it applies can take the cluster",
  ]);
  assert.deepEqual(admit(p, HR("team-a"), ks("binder"), { grants }), [
    "[reconciler-sa-overprivileged] HelmRelease team-a/apps runs as service account team-a/binder, which may create ClusterRoleBindings: whatever it applies can bind itself cluster-admin",
  ]);
  // The platform's own opt-in (serviceAccountName: kustomize-controller) is left alone.
  assert.equal(admit(p, KS(PLATFORM_NS), ks("kustomize-controller"), { grants: { "flux-system/kustomize-controller": ["*/*/*"] } }), null);
});

test("gitrepository-unverified and verify-mode-mismatch", () => {
  const g = policy("gitrepository-unverified");
  const req = request("GitRepository", "source.toolkit.fluxcd.io", "team-a");
  assert.deepEqual(admit(g, req, { spec: { url: "ssh://git@x/y", verify: { mode: "HEAD", secretRef: { name: "keys" } } } }), []);
  assert.equal(admit(g, req, { spec: { url: "ssh://git@x/y" } })!.length, 1);
  assert.equal(admit(g, request("GitRepository", "source.toolkit.fluxcd.io", PLATFORM_NS), { spec: { url: "ssh://git@x/y" } })!.length, 1, "the platform's sources too");
  const m = policy("verify-mode-mismatch");
  assert.deepEqual(admit(m, req, { spec: { ref: { tag: "v1" }, verify: { mode: "Tag", secretRef: { name: "k" } } } }), []);
  assert.deepEqual(admit(m, req, { spec: { ref: { name: "refs/tags/v1" }, verify: { mode: "TagAndHEAD", secretRef: { name: "k" } } } }), []);
  assert.match(admit(m, req, { spec: { ref: { branch: "main" }, verify: { mode: "Tag", secretRef: { name: "k" } } } })![0]!, /^\[verify-mode-mismatch\]/);
});

test("ocirepository-unverified: sources and OCI charts, keyless identities anchored", () => {
  const p = policy("ocirepository-unverified");
  const req = request("OCIRepository", "source.toolkit.fluxcd.io", "team-a");
  const anchored = { issuer: "^https://token\\.actions\\.githubusercontent\\.com$", subject: "^https://github\\.com/example/app/\\.github/workflows/release\\.yaml@refs/heads/main$" };
  assert.deepEqual(admit(p, req, { spec: { url: "oci://ghcr.io/x", verify: { provider: "cosign", secretRef: { name: "cosign-pub" } } } }), []);
  assert.deepEqual(admit(p, req, { spec: { url: "oci://ghcr.io/x", verify: { provider: "cosign", matchOIDCIdentity: [anchored] } } }), []);
  assert.equal(admit(p, req, { spec: { url: "oci://ghcr.io/x" } })!.length, 1);
  assert.equal(admit(p, req, { spec: { verify: { provider: "cosign" } } })!.length, 1, "keyless with no identity");
  assert.equal(admit(p, req, { spec: { verify: { provider: "cosign", matchOIDCIdentity: [{ issuer: ".*", subject: ".*" }] } } })!.length, 1);
  assert.equal(admit(p, req, { spec: { verify: { provider: "cosign", matchOIDCIdentity: [{ ...anchored, subject: "^https://github\\.com/example/.*$" }] } } })!.length, 1);
});

test("source-insecure-transport, helmrepository-pass-credentials, kustomization-force-apply", () => {
  const t = policy("source-insecure-transport");
  const req = request("HelmRepository", "source.toolkit.fluxcd.io", "team-a");
  assert.deepEqual(admit(t, req, { spec: { url: "https://charts.example.com" } }), []);
  assert.deepEqual(admit(t, req, { spec: { url: "oci://ghcr.io/x", type: "oci" } }), []);
  assert.equal(admit(t, req, { spec: { url: "HTTP://charts.example.com" } })!.length, 1);
  assert.equal(admit(t, request("GitRepository", "source.toolkit.fluxcd.io", "x"), { spec: { url: "git://example.com/x" } })!.length, 1);
  assert.equal(admit(t, request("ImageRepository", "image.toolkit.fluxcd.io", "x"), { spec: { image: "r/x", insecure: true } })!.length, 1);
  const pc = policy("helmrepository-pass-credentials");
  assert.deepEqual(admit(pc, req, { spec: { url: "https://x", passCredentials: true } }), [], "nothing to pass");
  assert.equal(admit(pc, req, { spec: { url: "https://x", passCredentials: true, secretRef: { name: "c" } } })!.length, 1);
  const f = policy("kustomization-force-apply");
  assert.deepEqual(admit(f, KS("team-a"), { spec: { force: false } }), []);
  assert.equal(admit(f, KS("team-a"), { spec: { force: true } })!.length, 1);
  assert.equal(admit(f, KS(PLATFORM_NS), { spec: { force: true } }), null);
});

test("reconciler-remote-kubeconfig and cross-namespace-source-ref: tenants only", () => {
  const k = policy("reconciler-remote-kubeconfig");
  assert.deepEqual(admit(k, KS("team-a"), { spec: { serviceAccountName: "a" } }), []);
  assert.equal(admit(k, KS("team-a"), { spec: { kubeConfig: { secretRef: { name: "prod" } } } })!.length, 1);
  assert.equal(admit(k, HR("team-a"), { spec: { kubeConfig: { configMapRef: { name: "prod" } } } })!.length, 1);
  assert.equal(admit(k, KS(PLATFORM_NS), { spec: { kubeConfig: { secretRef: { name: "edge" } } } }), null);
  const x = policy("cross-namespace-source-ref");
  assert.deepEqual(admit(x, KS("team-a"), { spec: { sourceRef: { kind: "GitRepository", name: "a" } } }), []);
  assert.deepEqual(admit(x, KS("team-a"), { spec: { sourceRef: { kind: "GitRepository", name: "a", namespace: "team-a" } } }), []);
  assert.equal(admit(x, KS("team-a"), { spec: { sourceRef: { kind: "GitRepository", name: "flux-system", namespace: "flux-system" } } })!.length, 1);
  assert.equal(admit(x, HR("team-a"), { spec: { chart: { spec: { chart: "c", sourceRef: { kind: "HelmRepository", name: "r", namespace: "team-b" } } } } })!.length, 1);
  assert.equal(admit(x, HR("team-a"), { spec: { chartRef: { kind: "OCIRepository", name: "r", namespace: "team-b" } } })!.length, 1);
});

test("imagepolicy-unbounded: the CEL range check agrees with the audit's semver reader", () => {
  const p = policy("imagepolicy-unbounded");
  const req = request("ImagePolicy", "image.toolkit.fluxcd.io", "team-a");
  const ranges = [
    ">=1.0.0 <2.0.0",
    "~1.2",
    "^1.2.3",
    "1.x",
    "1.2.3",
    "v1",
    "1.0.0 - 1.4.5",
    ">=1.0.0 <2.0.0 || >=3.0.0 <4.0.0",
    "<= 2.0.0",
    "*",
    ">=1.0.0",
    ">1.0.0",
    "x",
    "latest",
    ">=1.0.0 || <2.0.0",
    ">=1.0.0 <2.0.0 || >=5.0.0",
    "",
  ];
  for (const range of ranges) {
    const audit = checkBoundedRange(range).ok;
    const cel = admit(p, req, { spec: { imageRepositoryRef: { name: "r" }, policy: { semver: { range } } } })!.length === 0;
    assert.equal(cel, audit, `range '${range}': audit ${audit}, CEL ${cel}`);
  }
  assert.ok(new RegExp(BOUNDED_RANGE_REGEX).test(">=1 <2"));
  for (const pattern of ["^v[0-9]+$", "v[0-9]+", "^v[0-9]+", "^main-.*\\$", "^main-[a-f0-9]+-(?P<ts>[0-9]+)$"]) {
    const cel = admit(p, req, { spec: { filterTags: { pattern }, policy: { numerical: { order: "asc" } } } })!.length === 0;
    assert.equal(cel, isAnchored(pattern), pattern);
  }
  assert.equal(admit(p, req, { spec: { policy: { alphabetical: { order: "asc" } } } })!.length, 1, "no filterTags");
});

test("helmrelease-privileged-values: searches maps and lists, a bounded depth", () => {
  const p = policy("helmrelease-privileged-values");
  const hr = (values: unknown) => ({ spec: { values } });
  assert.deepEqual(admit(p, HR("team-a"), { spec: {} }), []);
  assert.deepEqual(admit(p, HR("team-a"), hr({ securityContext: { privileged: false, runAsNonRoot: true }, hostNetworkNote: true, replicas: 2 })), []);
  assert.deepEqual(admit(p, HR("team-a"), hr({ description: "privileged", tags: ["hostNetwork"] })), [], "words in values are not settings");
  for (const values of [
    { hostNetwork: true },
    { securityContext: { privileged: true } },
    { controller: { daemonset: { hostPID: true } } },
    { sidecars: [{ name: "x", securityContext: { privileged: true } }] },
    { a: { b: { c: { hostIPC: true } } } },
  ]) {
    assert.match(admit(p, HR("team-a"), hr(values))![0] ?? "", /^\[helmrelease-privileged-values\]/, JSON.stringify(values));
  }
  // Deeper than the bound: the webhook and the audit see it; CEL does not (documented).
  assert.deepEqual(admit(p, HR("team-a"), hr({ a: { b: { c: { d: { e: { privileged: true } } } } } })), []);
  assert.ok(privilegedValuesExpression("object.spec.values").length < 20_000, "the expression stays small");
});

test("rule policies: an update that leaves spec alone (a controller's finalizer) is not matched; one that changes it is", () => {
  const p = policy("gitrepository-unverified");
  const old = { metadata: { name: "x" }, spec: { url: "ssh://git@x/y" } };
  const req = request("GitRepository", "source.toolkit.fluxcd.io", "team-a", "UPDATE", "system:serviceaccount:flux-system:source-controller");
  assert.equal(admit(p, req, { ...old, metadata: { name: "x", finalizers: ["finalizers.fluxcd.io"] } }, { oldObject: old }), null);
  assert.equal(admit(p, req, { ...old, spec: { url: "ssh://git@x/z" } }, { oldObject: old })!.length, 1);
});

test("rule policies: written with the spec's action per rule (Deny by default, Warn or Audit to roll out), and the expressions written are the ones checked", () => {
  const base = "platform:\n  repository: ssh://git@example.com/fleet\ntenants:\n  - name: a\n    repository: ssh://git@example.com/a\n    allowedRegistries: [ghcr.io/example]\n";
  const spec = parseSpec(`${base.replace("fleet\n", "fleet\n  admission:\n    rules:\n      reconciler-sa-overprivileged: Deny\n      imagepolicy-unbounded: Audit\n")}`, "spec.yaml");
  assert.equal(ruleAction(spec, "reconciler-sa-overprivileged"), "Deny");
  assert.equal(ruleAction(spec, "gitrepository-unverified"), "Deny", "the default");
  const file = generateFleet(spec, { kyverno: false }).find((f) => f.path === "platform/policies/rule-policies.yaml")!;
  const docs = parseAllDocuments(file.content).map((d) => d.toJS() as { kind: string; metadata: { name: string }; spec: { validationActions?: string[]; validations?: Array<{ expression: string }> } });
  const binding = (n: string) => docs.find((d) => d.kind === "ValidatingAdmissionPolicyBinding" && d.metadata.name === `fluxguard-rule-${n}`)!.spec.validationActions;
  assert.deepEqual(binding("reconciler-sa-overprivileged"), ["Deny", "Audit"]);
  assert.deepEqual(binding("imagepolicy-unbounded"), ["Audit"]);
  assert.deepEqual(binding("gitrepository-unverified"), ["Deny", "Audit"]);
  const written = docs.flatMap((d) => d.spec.validations ?? []).map((v) => v.expression);
  assert.deepEqual(written, policies.flatMap((p) => p.validations.map((v) => v.expression)));
  // Warn-first: everything in Warn at once.
  const warn = parseSpec(base.replace("fleet\n", "fleet\n  admission:\n    default: Warn\n"), "spec.yaml");
  assert.ok(nativeRuleIds().every((id) => ruleAction(warn, id) === "Warn"));
  // Unknown rule ids and actions are spec errors with their line.
  assert.throws(
    () => parseSpec(base.replace("fleet\n", "fleet\n  admission:\n    default: Block\n    rules:\n      no-such-rule: Deny\n"), "spec.yaml"),
    (e: unknown) => e instanceof SpecError && e.lines().some((l) => /default: must be one of Deny, Warn, Audit/.test(l)) && e.lines().some((l) => /unknown key 'no-such-rule'/.test(l)),
  );
});

test("rule policies: the example fleets parse with the default (Deny)", () => {
  const spec = loadSpec(join(REPO_ROOT, "examples", "specs", "multi-tenant.yaml"));
  assert.equal(spec.platform.admission.default, "Deny");
});
