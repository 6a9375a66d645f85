/**
 * No Secret value ever reaches an output. A canary string sits in Secret data and stringData,
 * SOPS files with a plain value, secretGenerator literals, files and envs, HelmRelease values,
 * valuesFrom ConfigMaps, postBuild variables (also substituted into rendered objects), source
 * URLs with user info and a notification address; every output format must stay clean.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { runCli } from "../../testing/cli.js";
import { fixturePath } from "../../testing/paths.js";

const CANARY = "FLUXGUARD-CANARY-7f3a9c1e";
const FORMS = [CANARY, Buffer.from(CANARY).toString("base64"), CANARY.slice(9), Buffer.from(CANARY).toString("base64url")];
const DIR = fixturePath(import.meta.url, "fixtures", "canary");

for (const format of ["text", "json", "sarif"] as const) {
  for (const verbose of [false, true]) {
    test(`canary: no Secret value in --format ${format}${verbose ? " --verbose" : ""}`, async () => {
      const r = await runCli(["audit", DIR, "--format", format, ...(verbose ? ["--verbose"] : [])]);
      assert.equal(r.code, 1, r.stderr);
      for (const form of FORMS) {
        assert.ok(!r.stdout.includes(form), `stdout (${format}) contains the canary as '${form}'`);
        assert.ok(!r.stderr.includes(form), `stderr (${format}) contains the canary as '${form}'`);
      }
    });
  }
}

test("canary: the fixture does trigger the credential rules (the test is not vacuous)", async () => {
  const r = await runCli(["audit", DIR, "--format", "json"]);
  const report = JSON.parse(r.stdout) as { findings: Array<{ ruleId: string; message: string }> };
  const ids = new Set(report.findings.map((f) => f.ruleId));
  for (const id of ["plaintext-secret-in-git", "hardcoded-credential-in-values", "source-insecure-transport", "git-https-credentials", "helmrelease-privileged-values"]) {
    assert.ok(ids.has(id), `expected ${id} to fire on the canary fixture`);
  }
  // Key names are fine, and they are there.
  assert.ok(report.findings.some((f) => f.ruleId === "plaintext-secret-in-git" && f.message.includes("identity")));
});
