/**
 * Field layouts (Flux Operator fleets: ResourceSets, FluxInstance values from a
 * configMapGenerator, an OCI sync artifact) and variants of each kind, audited whole: every
 * active finding and every posture verdict is pinned in the case's expected.json. Cases that
 * need the Flux Operator CLI say so (`"needs": "flux-operator"`) and are skipped, with the
 * reason, when it is not built; flux-operator.test.ts pins what the report says then.
 *
 * `UPDATE_GOLDEN=1 npm run test:unit -- field` rewrites expected.json (read the diff).
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { auditDir } from "../testing/rule-tester.js";
import { fixturePath } from "../testing/paths.js";
import { findFluxOperator } from "./flux-operator.js";

interface Expected {
  /** `flux-operator-distribution`: a FluxInstance rendered by build instance (the CLI and its offline distribution). */
  needs?: "flux-operator" | "flux-operator-distribution";
  findings: string[];
  posture: Record<string, string>;
}

const base = fixturePath(import.meta.url, "fixtures", "field");
const tool = findFluxOperator(process.env);

for (const name of readdirSync(base).sort()) {
  const dir = join(base, name);
  if (!statSync(dir).isDirectory()) continue;
  const expFile = join(dir, "..", `${name}.expected.json`);
  test(`field: ${name}`, async (t) => {
    const expected: Expected | null = existsSync(expFile) ? (JSON.parse(readFileSync(expFile, "utf8")) as Expected) : null;
    if ((expected?.needs === "flux-operator" && !tool) || (expected?.needs === "flux-operator-distribution" && !tool?.distribution)) {
      t.skip("the Flux Operator CLI or its offline distribution is not built (npm run build:flux-operator)");
      return;
    }
    const report = await auditDir(dir);
    const got: Expected = {
      ...(expected?.needs ? { needs: expected.needs } : {}),
      findings: report.findings
        .filter((f) => !f.suppressed)
        .map((f) => `${f.severity} ${f.ruleId} ${f.location ? `${f.location.file}:${f.location.line}` : "-"} ${f.message}`)
        .sort(),
      posture: Object.fromEntries(report.posture.map((p) => [p.id, p.verdict])),
    };
    if (process.env["UPDATE_GOLDEN"] === "1" || expected === null) {
      writeFileSync(expFile, `${JSON.stringify(got, null, 2)}\n`);
      if (expected === null) assert.fail(`wrote ${expFile}: review it and run again`);
      return;
    }
    assert.deepEqual(got.findings, expected.findings);
    assert.deepEqual(got.posture, expected.posture);
  });
}
