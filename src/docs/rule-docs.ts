/**
 * Rule documentation, generated from the rules' metadata: docs/rules/<rule-id>.md for every
 * rule, the docs/rules/README.md index, and the rule ids in the config schema's `rules`
 * section (so editors complete them). Everything is a pure function of the rule list; the
 * writer (scripts/gen-rule-docs.mjs, `npm run docs`) and the staleness test share it.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Rule } from "../core/rule.js";
import { SEVERITIES, severityRank, type Threat } from "../core/types.js";
import { IGNORE_ANNOTATION } from "../core/suppressions.js";

export const REGENERATE_COMMAND = "npm run docs";
export const RULE_DOCS_DIR = "docs/rules";
export const CONFIG_SCHEMA = "schemas/fluxguard-config.schema.json";
const MARKER = `<!-- Generated from the rule's metadata by \`${REGENERATE_COMMAND}\`. Do not edit: change the rule and regenerate. -->`;

/** The seed's threats, as a reader knows them. */
export const THREAT_NAMES: Record<Threat, string> = {
  "adversary-1-malicious-commit": "Adversary 1: a malicious commit is applied by Flux",
  "adversary-2-credential-exfiltration": "Adversary 2: Git deploy key exfiltration",
  "adversary-3-kustomization-escalation": "Adversary 3: Kustomization resource type escalation",
  "adversary-4-helm-values-injection": "Adversary 4: HelmRelease values injection",
  "adversary-5-image-automation": "Adversary 5: image automation overwrite",
  "weakness-1-cluster-admin": "Weakness: Flux service accounts with cluster-admin",
  "weakness-2-unverified-commits": "Weakness: unverified Git commits",
  "weakness-3-git-credentials": "Weakness: Git credentials stored insecurely",
  "weakness-4-unscoped-kustomization": "Weakness: no Kustomization reconciliation scope",
  "weakness-5-shared-instance": "Weakness: shared Flux instance across environments",
  "weakness-6-no-alerting": "Weakness: no alert on reconciliation failure",
};

function sortedRules(rules: readonly Rule[]): Rule[] {
  return [...rules].sort((a, b) => a.meta.id.localeCompare(b.meta.id));
}

/** Markdown-safe text for a table cell. */
function cell(s: string): string {
  return s.replace(/\|/g, "\\|").replace(/\n+/g, " ");
}

function fence(lang: string, body: string): string[] {
  const longest = Math.max(2, ...[...body.matchAll(/`+/g)].map((m) => m[0].length));
  const f = "`".repeat(longest + 1);
  return [`${f}${lang}`, body.replace(/\n+$/, ""), f];
}

export function ruleDocPath(id: string): string {
  return `${RULE_DOCS_DIR}/${id}.md`;
}

export function renderRuleDoc(rule: Rule): string {
  const m = rule.meta;
  const lines: string[] = [
    MARKER,
    "",
    `# \`${m.id}\`: ${m.title}`,
    "",
    `| Severity | Threats |`,
    `| --- | --- |`,
    `| **${m.severity}**${m.severityVaries ? " (highest; varies)" : ""} | ${m.threats.map((t) => `\`${t}\``).join("<br>") || "-"} |`,
    "",
    ...(m.severityVaries ? [`Severity varies: ${m.severityVaries}.`, ""] : []),
    m.summary.endsWith(".") ? m.summary : `${m.summary}.`,
    "",
  ];
  if (m.modes && m.modes.length) lines.push(`Runs on: ${m.modes.map((x) => `\`${x}\``).join(", ")}.`, "");
  lines.push("## Why it matters", "", m.rationale, "");
  if (m.threats.length) {
    lines.push("Threats it answers:", "", ...m.threats.map((t) => `- \`${t}\`: ${THREAT_NAMES[t] ?? t}`), "");
  }
  lines.push("## How to fix it", "", m.remediation.text, "");
  if (m.remediation.snippet.trim()) lines.push(...fence("yaml", m.remediation.snippet), "");
  if (m.references.length) lines.push("## References", "", ...m.references.map((r) => (/^https?:\/\//.test(r) ? `- <${r}>` : `- ${r}`)), "");
  lines.push(
    "## Suppressing a finding",
    "",
    "Suppress one finding with an annotation on the object; the reason is mandatory and shows in JSON and SARIF output:",
    "",
    ...fence("yaml", `metadata:\n  annotations:\n    ${IGNORE_ANNOTATION}: "${m.id}: <reason>"`),
    "",
    "Turn the rule off, or change its severity, for the whole repository in `.fluxguard.yaml`:",
    "",
    ...fence("yaml", `rules:\n  ${m.id}: off   # or a severity: critical, high, medium, low, info`),
    "",
    `\`fluxguard explain ${m.id}\` prints this page in the terminal.`,
    "",
  );
  return lines.join("\n");
}

export function renderRuleIndex(rules: readonly Rule[]): string {
  const sorted = sortedRules(rules).sort((a, b) => severityRank(b.meta.severity) - severityRank(a.meta.severity) || a.meta.id.localeCompare(b.meta.id));
  const counts = SEVERITIES.map((s) => [s, rules.filter((r) => r.meta.severity === s).length] as const).filter(([, n]) => n > 0);
  return [
    MARKER,
    "",
    "# fluxguard rules",
    "",
    `${rules.length} rules (${counts.map(([s, n]) => `${n} ${s}`).join(", ")}), by default severity. \`fluxguard rules\` prints this catalogue; \`fluxguard explain <rule-id>\` prints one page.`,
    "",
    "| Rule | Severity | Threats | Summary |",
    "| --- | --- | --- | --- |",
    ...sorted.map((r) => `| [\`${r.meta.id}\`](${r.meta.id}.md) | ${r.meta.severity}${r.meta.severityVaries ? " (varies)" : ""} | ${r.meta.threats.map((t) => `\`${t}\``).join(" ") || "-"} | ${cell(r.meta.summary)} |`),
    "",
    "Severities and rules can be changed per repository in `.fluxguard.yaml` (see `schemas/fluxguard-config.schema.json`); one finding is suppressed with the",
    `\`${IGNORE_ANNOTATION}: "<rule-id>: <reason>"\` annotation.`,
    "",
  ].join("\n");
}

/** The config schema with `rules.properties` listing every rule id, for editor completion. */
export function configSchemaWithRules(schemaText: string, rules: readonly Rule[]): string {
  const schema = JSON.parse(schemaText) as { properties: { rules: { properties: Record<string, unknown> } } };
  const props: Record<string, unknown> = {};
  for (const r of sortedRules(rules)) {
    props[r.meta.id] = { description: `${r.meta.title} (default: ${r.meta.severity}). ${r.meta.summary}`, $ref: "#/$defs/ruleSetting" };
  }
  schema.properties.rules.properties = props;
  return `${JSON.stringify(schema, null, 2)}\n`;
}

/** Every generated file, repository-relative path → content. */
export function generatedFiles(repoRoot: string, rules: readonly Rule[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const r of sortedRules(rules)) out.set(ruleDocPath(r.meta.id), renderRuleDoc(r));
  out.set(`${RULE_DOCS_DIR}/README.md`, renderRuleIndex(rules));
  out.set(CONFIG_SCHEMA, configSchemaWithRules(readFileSync(join(repoRoot, CONFIG_SCHEMA), "utf8"), rules));
  return out;
}

/** Generated rule pages on disk that no rule produces any more (a rule was removed or renamed). */
export function orphanedDocs(repoRoot: string, rules: readonly Rule[]): string[] {
  const dir = join(repoRoot, RULE_DOCS_DIR);
  if (!existsSync(dir)) return [];
  const ids = new Set(rules.map((r) => r.meta.id));
  return readdirSync(dir)
    .filter((f) => f.endsWith(".md") && f !== "README.md" && !ids.has(f.slice(0, -3)))
    .filter((f) => readFileSync(join(dir, f), "utf8").startsWith(MARKER))
    .map((f) => `${RULE_DOCS_DIR}/${f}`)
    .sort();
}

export interface DocsCheck {
  missing: string[];
  stale: string[];
  orphaned: string[];
}

export function checkDocs(repoRoot: string, rules: readonly Rule[]): DocsCheck {
  const res: DocsCheck = { missing: [], stale: [], orphaned: orphanedDocs(repoRoot, rules) };
  for (const [rel, content] of generatedFiles(repoRoot, rules)) {
    const abs = join(repoRoot, rel);
    if (!existsSync(abs)) res.missing.push(rel);
    else if (readFileSync(abs, "utf8") !== content) res.stale.push(rel);
  }
  return res;
}

/** Writes what changed (atomically) and removes orphaned pages; returns the paths touched. */
export function writeDocs(repoRoot: string, rules: readonly Rule[]): string[] {
  const touched: string[] = [];
  for (const [rel, content] of generatedFiles(repoRoot, rules)) {
    const abs = join(repoRoot, rel);
    if (existsSync(abs) && readFileSync(abs, "utf8") === content) continue;
    mkdirSync(dirname(abs), { recursive: true });
    const tmp = `${abs}.tmp-${process.pid}`;
    writeFileSync(tmp, content);
    renameSync(tmp, abs);
    touched.push(rel);
  }
  for (const rel of orphanedDocs(repoRoot, rules)) {
    rmSync(join(repoRoot, rel));
    touched.push(`${rel} (removed)`);
  }
  return touched;
}
