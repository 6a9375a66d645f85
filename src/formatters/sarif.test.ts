/**
 * SARIF output against the official SARIF 2.1.0 JSON schema (vendored under schemas/vendor/,
 * see its README for the source), plus what code-scanning viewers rely on: stable
 * partialFingerprints, suppressions, rules with help and security-severity.
 */
import assert from "node:assert/strict";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { runAudit } from "../engine/audit.js";
import { ALL_RULES } from "../rules/index.js";
import { REPO_ROOT } from "../testing/paths.js";
import { errorsOf, sarifValidator } from "../testing/schemas.js";
import { formatSarif } from "./sarif.js";

const FIXTURE = join(REPO_ROOT, "src", "engine", "fixtures", "schema");

interface SarifResult {
  ruleId: string;
  ruleIndex: number;
  level: string;
  message: { text: string };
  partialFingerprints: Record<string, string>;
  locations?: Array<{ physicalLocation?: { artifactLocation: { uri: string; uriBaseId: string }; region: { startLine: number; startColumn: number } } }>;
  suppressions?: Array<{ kind: string; status: string; justification: string }>;
}
interface SarifLog {
  version: string;
  runs: Array<{
    tool: { driver: { rules: Array<{ id: string; help: { text: string; markdown: string }; properties: Record<string, unknown> }> } };
    results: SarifResult[];
  }>;
}

async function sarifOf(root: string, kustomize?: null): Promise<SarifLog> {
  const report = await runAudit(kustomize === null ? { root, kustomize: null } : { root });
  return JSON.parse(formatSarif(report, ALL_RULES)) as SarifLog;
}

function fingerprints(log: SarifLog): string[] {
  return log.runs[0]!.results.map((r) => `${r.ruleId} ${r.partialFingerprints["fluxguard/v1"]}`).sort();
}

describe("SARIF output", () => {
  const validate = sarifValidator();

  it("validates against the official SARIF 2.1.0 schema", async () => {
    for (const kustomize of [undefined, null] as const) {
      const log = await sarifOf(FIXTURE, kustomize);
      assert.ok(validate(log), errorsOf(validate));
      assert.equal(log.version, "2.1.0");
      assert.ok(log.runs[0]!.results.length > 0);
    }
  });

  it("the schema check is not vacuous: it rejects a broken log", async () => {
    const log = await sarifOf(FIXTURE, null);
    assert.equal(validate({ ...log, version: "2.0.0" }), false);
    const r0 = log.runs[0]!.results[0]!;
    const broken = structuredClone(log);
    broken.runs[0]!.results = [{ ...r0, level: "fatal" }];
    assert.equal(validate(broken), false);
    const badRegion = structuredClone(log);
    const loc = badRegion.runs[0]!.results.find((r) => r.locations?.[0]?.physicalLocation)!;
    loc.locations![0]!.physicalLocation!.region.startLine = 0;
    assert.equal(validate(badRegion), false);
  });

  it("validates the committed golden SARIF files", () => {
    const dir = join(REPO_ROOT, "src", "cli", "golden");
    const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".sarif")) : [];
    for (const f of files) assert.ok(validate(JSON.parse(readFileSync(join(dir, f), "utf8"))), `${f}:\n${errorsOf(validate)}`);
  });

  it("keeps partialFingerprints stable across runs, and across edits that move lines", async () => {
    const a = await sarifOf(FIXTURE);
    const b = await sarifOf(FIXTURE);
    assert.deepEqual(fingerprints(a), fingerprints(b));
    assert.equal(formatSarif(await runAudit({ root: FIXTURE }), ALL_RULES), formatSarif(await runAudit({ root: FIXTURE }), ALL_RULES), "byte-identical output");
    const fps = a.runs[0]!.results.map((r) => r.partialFingerprints["fluxguard/v1"]!);
    assert.equal(new Set(fps).size, fps.length, "fingerprints are unique within a run");
    for (const fp of fps) assert.match(fp, /^[0-9a-f]{32}$/);

    // An unrelated edit above the findings shifts their lines but not their fingerprints.
    const tmp = mkdtempSync(join(tmpdir(), "fluxguard-sarif-"));
    try {
      cpSync(FIXTURE, tmp, { recursive: true });
      const f = join(tmp, "clusters", "prod", "tenants.yaml");
      writeFileSync(f, `# an unrelated comment\n# and another\n${readFileSync(f, "utf8")}`);
      const moved = await sarifOf(tmp);
      assert.deepEqual(fingerprints(moved), fingerprints(a));
      const line = (log: SarifLog): number[] =>
        log.runs[0]!.results.filter((r) => r.locations?.[0]?.physicalLocation?.artifactLocation.uri === "clusters/prod/tenants.yaml").map((r) => r.locations![0]!.physicalLocation!.region.startLine);
      assert.ok(line(a).length > 0);
      assert.deepEqual(line(moved), line(a).map((n) => n + 2));
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it("marks suppressed findings with suppressions, and only those", async () => {
    const report = await runAudit({ root: FIXTURE });
    const log = JSON.parse(formatSarif(report, ALL_RULES)) as SarifLog;
    const results = log.runs[0]!.results;
    assert.equal(results.length, report.findings.length, "suppressed findings stay in SARIF");
    const suppressed = results.filter((r) => r.suppressions);
    assert.ok(suppressed.length > 0, "the fixture has a suppressed finding");
    assert.equal(suppressed.length, report.findings.filter((f) => f.suppressed).length);
    for (const r of suppressed) {
      assert.equal(r.suppressions!.length, 1);
      assert.equal(r.suppressions![0]!.kind, "inSource");
      assert.equal(r.suppressions![0]!.status, "accepted");
    }
    const force = suppressed.find((r) => r.ruleId === "kustomization-force-apply");
    assert.equal(force?.suppressions![0]!.justification, "recreating the web Job is intended");
  });

  it("gives every rule help and security-severity, and every result a matching ruleIndex and a relative location", async () => {
    const log = await sarifOf(FIXTURE);
    const run = log.runs[0]!;
    for (const rule of run.tool.driver.rules) {
      assert.ok(rule.help.text.length > 0 && rule.help.markdown.includes("```yaml"), rule.id);
      assert.match(String(rule.properties["security-severity"]), /^\d+(\.\d)?$/, rule.id);
    }
    for (const r of run.results) {
      assert.equal(run.tool.driver.rules[r.ruleIndex]?.id, r.ruleId);
      const pl = r.locations?.[0]?.physicalLocation;
      if (!pl) continue;
      assert.equal(pl.artifactLocation.uriBaseId, "%SRCROOT%");
      assert.ok(!pl.artifactLocation.uri.startsWith("/") && !pl.artifactLocation.uri.includes(REPO_ROOT), pl.artifactLocation.uri);
      assert.ok(pl.region.startLine >= 1 && pl.region.startColumn >= 1);
    }
  });
});
