/**
 * The GitHub Action (action.yml), as far as it can run here: action.yml is valid against the
 * published action metadata schema (SchemaStore's github-action.json, through
 * @action-validator/core), every input reaches the audit step, and the audit step's own script
 * (scripts/action/audit.sh) runs with the environment GitHub gives it, against a fixture.
 * actions/setup-node and github/codeql-action/upload-sarif run only on GitHub.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { parse as parseYaml } from "yaml";
import { REPO_ROOT } from "../testing/paths.js";

const ACTION = readFileSync(join(REPO_ROOT, "action.yml"), "utf8");
const tmp = mkdtempSync(join(tmpdir(), "fg-action-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

interface ActionYml {
  inputs: Record<string, { default?: string }>;
  runs: { using: string; steps: Array<{ id?: string; uses?: string; run?: string; env?: Record<string, string>; with?: Record<string, string>; if?: string }> };
}

/** Runs the audit step's script like the runner: GITHUB_ACTION_PATH, GITHUB_OUTPUT, FLUXGUARD_* from the inputs. */
function auditStep(workspace: string, inputs: Record<string, string>): { status: number | null; stdout: string; stderr: string; outputs: Record<string, string> } {
  const action = parseYaml(ACTION) as ActionYml;
  const step = action.runs.steps.find((s) => s.id === "audit")!;
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(step.env ?? {})) {
    const input = /^\$\{\{ inputs\.([\w-]+) \}\}$/.exec(v)?.[1];
    assert.ok(input, `${k} comes from an input`);
    env[k] = inputs[input] ?? action.inputs[input]?.default ?? "";
  }
  const outFile = join(workspace, "github-output");
  writeFileSync(outFile, "");
  const r = spawnSync("bash", [join(REPO_ROOT, "scripts", "action", "audit.sh")], {
    cwd: workspace,
    encoding: "utf8",
    env: { PATH: process.env["PATH"], HOME: process.env["HOME"], GITHUB_ACTION_PATH: REPO_ROOT, GITHUB_OUTPUT: outFile, ...env },
  });
  const outputs = Object.fromEntries(
    readFileSync(outFile, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, outputs };
}

describe("GitHub Action", () => {
  it("action.yml is valid against the published action metadata schema", () => {
    const require = createRequire(import.meta.url);
    const { validateAction } = require("@action-validator/core") as { validateAction(src: string): { errors: unknown[] } };
    const state = validateAction(ACTION);
    assert.deepEqual(state.errors, []);
    // The validator really checks: an action without `runs` is refused.
    assert.ok(validateAction("name: x\ndescription: y\n").errors.length > 0);
  });

  it("the README's pull-request workflow is a valid workflow that uses this action with its inputs", () => {
    const require = createRequire(import.meta.url);
    const { validateWorkflow } = require("@action-validator/core") as { validateWorkflow(src: string): { errors: unknown[] } };
    const readme = readFileSync(join(REPO_ROOT, "README.md"), "utf8");
    const block = /```yaml\n(# \.github\/workflows\/fluxguard\.yml[\s\S]*?)```/.exec(readme)?.[1];
    assert.ok(block, "the README shows the workflow");
    assert.deepEqual(validateWorkflow(block).errors, []);
    const inputs = Object.keys((parseYaml(ACTION) as ActionYml).inputs);
    for (const m of block.matchAll(/with: \{([^}]*)\}/g)) {
      for (const key of m[1]!.split(",").map((kv) => kv.split(":")[0]!.trim())) {
        if (!["ref", "path"].includes(key) || block.includes("fluxguard/fluxguard")) assert.ok(inputs.includes(key) || ["ref"].includes(key), `input ${key}`);
      }
    }
  });

  it("is composite; every input reaches a step; SARIF goes to upload-sarif with a category", () => {
    const action = parseYaml(ACTION) as ActionYml;
    assert.equal(action.runs.using, "composite");
    const used = JSON.stringify(action.runs.steps);
    for (const name of Object.keys(action.inputs)) assert.ok(used.includes(`inputs.${name} }}`), `input ${name} is used`);
    const upload = action.runs.steps.find((s) => s.uses?.startsWith("github/codeql-action/upload-sarif@"));
    assert.ok(upload);
    assert.equal(upload.with?.["category"], "${{ inputs.sarif-category }}");
    assert.equal(action.inputs["untrusted"]?.default, "true", "untrusted mode by default");
    for (const s of action.runs.steps) if (s.run) assert.doesNotMatch(s.run, /\$\{\{/, "no expression is pasted into a script (inputs go through env)");
  });

  it("the audit step on a fixture: text log, report file, SARIF, exit code; a baseline fails only on new findings", () => {
    const ws = join(tmp, "ws");
    cpSync(join(REPO_ROOT, "examples", "fleet"), join(ws, "fleet"), { recursive: true });
    const r = auditStep(ws, { path: "fleet", format: "json", "upload-sarif": "true" });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.outputs["exit-code"], "1");
    assert.match(r.stdout, /^Fix first/m, "the log shows the text report");
    assert.match(r.stdout, /^untrusted mode: /m, "untrusted mode by default");
    const report = JSON.parse(readFileSync(join(ws, r.outputs["report"]!), "utf8")) as { summary: { untrusted?: unknown } };
    assert.ok(report.summary.untrusted);
    const sarif = JSON.parse(readFileSync(join(ws, r.outputs["sarif"]!), "utf8")) as { version: string; runs: Array<{ results: unknown[] }> };
    assert.equal(sarif.version, "2.1.0");
    assert.ok(sarif.runs[0]!.results.length > 10);

    // The base branch's report as the baseline: nothing new, exit 0.
    const base = auditStep(ws, { path: "fleet", format: "json", output: "base.json" });
    assert.equal(base.outputs["exit-code"], "1");
    const again = auditStep(ws, { path: "fleet", baseline: "base.json", format: "html" });
    assert.equal(again.outputs["exit-code"], "0", again.stderr);
    assert.ok(existsSync(join(ws, again.outputs["report"]!)));
    assert.match(readFileSync(join(ws, again.outputs["report"]!), "utf8"), /^<!DOCTYPE html>/);

    // A usage error is exit code 2, and the step itself still succeeds (the last step fails the job).
    const bad = auditStep(ws, { path: "nope" });
    assert.equal(bad.status, 0);
    assert.equal(bad.outputs["exit-code"], "2");
  });
});
