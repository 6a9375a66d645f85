/**
 * The rule tester (after ESLint's RuleTester). Fixtures live beside each rule domain:
 *
 *   src/rules/<domain>/fixtures/<rule-id>/invalid/<case>/   a repository the rule must flag
 *   src/rules/<domain>/fixtures/<rule-id>/valid/<case>/     a repository the rule must leave alone
 *
 * An invalid case may hold `expected.json`: the exact findings of that rule, as
 * `[{ "severity": "high", "file": "a.yaml", "line": 3, "message": "substring" }]`.
 * Without it, the case must produce at least one finding.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { runAudit, type AuditOptions } from "../engine/audit.js";
import type { AuditReport, Finding } from "../engine/report.js";
import { fixturePath } from "./paths.js";
import { findFluxOperator } from "../loader/flux-operator.js";

/** A marker file: the case expands a ResourceSet, so it needs the Flux Operator CLI. */
export const NEEDS_FLUX_OPERATOR = ".needs-flux-operator";

export interface ExpectedFinding {
  severity?: string;
  file?: string;
  line?: number;
  message?: string;
}

const reportCache = new Map<string, Promise<AuditReport>>();

export function auditDir(root: string, opts: Partial<AuditOptions> = {}): Promise<AuditReport> {
  const key = `${root}|${JSON.stringify(opts)}`;
  let p = reportCache.get(key);
  if (!p) {
    p = runAudit({ root, env: { PATH: process.env["PATH"] }, ...opts });
    reportCache.set(key, p);
  }
  return p;
}

function cases(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => statSync(join(dir, n)).isDirectory())
    .sort();
}

export function fixtureCases(metaUrl: string, ruleId: string): { invalid: string[]; valid: string[]; base: string } {
  const base = fixturePath(metaUrl, "fixtures", ruleId);
  return { base, invalid: cases(join(base, "invalid")), valid: cases(join(base, "valid")) };
}

function show(fs: Finding[]): string {
  return fs.map((f) => `${f.severity} ${f.location?.file ?? "-"}:${f.location?.line ?? "-"} ${f.message}`).join("\n");
}

/** Registers the valid/invalid fixture tests of one rule. */
export function ruleFixtureTests(metaUrl: string, ruleId: string, opts: Partial<AuditOptions> = {}): void {
  const { base, invalid, valid } = fixtureCases(metaUrl, ruleId);
  test(`${ruleId}: has invalid and valid fixtures`, () => {
    assert.ok(invalid.length > 0, `no invalid fixtures under ${base}/invalid`);
    assert.ok(valid.length > 0, `no valid fixtures under ${base}/valid`);
  });
  for (const c of invalid) {
    test(`${ruleId}: flags invalid/${c}`, async (t) => {
      const dir = join(base, "invalid", c);
      // A case that expands a ResourceSet needs the Flux Operator CLI (npm run build:flux-operator).
      if (existsSync(join(dir, NEEDS_FLUX_OPERATOR)) && !findFluxOperator(process.env)) {
        t.skip("the Flux Operator CLI is not built (npm run build:flux-operator)");
        return;
      }
      const report = await auditDir(dir, opts);
      const got = report.findings.filter((f) => f.ruleId === ruleId && !f.suppressed);
      const expFile = join(dir, "expected.json");
      if (!existsSync(expFile)) {
        assert.ok(got.length > 0, `expected ${ruleId} to fire on ${dir}; all findings:\n${show(report.findings)}`);
        return;
      }
      const expected = JSON.parse(readFileSync(expFile, "utf8")) as ExpectedFinding[];
      assert.equal(got.length, expected.length, `expected ${expected.length} ${ruleId} finding(s), got:\n${show(got)}`);
      const remaining = [...got];
      for (const e of expected) {
        const i = remaining.findIndex(
          (f) =>
            (e.severity === undefined || f.severity === e.severity) &&
            (e.file === undefined || f.location?.file === e.file) &&
            (e.line === undefined || f.location?.line === e.line) &&
            (e.message === undefined || f.message.includes(e.message)),
        );
        assert.ok(i >= 0, `no ${ruleId} finding matches ${JSON.stringify(e)}; got:\n${show(remaining)}`);
        remaining.splice(i, 1);
      }
    });
  }
  for (const c of valid) {
    test(`${ruleId}: leaves valid/${c} alone`, async () => {
      const report = await auditDir(join(base, "valid", c), opts);
      const got = report.findings.filter((f) => f.ruleId === ruleId && !f.suppressed);
      assert.equal(got.length, 0, `expected no ${ruleId} findings, got:\n${show(got)}`);
    });
  }
}
