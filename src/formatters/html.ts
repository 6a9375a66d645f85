/**
 * `--format html`: one self-contained page a person can open from a CI artifact.
 *
 * - Self-contained and CSP-safe: no network, no external font, script or style. The page's own
 *   Content-Security-Policy allows nothing but its one inline style and one inline script, each
 *   by its SHA-256 hash; no `style=` attributes, no inline event handlers.
 * - Readable with scripts off: everything is static HTML; the script only shows the filter
 *   controls and applies them.
 * - Everything from the audited repository (names, values, file names, messages) is escaped,
 *   and bidirectional and other control characters are shown as `⟦U+202E⟧`, never interpreted,
 *   so a name cannot reorder the text around it.
 *
 * Sections: summary (counts by severity, assumptions, baseline), threat matrix (the seed's
 * threats against each cluster, each cell linked to its findings), posture table, fix first
 * (root causes), findings (filterable by severity, rule and cluster; each with its location,
 * the rule's rationale and the YAML fix), rendering notes.
 */
import { createHash } from "node:crypto";
import type { Rule } from "../core/rule.js";
import { SEVERITIES, type Severity } from "../core/types.js";
import type { AuditReport, Finding } from "../engine/report.js";
import { exposure } from "../engine/root-causes.js";
import { threatMatrix, type CellVerdict } from "../engine/threat-matrix.js";
import { escapeHtml } from "./escape.js";

const e = escapeHtml;

const VERDICT_LABEL: Record<CellVerdict, string> = { defended: "defended", exposed: "exposed", "not-assessed": "not assessed", "not-applicable": "not applicable" };

const STYLE = `
:root{color-scheme:light;--fg:#1b1f24;--muted:#57606a;--line:#d0d7de;--bg:#fff;--soft:#f6f8fa}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg);background:var(--bg);margin:0 auto;max-width:1200px;padding:16px 24px}
h1{font-size:22px;margin:8px 0}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}h3{font-size:14px;margin:0}
code,pre{font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
pre{background:var(--soft);border:1px solid var(--line);padding:8px;overflow:auto;white-space:pre}
nav a{margin-right:12px}
table{border-collapse:collapse;margin:4px 0}th,td{border:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top}
th{background:var(--soft)}
.muted{color:var(--muted)}
.sev{display:inline-block;min-width:64px;padding:0 6px;border-radius:10px;font-weight:600;text-align:center;font-size:12px}
.sev-critical{background:#6f42c1;color:#fff}.sev-high{background:#cf222e;color:#fff}.sev-medium{background:#bf8700;color:#fff}.sev-low{background:#0969da;color:#fff}.sev-info{background:#8c959f;color:#fff}
.counts td{text-align:center;min-width:80px;font-size:18px}
.matrix td{text-align:center;white-space:nowrap}
.v{display:inline-block;padding:2px 8px;border-radius:4px;font-weight:600}
.v-exposed{background:#ffebe9;color:#a40e26;border:1px solid #ff8182}
.v-defended{background:#dafbe1;color:#116329;border:1px solid #4ac26b}
.v-not-assessed{background:#fff8c5;color:#7d4e00;border:1px solid #d4a72c}
.v-not-applicable{background:#f6f8fa;color:#57606a;border:1px solid #d0d7de}
.finding{border:1px solid var(--line);border-left:4px solid #8c959f;border-radius:4px;padding:8px 12px;margin:8px 0}
.finding.sev-critical-b{border-left-color:#6f42c1}.finding.sev-high-b{border-left-color:#cf222e}.finding.sev-medium-b{border-left-color:#bf8700}.finding.sev-low-b{border-left-color:#0969da}
.loc{margin:4px 0;color:var(--muted)}
.new{background:#0969da;color:#fff;border-radius:10px;padding:0 6px;font-size:12px;font-weight:600}
.fix li{margin:6px 0}
#filters{display:flex;gap:16px;align-items:end;background:var(--soft);border:1px solid var(--line);padding:8px 12px;border-radius:4px}
#filters label{display:flex;flex-direction:column;font-size:12px;color:var(--muted)}
[hidden]{display:none!important}
.objects{max-height:12em;overflow:auto}
`;

/** The filter: shows the controls, hides the findings that do not match, updates the count. */
const SCRIPT = `
(function () {
  var form = document.getElementById("filters");
  if (!form) return;
  form.hidden = false;
  var items = Array.prototype.slice.call(document.querySelectorAll("article.finding"));
  var count = document.getElementById("shown");
  function apply() {
    var sev = form.elements.namedItem("severity").value;
    var rule = form.elements.namedItem("rule").value;
    var cluster = form.elements.namedItem("cluster").value;
    var shown = 0;
    items.forEach(function (a) {
      var clusters = JSON.parse(a.getAttribute("data-clusters") || "[]");
      var ok = (!sev || a.getAttribute("data-severity") === sev) &&
        (!rule || a.getAttribute("data-rule") === rule) &&
        (!cluster || clusters.indexOf(cluster) >= 0);
      a.hidden = !ok;
      if (ok) shown++;
    });
    count.textContent = String(shown);
  }
  form.addEventListener("change", apply);
  form.addEventListener("submit", function (ev) { ev.preventDefault(); });
  apply();
})();
`;

function sha256(s: string): string {
  return `sha256-${createHash("sha256").update(s, "utf8").digest("base64")}`;
}

function sevBadge(s: Severity): string {
  return `<span class="sev sev-${s}">${s}</span>`;
}

function where(f: Finding): string {
  const parts: string[] = [];
  if (f.location) parts.push(`<code>${e(f.location.file)}:${f.location.line}:${f.location.column}</code>`);
  if (f.resource) parts.push(`${e(f.resource.kind)} <code>${e(f.resource.namespace ? `${f.resource.namespace}/` : "")}${e(f.resource.name)}</code>`);
  if (f.pointer) parts.push(`<code>${e(f.pointer)}</code>`);
  return parts.join(" · ");
}

/** Renders the report as one HTML page (see the module comment). Deterministic. */
export function formatHtml(report: AuditReport, rules: readonly Rule[]): string {
  const ruleById = new Map(rules.map((r) => [r.meta.id, r]));
  const s = report.summary;
  const out: string[] = [];
  const csp = `default-src 'none'; style-src '${sha256(STYLE)}'; script-src '${sha256(SCRIPT)}'; img-src 'none'; base-uri 'none'; form-action 'none'`;
  out.push(
    "<!DOCTYPE html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${e(csp)}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="referrer" content="no-referrer">',
    `<title>fluxguard audit: ${e(report.target.path)}</title>`,
    `<style>${STYLE}</style>`,
    "</head>",
    "<body>",
    `<h1>fluxguard audit of <code>${e(report.target.path)}</code></h1>`,
    `<p class="muted">fluxguard ${e(report.tool.version)} · ${s.objects} objects from ${report.target.kind === "cluster" ? "a live cluster" : `${s.files} files`} · ${s.clusters.filter((c) => !c.startsWith("(")).length} cluster(s) · failing at ${s.failOn} or above: <strong id="failed">${s.failed ? "yes" : "no"}</strong></p>`,
    '<nav><a href="#summary">Summary</a><a href="#matrix">Threat matrix</a><a href="#posture">Posture</a><a href="#fix-first">Fix first</a><a href="#findings">Findings</a><a href="#rendering">Rendering notes</a></nav>',
  );

  // Summary.
  out.push('<section id="summary"><h2>Summary</h2>', '<table class="counts"><tr>');
  for (const sev of SEVERITIES) out.push(`<th>${sevBadge(sev)}</th>`);
  out.push("<th>suppressed</th></tr><tr>");
  for (const sev of SEVERITIES) out.push(`<td data-severity="${sev}">${s.bySeverity[sev]}</td>`);
  out.push(`<td data-severity="suppressed">${s.suppressed}</td></tr></table>`);
  if (report.baseline) {
    const b = report.baseline;
    out.push(`<p id="baseline">Against the baseline <code>${e(b.file)}</code>: <strong>${b.new} new</strong>, ${b.unchanged} unchanged, ${b.absent.length} fixed since. <code>--fail-on</code> counts new findings only.</p>`);
  }
  if (s.assumptions.length) {
    out.push("<p>Assumed where the input did not say:</p><ul>");
    for (const a of s.assumptions) out.push(`<li>${e(a)}</li>`);
    out.push("</ul>");
  }
  out.push("</section>");

  // Threat matrix.
  const m = threatMatrix(report, rules);
  const byPrint = new Map(report.findings.map((f) => [f.fingerprint, f]));
  out.push(
    '<section id="matrix"><h2>Threat matrix</h2>',
    '<p class="muted">The seed\'s five adversaries and six weaknesses against each cluster. <span class="v v-exposed">exposed</span>: a finding at medium or above. <span class="v v-defended">defended</span>: positive evidence for every relevant object. <span class="v v-not-assessed">not assessed</span>: relevant content not seen or evidence missing. <span class="v v-not-applicable">not applicable</span>: the threat cannot arise here. Each cell links to its findings.</p>',
    '<table class="matrix"><thead><tr><th>threat</th>',
  );
  for (const c of m.clusters) out.push(`<th>${e(c)}</th>`);
  out.push("</tr></thead><tbody>");
  const cellLists: string[] = [];
  m.threats.forEach((t, i) => {
    out.push(`<tr><th><code>${e(t)}</code></th>`);
    m.clusters.forEach((c, j) => {
      const cell = m.cells[i]![j]!;
      const id = `cell-${i}-${j}`;
      const label = `${VERDICT_LABEL[cell.verdict]}${cell.findings.length ? ` (${cell.findings.length})` : ""}`;
      out.push(`<td data-threat="${e(t)}" data-cluster="${e(c)}" data-verdict="${cell.verdict}" title="${e(cell.because)}"><a class="v v-${cell.verdict}" href="#${id}">${label}</a></td>`);
      const items = cell.findings.map((fp) => byPrint.get(fp)).filter((f): f is Finding => f !== undefined);
      cellLists.push(
        `<details id="${id}"><summary><code>${e(t)}</code> in <code>${e(c)}</code>: <span class="v v-${cell.verdict}">${VERDICT_LABEL[cell.verdict]}</span></summary><p class="muted">${e(cell.because)}</p>` +
          (items.length ? `<ul>${items.map((f) => `<li>${sevBadge(f.severity)} <a href="#f-${f.fingerprint}">${e(f.message)}</a></li>`).join("")}</ul>` : "") +
          "</details>",
      );
    });
    out.push("</tr>");
  });
  out.push("</tbody></table>", ...cellLists, "</section>");

  // Posture table.
  out.push('<section id="posture"><h2>Posture</h2><p class="muted">The seed\'s Expected Behaviour, evaluated for this target.</p><table><tr><th>threat</th><th>expected</th><th>verdict</th><th>because</th></tr>');
  for (const p of report.posture) {
    const verdict = p.verdict;
    out.push(`<tr><td>${e(p.threat)}</td><td>${e(p.expected)}</td><td><span class="v v-${verdict}">${VERDICT_LABEL[verdict]}</span></td><td>${e(p.because)}</td></tr>`);
  }
  out.push("</table></section>");

  // Fix first.
  out.push('<section id="fix-first"><h2>Fix first</h2>');
  if (report.rootCauses.length === 0) out.push("<p>Nothing to fix.</p>");
  else {
    out.push('<p class="muted">Root causes: the fact behind one or more findings and the one change that removes them, most severe first, then most objects exposed.</p><ol class="fix">');
    for (const c of report.rootCauses) {
      const n = exposure(c);
      const objects = c.objects.map((o) => `${o.kind} ${o.namespace ? `${o.namespace}/` : ""}${o.name}`).concat(c.files);
      out.push(
        `<li data-cause="${e(c.id)}">${sevBadge(c.severity)} <strong>${e(c.fix)}</strong><br><span class="muted">${e(c.title)}</span>` +
          `<details><summary>${n} ${c.objects.length ? "object" : "file"}${n === 1 ? "" : "s"}, ${c.findings.length} finding${c.findings.length === 1 ? "" : "s"} (${c.rules.map((r) => e(r.ruleId)).join(", ")})</summary>` +
          `<div class="objects"><ul>${objects.map((o) => `<li><code>${e(o)}</code></li>`).join("")}</ul></div></details></li>`,
      );
    }
    out.push("</ol>");
  }
  out.push("</section>");

  // Findings.
  const shown = report.findings.filter((f) => !f.suppressed).sort((a, b) => Number(b.baselineState === "new") - Number(a.baselineState === "new"));
  const suppressed = report.findings.filter((f) => f.suppressed);
  const ruleIds = [...new Set(shown.map((f) => f.ruleId))].sort();
  const clusterIds = [...new Set(shown.flatMap((f) => f.context.clusters))].sort();
  out.push(
    '<section id="findings"><h2>Findings</h2>',
    `<form id="filters" hidden><label>severity<select name="severity"><option value="">all</option>${SEVERITIES.filter((x) => s.bySeverity[x] > 0)
      .map((x) => `<option value="${x}">${x} (${s.bySeverity[x]})</option>`)
      .join("")}</select></label>` +
      `<label>rule<select name="rule"><option value="">all</option>${ruleIds.map((r) => `<option value="${e(r)}">${e(r)}</option>`).join("")}</select></label>` +
      `<label>cluster<select name="cluster"><option value="">all</option>${clusterIds.map((c) => `<option value="${e(c)}">${e(c)}</option>`).join("")}</select></label></form>`,
    `<p>Showing <strong id="shown">${shown.length}</strong> of ${shown.length} findings${report.baseline ? " (new first)" : ""}; ${suppressed.length} suppressed.</p>`,
  );
  for (const f of [...shown, ...suppressed]) {
    const rule = ruleById.get(f.ruleId);
    out.push(
      `<article class="finding sev-${f.severity}-b" id="f-${f.fingerprint}" data-severity="${f.severity}" data-rule="${e(f.ruleId)}" data-clusters="${e(JSON.stringify(f.context.clusters))}"${f.suppressed ? ' data-suppressed="true"' : ""}>`,
      `<h3>${sevBadge(f.severity)} ${f.baselineState === "new" ? '<span class="new">new</span> ' : ""}${e(f.message)}</h3>`,
      `<p class="loc">${where(f)} · <code>${e(f.ruleId)}</code>${f.context.clusters.length ? ` · ${f.context.clusters.map((c) => e(c)).join(", ")}` : ""}${f.suppressed ? ` · suppressed: ${e(f.suppression?.reason ?? "")}` : ""}</p>`,
      `<details><summary>Why it matters, and the fix</summary><p>${e(rule?.meta.rationale ?? "")}</p><p><strong>Fix:</strong> ${e(f.remediation)}</p>${rule ? `<pre><code>${e(rule.meta.remediation.snippet)}</code></pre>` : ""}</details>`,
      "</article>",
    );
  }
  if (report.baseline?.absent.length) {
    out.push(`<h3>Fixed since the baseline (${report.baseline.absent.length})</h3><ul>`);
    for (const f of report.baseline.absent) out.push(`<li>${sevBadge(f.severity)} ${e(f.message)} <code>${e(f.ruleId)}</code></li>`);
    out.push("</ul>");
  }
  out.push("</section>");

  // Rendering notes.
  out.push('<section id="rendering"><h2>Rendering notes</h2>', `<p>kustomize: <code>${e(report.rendering.kustomize ?? "not found, built-in resolver")}</code></p>`);
  const notes = report.rendering.reconcilers;
  if (notes.length) {
    out.push("<table><tr><th>Kustomization</th><th>rendered by</th><th>objects</th><th>problems</th></tr>");
    for (const n of notes) out.push(`<tr><td>${e(n.reconciler)}</td><td>${e(n.method ?? "not rendered")}</td><td>${n.objects}</td><td>${n.problems.map((p) => e(p)).join("<br>")}</td></tr>`);
    out.push("</table>");
  }
  const skipped = report.notices.filter((n) => n.level === "warn");
  if (skipped.length) {
    out.push("<h3>Skipped</h3><ul>");
    for (const n of skipped) out.push(`<li><code>${e(n.file)}</code>: ${e(n.reason)}</li>`);
    out.push("</ul>");
  }
  out.push("</section>", `<script>${SCRIPT}</script>`, "</body>", "</html>", "");
  return out.join("\n");
}
