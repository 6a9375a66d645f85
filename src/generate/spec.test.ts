import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { runCli } from "../testing/cli.js";
import { REPO_ROOT } from "../testing/paths.js";
import { STARTER_SPEC } from "./init.js";
import { checkBoundedRange, anchorPattern, isAnchored } from "./semver.js";
import { parseSpec, SpecError } from "./spec.js";

function problems(text: string): string[] {
  try {
    parseSpec(text, "fleet.yaml");
  } catch (e) {
    if (e instanceof SpecError) return e.lines();
    throw e;
  }
  return [];
}

const BASE = `platform:
  repository: ssh://git@github.com/example/fleet
tenants:
  - name: team-a
    repository: ssh://git@github.com/example/team-a
    allowedRegistries: [ghcr.io/example]
`;

test("spec: a minimal spec gets sensible defaults", () => {
  const s = parseSpec(BASE, "fleet.yaml");
  assert.equal(s.platform.namespace, "flux-system");
  assert.equal(s.platform.branch, "main");
  assert.equal(s.platform.installer, "bootstrap");
  assert.deepEqual(
    s.clusters.map((c) => [c.name, c.path, c.branch, c.environment]),
    [["production", "clusters/production", "main", "production"]],
  );
  const t = s.tenants[0]!;
  assert.deepEqual(t.namespaces, ["team-a"]);
  assert.equal(t.path, "./");
  assert.ok(t.allowedKinds.some((k) => k.group === "apps" && k.resource === "deployments"));
  assert.ok(t.allowedKinds.every((k) => !["namespaces", "clusterroles", "clusterrolebindings"].includes(k.resource)));
  assert.deepEqual(t.clusters, ["production"]);
  assert.equal(t.alerts.secretName, "team-a-alerts");
});

test("spec: the starter spec from init and the example specs are valid", () => {
  parseSpec(STARTER_SPEC, "init.yaml");
  for (const name of ["minimal", "multi-tenant", "flux-operator"]) {
    const file = join(REPO_ROOT, "examples", "specs", `${name}.yaml`);
    parseSpec(readFileSync(file, "utf8"), file);
  }
});

test("spec: unknown keys are errors with their line", () => {
  const lines = problems(BASE.replace("    allowedRegistries", "    allowedKindz: [apps/deployments]\n    allowedRegistries"));
  assert.deepEqual(lines.length, 1);
  assert.match(lines[0]!, /^fleet\.yaml:6:5: tenants\[0\]\.allowedKindz: unknown key 'allowedKindz' in tenants\[0\]/);
  assert.match(problems(`${BASE}extra: 1\n`)[0]!, /^fleet\.yaml:7:1: extra: unknown key 'extra' in the spec/);
});

test("spec: a tenant that would own a cluster-scoped kind is refused", () => {
  const lines = problems(BASE.replace("    allowedRegistries", "    allowedKinds: [apps/deployments, rbac.authorization.k8s.io/clusterrolebindings, core/namespaces]\n    allowedRegistries"));
  assert.equal(lines.length, 2);
  assert.match(lines[0]!, /fleet\.yaml:6:\d+: tenants\[0\]\.allowedKinds\[1\]: tenant 'team-a' would own the cluster-scoped kind 'rbac\.authorization\.k8s\.io\/clusterrolebindings'.*Adversary 3/);
  assert.match(lines[1]!, /allowedKinds\[2\]: .*'core\/namespaces'/);
  assert.match(problems(BASE.replace("    allowedRegistries", "    allowedKinds: ['*']\n    allowedRegistries"))[0]!, /wildcards are not allowed/);
  assert.match(problems(BASE.replace("    allowedRegistries", "    allowedKinds: [Deployment]\n    allowedRegistries"))[0]!, /must be written <group>\/<resource>/);
});

test("spec: duplicate namespaces, tenants and clusters are refused", () => {
  const dup = `${BASE}  - name: team-b
    namespaces: [team-b, team-a]
    repository: ssh://git@github.com/example/team-b
    allowedRegistries: [ghcr.io/example]
`;
  const lines = problems(dup);
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /^fleet\.yaml:8:26: tenants\[1\]\.namespaces\[1\]: duplicate namespace 'team-a': already owned by tenant 'team-a'/);
  assert.match(problems(BASE.replace("name: team-a", "name: team-a\n    namespaces: [flux-system]"))[0]!, /duplicate namespace 'flux-system': already owned by the platform/);
  assert.match(problems(BASE.replace("name: team-a", "name: team-a\n    namespaces: [kube-system]"))[0]!, /reserved/);
  assert.match(problems(`${BASE}clusters:\n  - name: a\n  - name: a\n`)[0]!, /duplicate cluster 'a'/);
  assert.match(problems(`${BASE}clusters:\n  - name: a\n  - name: b\n    path: clusters/a\n`)[0]!, /shares its path.*Weakness 5/);
});

test("spec: insecure or unbounded settings are refused with the threat named", () => {
  assert.match(problems(BASE.replace("ssh://git@github.com/example/team-a", "https://github.com/example/team-a"))[0]!, /HTTP\(S\) URL.*Weakness 3/);
  assert.match(problems(BASE.replace("ssh://git@github.com/example/team-a", "git@github.com:example/team-a"))[0]!, /scp-like.*ssh:\/\/git@github\.com\/example\/team-a/);
  const img = (range: string, extra = "") => `${BASE}    images:\n      - name: web\n        image: ghcr.io/example/web\n        range: "${range}"\n${extra}`;
  assert.deepEqual(problems(img(">=1.0.0 <2.0.0")), []);
  assert.match(problems(img(">=1.0.0"))[0]!, /tenants\[0\]\.images\[0\]\.range: semver range '>=1\.0\.0' has no upper bound/);
  assert.match(problems(img("*"))[0]!, /is not bounded/);
  assert.match(problems(img("^1.0.0", "        tagPattern: 'v[0-9.]+'\n"))[0]!, /tagPattern: 'v\[0-9\.\]\+' must be anchored/);
  assert.match(problems(img("^1.0.0").replace("ghcr.io/example/web", "docker.io/library/nginx"))[0]!, /not in tenant 'team-a's allowed registries/);
  assert.match(problems(BASE.replace("    allowedRegistries: [ghcr.io/example]\n", ""))[0]!, /has no allowed registries.*Adversary 5/);
  const chart = (version: string) => `${BASE}    charts:\n      - name: podinfo\n        repository: https://stefanprodan.github.io/podinfo\n        version: "${version}"\n`;
  assert.deepEqual(problems(chart("~6.5.0")), []);
  assert.match(problems(chart(">=6.0.0"))[0]!, /chart version '>=6\.0\.0' has no upper bound/);
  assert.match(problems(chart("6.x").replace("https://", "http://"))[0]!, /never plain http/);
});

test("spec: several problems are all reported, in line order", () => {
  const lines = problems(`platform:
  repository: https://github.com/example/fleet
  bogus: 1
tenants:
  - name: Team_A
    repository: ssh://git@github.com/example/team-a
`);
  assert.equal(lines.length, 3);
  assert.match(lines[0]!, /^fleet\.yaml:2:/);
  assert.match(lines[1]!, /^fleet\.yaml:3:/);
  assert.match(lines[2]!, /^fleet\.yaml:5:.*lowercase DNS label/);
});

test("semver: bounded ranges and anchoring", () => {
  for (const ok of [">=1.0.0 <2.0.0", "~1.2.0", "^1.2.0", "1.2.x", "1.2.3", "1.0.0 - 1.9.9", ">=1.0.0, <2.0.0", "^1.0.0 || ^2.0.0"]) assert.ok(checkBoundedRange(ok).ok, ok);
  for (const bad of [">=1.0.0", "*", "latest", "x", ">1.0.0 || ^2.0.0", ""]) assert.ok(!checkBoundedRange(bad).ok, bad);
  assert.ok(isAnchored("^v[0-9]+$"));
  assert.ok(!isAnchored("^a|b$"));
  assert.ok(!isAnchored("^v1\\$"));
  assert.equal(anchorPattern("v[0-9]+"), "^v[0-9]+$");
  assert.equal(anchorPattern("^v[0-9]+"), "^v[0-9]+$");
  assert.equal(anchorPattern("main-|dev-"), "^(?:main-|dev-)$");
  assert.equal(anchorPattern("^(?P<v>[0-9]+)-[a-f0-9]+"), "^(?P<v>[0-9]+)-[a-f0-9]+$");
});

test("cli: generate with a bad spec exits 2, names every line, and writes nothing", async () => {
  const dir = mkdtempSync(join(tmpdir(), "fluxguard-spec-"));
  try {
    const spec = join(dir, "fleet.yaml");
    writeFileSync(spec, BASE.replace("    allowedRegistries", "    allowedKinds: [rbac.authorization.k8s.io/clusterroles]\n    typo: true\n    allowedRegistries"));
    const r = await runCli(["generate", "fleet.yaml", "--out", "out"], { cwd: dir });
    assert.equal(r.code, 2);
    assert.equal(r.stdout, "");
    const lines = r.stderr.trim().split("\n");
    assert.match(lines[0]!, /^fluxguard: fleet\.yaml:6:\d+: tenants\[0\]\.allowedKinds\[0\]: .*cluster-scoped/);
    assert.match(lines[1]!, /^fluxguard: fleet\.yaml:7:5: tenants\[0\]\.typo: unknown key/);
    assert.match(lines[2]!, /^hint: .*nothing was written/);
    assert.ok(!existsSync(join(dir, "out")), "no partial output");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("cli: init prints the starter spec and refuses to overwrite", async () => {
  const r = await runCli(["init"]);
  assert.equal(r.code, 0);
  assert.equal(r.stdout, STARTER_SPEC);
  const dir = mkdtempSync(join(tmpdir(), "fluxguard-init-"));
  try {
    assert.equal((await runCli(["init", "--output", "fleet.yaml"], { cwd: dir })).code, 0);
    assert.equal(readFileSync(join(dir, "fleet.yaml"), "utf8"), STARTER_SPEC);
    const again = await runCli(["init", "--output", "fleet.yaml"], { cwd: dir });
    assert.equal(again.code, 2);
    assert.match(again.stderr, /^fluxguard: fleet\.yaml already exists\nhint: pass --force/);
    const gen = await runCli(["generate", "fleet.yaml", "--out", "gen"], { cwd: dir });
    assert.equal(gen.code, 0, gen.stderr);
    assert.ok(existsSync(join(dir, "gen", "README.md")));
    assert.equal((await runCli(["generate", "missing.yaml"], { cwd: dir })).code, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
