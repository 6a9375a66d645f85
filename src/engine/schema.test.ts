/**
 * The published JSON Schemas (schemas/*.schema.json) against what the code really produces
 * and accepts: real audit output validates against the report schema, the schema's enums
 * follow the code's vocabulary, and the config schema agrees with the config loader.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parse as parseYaml } from "yaml";
import { THREATS, SEVERITIES } from "../core/types.js";
import { parseConfig } from "../loader/config.js";
import { ALL_RULES } from "../rules/index.js";
import { CORPUS_DIR, fixturePath, REPO_ROOT } from "../testing/paths.js";
import { compileSchema as compile, errorsOf, loadSchema } from "../testing/schemas.js";
import { runAudit } from "./audit.js";
import type { AuditReport } from "./report.js";

const FIXTURE = fixturePath(import.meta.url, "fixtures", "schema");

/** The report as a consumer sees it: through JSON. */
function asJson(r: AuditReport): unknown {
  return JSON.parse(JSON.stringify(r)) as unknown;
}

describe("audit report schema", () => {
  const validate = compile("audit-report.schema.json");

  it("validates real audit output of the fixture (kustomize, suppressed and repository-wide findings, notices)", async () => {
    const report = await runAudit({ root: FIXTURE });
    assert.ok(validate(asJson(report)), errorsOf(validate));
    // The fixture exercises the shapes the schema describes, so validation means something.
    assert.ok(report.findings.some((f) => f.suppressed && f.suppression !== null), "a suppressed finding");
    assert.ok(report.findings.some((f) => f.resource === null), "a repository-wide finding");
    assert.ok(report.findings.some((f) => f.pointer !== null && f.location !== null), "a located field finding");
    assert.ok(report.posture.some((p) => p.verdict === "exposed" && p.findings.length > 0), "an exposed posture entry");
    assert.ok(report.notices.length > 0, "a notice");
    assert.ok(report.rendering.reconcilers.length >= 2, "render notes");
  });

  it("validates output of the built-in resolver, with an empty target too", async () => {
    const report = await runAudit({ root: FIXTURE, kustomize: null });
    assert.ok(validate(asJson(report)), errorsOf(validate));
    assert.equal(report.rendering.kustomize, null);
    const empty = await runAudit({ root: join(FIXTURE, "charts") });
    assert.ok(validate(asJson(empty)), errorsOf(validate));
    assert.equal(empty.empty, true);
  });

  it("rejects reports that drift from it: a missing field, an unknown field, a bad severity", async () => {
    const report = asJson(await runAudit({ root: FIXTURE, kustomize: null })) as Record<string, unknown> & { findings: Array<Record<string, unknown>> };
    const { posture: _posture, ...noPosture } = report;
    assert.equal(validate(noPosture), false);
    assert.equal(validate({ ...report, extra: 1 }), false);
    const f0 = report.findings[0]!;
    assert.equal(validate({ ...report, findings: [{ ...f0, severity: "severe" }] }), false);
    assert.equal(validate({ ...report, findings: [{ ...f0, ruleId: "Rule 7" }] }), false);
    const { fingerprint: _fp, ...noFingerprint } = f0;
    assert.equal(validate({ ...report, findings: [noFingerprint] }), false);
  });

  it("validates the committed golden JSON reports", () => {
    const dir = join(REPO_ROOT, "src", "cli", "golden");
    const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".json")) : [];
    for (const f of files) {
      const doc = JSON.parse(readFileSync(join(dir, f), "utf8")) as Record<string, unknown>;
      if (!("findings" in doc)) continue;
      assert.ok(validate(doc), `${f}:\n${errorsOf(validate)}`);
    }
  });

  it("validates the audit of every corpus repository", { skip: !existsSync(CORPUS_DIR) && "no corpus" }, async () => {
    for (const name of readdirSync(CORPUS_DIR).sort()) {
      const report = await runAudit({ root: join(CORPUS_DIR, name) });
      assert.ok(validate(asJson(report)), `${name}:\n${errorsOf(validate)}`);
    }
  });

  it("keeps its enums in step with the code's vocabulary", () => {
    const defs = loadSchema("audit-report.schema.json")["$defs"] as Record<string, { enum: string[] }>;
    assert.deepEqual(defs["severity"]!.enum, [...SEVERITIES]);
    assert.deepEqual(defs["threat"]!.enum, [...THREATS]);
    const ruleId = new RegExp((defs["ruleId"] as unknown as { pattern: string }).pattern);
    for (const r of ALL_RULES) assert.match(r.meta.id, ruleId);
  });
});

describe("config schema", () => {
  const validate = compile("fluxguard-config.schema.json");
  const ids = ALL_RULES.map((r) => r.meta.id);
  const anyRule = ids[0]!;

  it("accepts the fixture's .fluxguard.yaml, which the loader accepts", () => {
    const text = readFileSync(join(FIXTURE, ".fluxguard.yaml"), "utf8");
    parseConfig(text, join(FIXTURE, ".fluxguard.yaml"), ids);
    assert.ok(validate(parseYaml(text)), errorsOf(validate));
  });

  it("agrees with the loader on what is valid", () => {
    const cases: Array<[string, string]> = [
      ["empty mapping", "{}"],
      ["rule off", `rules:\n  ${anyRule}: off`],
      ["rule on", `rules:\n  ${anyRule}: on`],
      ["rule false", `rules:\n  ${anyRule}: false`],
      ["rule severity", `rules:\n  ${anyRule}: low`],
      ["rule object", `rules:\n  ${anyRule}: { enabled: true, severity: critical }`],
      ["rule bad severity", `rules:\n  ${anyRule}: severe`],
      ["rule object unknown key", `rules:\n  ${anyRule}: { level: low }`],
      ["unknown rule", "rules:\n  no-such-rule: off"],
      ["rules null", "rules:"],
      ["unknown top-level key", "rulez: {}"],
      ["registries", "allowedRegistries: [ghcr.io/acme, docker.io/library]"],
      ["registries not a list", "allowedRegistries: ghcr.io/acme"],
      ["registries with a number", "allowedRegistries: [1]"],
      ["environment", "environments:\n  prod: { paths: [clusters/prod], branches: [main] }"],
      ["environment paths only", "environments:\n  prod: { paths: [clusters/prod] }"],
      ["environment unknown key", "environments:\n  prod: { path: clusters/prod }"],
      ["environment not a mapping", "environments:\n  prod: [clusters/prod]"],
      ["platform", "platform:\n  namespaces: [flux-system]\n  serviceAccounts: [flux-system/reconciler]\n  defaultServiceAccount: default"],
      ["platform bad service account", "platform:\n  serviceAccounts: [reconciler]"],
      ["platform unknown key", "platform:\n  namespace: flux-system"],
      ["platform default sa not a string", "platform:\n  defaultServiceAccount: [a]"],
      ["sources", "sources:\n  https://github.com/acme/apps: ../apps"],
      ["sources not a string", "sources:\n  https://github.com/acme/apps: [../apps]"],
      ["inputs", "inputs:\n  flux-system/pull-requests:\n    - {id: '42', branch: fix}\n  tenants: {tenant: team-a}"],
      ["inputs not a mapping", "inputs: [a]"],
      ["inputs empty list", "inputs:\n  prs: []"],
      ["inputs set not a mapping", "inputs:\n  prs: [a]"],
      ["inputs bad provider name", "inputs:\n  Flux/System/prs: [{id: '1'}]"],
      ["signers path", "signers: .fluxguard/signers.yaml"],
      ["signers inline", "signers:\n  groups: {}"],
    ];
    for (const [name, text] of cases) {
      let loaderOk = true;
      try {
        parseConfig(text, "/tmp/.fluxguard.yaml", ids);
      } catch {
        loaderOk = false;
      }
      const schemaOk = validate(parseYaml(text) as unknown);
      assert.equal(schemaOk, loaderOk, `${name}: loader ${loaderOk ? "accepts" : "rejects"}, schema ${schemaOk ? "accepts" : "rejects"}\n${errorsOf(validate)}`);
    }
  });

  it("describes every section and every rule, for editor completion", () => {
    const schema = loadSchema("fluxguard-config.schema.json") as { properties: Record<string, { description?: string; properties?: Record<string, { description?: string }> }> };
    assert.deepEqual(Object.keys(schema.properties).sort(), ["allowedRegistries", "environments", "inputs", "platform", "rules", "signers", "sources"]);
    for (const [k, v] of Object.entries(schema.properties)) assert.ok(v.description, k);
    for (const id of ids) assert.ok(schema.properties["rules"]!.properties![id]?.description, `rules.${id} (run \`npm run docs\`)`);
  });
});
