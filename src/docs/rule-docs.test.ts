import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ALL_RULES } from "../rules/index.js";
import { REPO_ROOT } from "../testing/paths.js";
import { checkDocs, REGENERATE_COMMAND, renderRuleDoc, renderRuleIndex, configSchemaWithRules } from "./rule-docs.js";
import { readFileSync } from "node:fs";
import { join } from "node:path";

describe("rule docs", () => {
  it("docs/rules, its index and the config schema's rule ids match the rules' metadata", () => {
    const { missing, stale, orphaned } = checkDocs(REPO_ROOT, ALL_RULES);
    const problems = [
      ...missing.map((f) => `missing: ${f}`),
      ...stale.map((f) => `stale:   ${f}`),
      ...orphaned.map((f) => `orphan:  ${f} (no rule has this id)`),
    ];
    assert.deepEqual(problems, [], `rule docs are out of date; regenerate them with \`${REGENERATE_COMMAND}\` and commit the result:\n  ${problems.join("\n  ")}`);
  });

  it("a page carries everything explain shows: severity, threats, rationale, snippet, references, suppression", () => {
    for (const rule of ALL_RULES) {
      const md = renderRuleDoc(rule);
      const m = rule.meta;
      assert.ok(md.includes(`# \`${m.id}\`: ${m.title}`), m.id);
      assert.ok(md.includes(`**${m.severity}**`), m.id);
      for (const t of m.threats) assert.ok(md.includes(`\`${t}\``), `${m.id}: ${t}`);
      assert.ok(md.includes(m.rationale), m.id);
      assert.ok(md.includes(m.remediation.text), m.id);
      for (const line of m.remediation.snippet.split("\n")) assert.ok(md.includes(line), `${m.id}: snippet line ${line}`);
      for (const r of m.references) assert.ok(md.includes(r), `${m.id}: ${r}`);
      assert.ok(md.includes(`fluxguard.io/ignore: "${m.id}: <reason>"`), m.id);
    }
  });

  it("explain pages and rule docs cite only what ships with the package: https links, no repository-internal files", () => {
    for (const rule of ALL_RULES) {
      const m = rule.meta;
      for (const r of m.references) assert.match(r, /^https:\/\//, `${m.id}: reference ${r}`);
      const text = [m.title, m.summary, m.rationale, m.remediation.text, m.remediation.snippet].join("\n");
      assert.doesNotMatch(text, /FLUX-FACTS|\/work\/shared|CONVENTIONS\.md|DEVELOPERS\.md|scripts\//, m.id);
      assert.doesNotMatch(renderRuleDoc(rule), /FLUX-FACTS/, m.id);
    }
  });

  it("the index links every rule once and the schema lists every rule id", () => {
    const index = renderRuleIndex(ALL_RULES);
    for (const r of ALL_RULES) assert.equal(index.split(`](${r.meta.id}.md)`).length - 1, 1, r.meta.id);
    const schema = JSON.parse(configSchemaWithRules(readFileSync(join(REPO_ROOT, "schemas/fluxguard-config.schema.json"), "utf8"), ALL_RULES)) as {
      properties: { rules: { properties: Record<string, unknown> } };
    };
    assert.deepEqual(Object.keys(schema.properties.rules.properties), ALL_RULES.map((r) => r.meta.id).sort());
  });

  it("is deterministic and independent of the rules' order", () => {
    const reversed = [...ALL_RULES].reverse();
    assert.equal(renderRuleIndex(reversed), renderRuleIndex(ALL_RULES));
  });
});
