import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { auditDir, fixtureCases, ruleFixtureTests } from "../../testing/rule-tester.js";

for (const id of ["helmrelease-privileged-values", "helmrelease-unpinned-chart", "helmrelease-no-remediation"]) ruleFixtureTests(import.meta.url, id);

test("post-renderers: a patch kustomize refuses is not assessed (the posture row names it), not silently passed", async () => {
  const { base } = fixtureCases(import.meta.url, "helmrelease-privileged-values");
  const report = await auditDir(join(base, "valid", "post-renderer-refused"));
  const row = report.posture.find((p) => p.id === "helm-values-injected")!;
  assert.notEqual(row.verdict, "defended");
  assert.ok(row.notAssessed.some((n) => /post-renderer patch of HelmRelease apps\/refused/.test(n.what)), JSON.stringify(row.notAssessed));
});
