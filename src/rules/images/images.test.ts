import assert from "node:assert/strict";
import { test } from "node:test";
import { ruleFixtureTests } from "../../testing/rule-tester.js";
import { checkBoundedRange } from "../../generate/semver.js";
import { captureGroups, templateRefs } from "./regexp.js";

for (const id of ["image-registry-not-allowed", "imagepolicy-unbounded", "imagepolicy-invalid-extract", "image-automation-pushes-to-applied-branch"]) ruleFixtureTests(import.meta.url, id);

test("regexp: capture groups of Go patterns", () => {
  assert.deepEqual(captureGroups("^v[0-9]+$"), { count: 0, names: [] });
  assert.deepEqual(captureGroups("^(a)(?:b)(?P<c>d)(?<e>f)(?i)x$"), { count: 3, names: ["c", "e"] });
  assert.deepEqual(captureGroups("^\\(x\\)[(]y[\\](](z)$"), { count: 1, names: [] });
  assert.deepEqual(captureGroups("[]()](q)"), { count: 1, names: [] });
});

test("regexp: Expand template references", () => {
  assert.deepEqual(templateRefs("$ts"), ["ts"]);
  assert.deepEqual(templateRefs("${ts}-$1x $$ $2"), ["ts", "1x", "2"]);
  assert.deepEqual(templateRefs("plain"), []);
});

test("semver ranges: a space after the operator, as Masterminds allows", () => {
  assert.ok(checkBoundedRange(">= 1.0.0 < 2.0.0").ok);
  assert.ok(!checkBoundedRange(">= 1.8.0-rc.0").ok);
});
