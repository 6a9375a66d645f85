/** Signer policy: globs, validation with line numbers, decisions. */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { Ajv2020 } from "ajv/dist/2020.js";
import { parse as parseYaml } from "yaml";
import { REPO_ROOT } from "../testing/paths.js";
import { UsageError } from "../core/errors.js";
import { allows, compileGlob, decide, loadPolicyFile } from "./policy.js";
import { cleanup, tempDir } from "./testkit.js";

after(() => cleanup());

function policy(text: string): ReturnType<typeof loadPolicyFile> {
  const f = join(tempDir("fg-pol-"), "signers.yaml");
  writeFileSync(f, text);
  return loadPolicyFile(f, "signers.yaml");
}

function policyError(text: string): string {
  try {
    policy(text);
  } catch (e) {
    assert.ok(e instanceof UsageError);
    return e.message;
  }
  assert.fail("expected an error");
}

const GOOD = `version: 1
groups:
  platform: [alice@example.com, "SHA256:uJ0nZ3p5dOeU5X0aBcDeFgHiJkLmNoPqRsTuVwXyZ01"]
  payments:
    - "0x3AA5C34371567BD2"
rules:
  - paths: ["clusters/*/platform/**"]
    groups: [platform]
  - paths: [apps/payments/, "apps/*.yaml"]
    groups: [payments, platform]
default: deny
`;

describe("globs", () => {
  test("* stays in a segment, ** crosses segments, dir/ means everything below", () => {
    const g = compileGlob("clusters/*/platform/**");
    assert.ok(g.test("clusters/prod/platform/rbac.yaml"));
    assert.ok(g.test("clusters/prod/platform/a/b/c.yaml"));
    assert.ok(!g.test("clusters/prod/eu/platform/rbac.yaml"));
    assert.ok(!g.test("clusters/platform/rbac.yaml"));
    assert.ok(compileGlob("apps/payments/").test("apps/payments/x/y.yaml"));
    assert.ok(compileGlob("**/kustomization.yaml").test("kustomization.yaml"));
    assert.ok(compileGlob("**/kustomization.yaml").test("a/b/kustomization.yaml"));
    assert.ok(!compileGlob("*.yaml").test("a/b.yaml"));
    assert.ok(compileGlob("a?c.txt").test("abc.txt"));
    assert.ok(!compileGlob("a.c").test("abc"), "dots are literal");
  });
});

describe("policy file", () => {
  test("parses groups, rules and the default; first matching rule wins", () => {
    const p = policy(GOOD);
    assert.deepEqual([...p.groups.keys()], ["platform", "payments"]);
    assert.deepEqual(p.groups.get("payments"), [{ kind: "fingerprint", value: "3AA5C34371567BD2" }]);
    assert.deepEqual(p.groups.get("platform")![0], { kind: "identity", value: "alice@example.com" });
    assert.equal(p.default, "deny");
    assert.deepEqual(decide(p, "clusters/prod/platform/x.yaml"), { rule: 1, pattern: "clusters/*/platform/**", allowed: ["platform"] });
    assert.deepEqual(decide(p, "apps/payments/deploy.yaml").allowed, ["payments", "platform"]);
    assert.deepEqual(decide(p, "apps/top.yaml").pattern, "apps/*.yaml");
    const d = decide(p, "docs/x.md");
    assert.equal(d.rule, "default");
    assert.equal(allows(d, ["platform"]), false);
    assert.equal(allows(decide(p, "apps/payments/a"), ["payments"]), true);
  });

  test("errors carry file, line and column", () => {
    assert.equal(policyError(GOOD.replace("default: deny\n", "")), "signers.yaml:1:1: missing 'default': say what applies to paths no rule matches (deny, any, or {groups: [...]})");
    assert.equal(policyError(GOOD.replace("    groups: [payments, platform]", "    groups: [payments, finance]")), "signers.yaml:10:24: unknown group 'finance' (defined: platform, payments)");
    assert.equal(policyError(GOOD.replace("rules:", "rulez:")), "signers.yaml:6:1: unknown key 'rulez' (expected one of: version, groups, rules, default)");
    assert.equal(policyError(GOOD.replace('["clusters/*/platform/**"]', '["/clusters/**"]')), "signers.yaml:7:13: pattern '/clusters/**' starts with '/'; patterns are relative to the repository root, write 'clusters/**'");
    assert.equal(policyError(GOOD.replace("version: 1", "version: 2")), "signers.yaml:1:1: unsupported policy version 2 (expected 1)");
    assert.equal(policyError(GOOD.replace('    - "0x3AA5C34371567BD2"', "    - {fingerprint: x}")), "signers.yaml:5:7: group 'payments' entry 1 must be a string (a fingerprint, key ID, email or principal)");
    assert.equal(policyError(GOOD.replace("  - paths: [apps/payments/", "  - pathz: [apps/payments/")), "signers.yaml:9:5: unknown key 'pathz' in rule 2 (expected paths, groups, description)");
    assert.equal(policyError(GOOD.replace("default: deny", "default: allow")), "signers.yaml:11:1: default must be deny, any, or {groups: [...]}");
    assert.equal(policyError(GOOD.replace('"0x3AA5C34371567BD2"', "0x3AA5C34371567BD2")), 'signers.yaml:5:7: group \'payments\' entry 1 was read as a number; quote key IDs and fingerprints, e.g. "0x3AA5C34371567BD2"');
    assert.match(policyError("version: 1\ngroups: {}\nrules: [\n"), /^signers\.yaml:\d+:\d+: invalid YAML/);
    assert.match(policyError(GOOD.replace("apps/payments/", '"apps/[ab]/"')), /signers\.yaml:9:13: pattern 'apps\/\[ab\]\/' uses/);
  });

  test("a missing policy file is a usage error", () => {
    assert.throws(() => loadPolicyFile("/nonexistent/signers.yaml", "signers.yaml"), /policy file not found: signers.yaml/);
  });
});

describe("signer policy schema", () => {
  test("accepts the documented policy and rejects what the loader rejects", () => {
    const ajv = new Ajv2020({ strict: true, allErrors: true });
    const validate = ajv.compile(JSON.parse(readFileSync(join(REPO_ROOT, "schemas", "signer-policy.schema.json"), "utf8")) as object);
    assert.ok(validate(parseYaml(GOOD)), JSON.stringify(validate.errors));
    const doc = readFileSync(join(REPO_ROOT, "docs", "verify.md"), "utf8");
    const example = /```yaml\n(# \.fluxguard\/signers\.yaml[\s\S]*?)```/.exec(doc)?.[1];
    assert.ok(example, "docs/verify.md has a policy example");
    assert.ok(validate(parseYaml(example)), JSON.stringify(validate.errors));
    policy(example);
    for (const bad of [GOOD.replace("default: deny", "default: allow"), GOOD.replace("rules:", "rulez:"), GOOD.replace('["clusters/*/platform/**"]', '["/clusters/**"]')]) {
      assert.equal(validate(parseYaml(bad)), false, bad);
    }
  });
});
