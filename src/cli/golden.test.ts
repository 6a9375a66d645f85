/**
 * Golden tests: the CLI's text, JSON and SARIF output on the bundled fleets, byte for byte.
 * Regenerate after an intended change with `UPDATE_GOLDEN=1 npm run test:unit -- golden`.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { runCli } from "../testing/cli.js";
import { sourceDir } from "../testing/paths.js";

const GOLDEN = join(sourceDir(import.meta.url), "golden");
const update = process.env["UPDATE_GOLDEN"] === "1";

function golden(name: string, actual: string): void {
  const file = join(GOLDEN, name);
  if (update || !existsSync(file)) {
    mkdirSync(GOLDEN, { recursive: true });
    writeFileSync(file, actual);
    if (!update) assert.fail(`golden file ${name} was missing and has been written; review and commit it`);
    return;
  }
  assert.equal(actual, readFileSync(file, "utf8"), `output differs from ${name}; if intended, run UPDATE_GOLDEN=1`);
}

const FLEETS = [
  { dir: "examples/fleet", name: "fleet", code: 1 },
  { dir: "examples/hardened-fleet", name: "hardened-fleet", code: 0 },
];

for (const f of FLEETS) {
  for (const format of ["text", "json", "sarif"] as const) {
    test(`golden: audit ${f.dir} --format ${format}`, async () => {
      const r = await runCli(["audit", f.dir, "--format", format]);
      assert.equal(r.stderr, "");
      assert.equal(r.code, f.code);
      golden(`${f.name}.${format === "text" ? "txt" : format === "json" ? "json" : "sarif"}`, r.stdout);
    });
  }
}

test("golden: the hardened fleet has no finding at medium or above", async () => {
  const r = await runCli(["audit", "examples/hardened-fleet", "--format", "json"]);
  const report = JSON.parse(r.stdout) as { findings: Array<{ severity: string; ruleId: string; message: string; suppressed: boolean }> };
  const serious = report.findings.filter((f) => !f.suppressed && ["critical", "high", "medium"].includes(f.severity));
  assert.deepEqual(serious.map((f) => `${f.ruleId}: ${f.message}`), []);
});

test("golden: rules and explain", async () => {
  const rules = await runCli(["rules"]);
  assert.equal(rules.code, 0);
  golden("rules.txt", rules.stdout);
  const explain = await runCli(["explain", "flux-controller-cluster-admin"]);
  assert.equal(explain.code, 0);
  golden("explain-flux-controller-cluster-admin.txt", explain.stdout);
});
