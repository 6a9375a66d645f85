/**
 * A rule's catalogue severity is the highest it reports, or the catalogue says it varies: every
 * severity pinned by a fixture's expected.json and by the CLI goldens is at most the rule's
 * `meta.severity`, and a rule seen reporting lower has `meta.severityVaries`.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { isSeverity, severityRank, type Severity } from "../core/types.js";
import { REPO_ROOT } from "../testing/paths.js";
import { ALL_RULES } from "./index.js";

/** Severities each rule is seen reporting: fixture expectations and golden reports. */
function observed(): Map<string, Array<{ severity: Severity; where: string }>> {
  const out = new Map<string, Array<{ severity: Severity; where: string }>>();
  const add = (id: string, sev: unknown, where: string): void => {
    if (!isSeverity(sev)) return;
    const list = out.get(id) ?? [];
    list.push({ severity: sev, where });
    out.set(id, list);
  };
  const rulesDir = join(REPO_ROOT, "src", "rules");
  for (const domain of readdirSync(rulesDir)) {
    const fixtures = join(rulesDir, domain, "fixtures");
    if (!existsSync(fixtures) || !statSync(fixtures).isDirectory()) continue;
    for (const id of readdirSync(fixtures)) {
      const invalid = join(fixtures, id, "invalid");
      if (!existsSync(invalid)) continue;
      for (const c of readdirSync(invalid)) {
        const f = join(invalid, c, "expected.json");
        if (!existsSync(f)) continue;
        for (const e of JSON.parse(readFileSync(f, "utf8")) as Array<{ severity?: string }>) add(id, e.severity, `${domain}/fixtures/${id}/invalid/${c}`);
      }
    }
  }
  const golden = join(REPO_ROOT, "src", "cli", "golden");
  for (const name of readdirSync(golden).filter((n) => n.endsWith(".json"))) {
    const report = JSON.parse(readFileSync(join(golden, name), "utf8")) as { findings?: Array<{ ruleId: string; severity: string }> };
    for (const f of report.findings ?? []) add(f.ruleId, f.severity, `golden ${name}`);
  }
  return out;
}

test("catalogue: no rule reports above its catalogue severity, and a rule that reports lower says it varies", () => {
  const seen = observed();
  assert.ok(seen.size > 20, "fixtures and goldens were found");
  const problems: string[] = [];
  for (const rule of ALL_RULES) {
    const m = rule.meta;
    for (const s of seen.get(m.id) ?? []) {
      if (severityRank(s.severity) > severityRank(m.severity)) problems.push(`${m.id}: catalogue says ${m.severity}, ${s.where} reports ${s.severity}`);
      if (severityRank(s.severity) < severityRank(m.severity) && !m.severityVaries) problems.push(`${m.id}: ${s.where} reports ${s.severity} below the catalogue's ${m.severity}, and meta.severityVaries does not say how it varies`);
    }
    if (m.severityVaries !== undefined) assert.ok(m.severityVaries.trim().length > 10, `${m.id}: severityVaries explains the choice`);
  }
  assert.deepEqual([...new Set(problems)], []);
});
