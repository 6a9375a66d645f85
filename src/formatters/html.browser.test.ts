/**
 * The HTML report in a real browser: headless Chromium (Debian's `chromium`, driven with
 * puppeteer-core over the DevTools protocol; no browser is downloaded) loads the report of the
 * example fleet, of a hostile repository and, when the corpus is present, of its largest
 * repository. The DOM is asserted (matrix cells, counts, a filter's effect with scripts on,
 * everything readable with scripts off, no CSP violation) and a screenshot of each page is
 * saved under test-artifacts/ (FLUXGUARD_ARTIFACTS overrides). Skips, saying so, when there
 * is no Chromium (CHROMIUM_PATH, or chromium / chromium-browser on PATH).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "puppeteer-core";
import { runCli } from "../testing/cli.js";
import { CORPUS_DIR, REPO_ROOT } from "../testing/paths.js";
import { hostileRepo } from "../testing/hostile-repo.js";

/** What the tests read of a DOM element (the suite compiles without the DOM library). */
interface El {
  hidden: boolean;
  offsetParent: unknown;
}

function findChromium(): string | null {
  const explicit = process.env["CHROMIUM_PATH"];
  if (explicit) return existsSync(explicit) ? explicit : null;
  for (const name of ["chromium", "chromium-browser", "google-chrome"]) {
    const r = spawnSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" });
    if (r.status === 0 && r.stdout.trim()) return r.stdout.trim();
  }
  return null;
}

const CHROMIUM = findChromium();
const SKIP = CHROMIUM ? false : "Chromium is not installed (apt-get install chromium, or set CHROMIUM_PATH); the HTML report was not tested in a browser";
const ARTIFACTS = process.env["FLUXGUARD_ARTIFACTS"] ?? join(REPO_ROOT, "test-artifacts");
const tmp = mkdtempSync(join(tmpdir(), "fg-browser-"));
let browser: Browser | undefined;

/** The largest corpus repository (most files), when the corpus is here. */
function largestCorpusRepo(): string | null {
  if (!existsSync(CORPUS_DIR)) return null;
  const count = (d: string): number => readdirSync(d).reduce((n, x) => (statSync(join(d, x)).isDirectory() ? n + count(join(d, x)) : n + 1), 0);
  const repos = readdirSync(CORPUS_DIR).map((x) => join(CORPUS_DIR, x)).filter((d) => statSync(d).isDirectory());
  return repos.sort((a, b) => count(b) - count(a))[0] ?? null;
}

async function report(dir: string, name: string): Promise<string> {
  const r = await runCli(["audit", dir, "--format", "html"]);
  assert.ok(r.code === 0 || r.code === 1, r.stderr);
  const file = join(tmp, `${name}.html`);
  writeFileSync(file, r.stdout);
  return file;
}

async function open(file: string, javaScriptEnabled: boolean): Promise<{ page: Page; violations: string[] }> {
  const page = await browser!.newPage();
  await page.setJavaScriptEnabled(javaScriptEnabled);
  await page.setViewport({ width: 1280, height: 900 });
  const violations: string[] = [];
  page.on("console", (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) violations.push(m.text());
  });
  page.on("pageerror", (e) => violations.push(String(e)));
  // No request may leave the page: anything but the file itself is a failure.
  await page.setRequestInterception(true);
  page.on("request", (req) => {
    if (req.url() === `file://${file}`) void req.continue();
    else {
      violations.push(`request to ${req.url()}`);
      void req.abort();
    }
  });
  await page.goto(`file://${file}`, { waitUntil: "load" });
  return { page, violations };
}

async function screenshot(page: Page, name: string, scrollTo?: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  if (scrollTo) await page.$eval(scrollTo, (e) => (e as unknown as { scrollIntoView(): void }).scrollIntoView());
  const path = join(ARTIFACTS, `${name}.png`) as `${string}.png`;
  await page.screenshot({ path, fullPage: false });
  assert.ok(statSync(path).size > 10_000, "a screenshot with content");
  return path;
}

describe("html report in Chromium", { skip: SKIP }, () => {
  before(async () => {
    const puppeteer = await import("puppeteer-core");
    browser = await puppeteer.launch({ executablePath: CHROMIUM!, headless: true, args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
  });
  after(async () => {
    await browser?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it("examples/fleet: matrix, counts, fix first, and the filters work with scripts on", async () => {
    const file = await report(join(REPO_ROOT, "examples", "fleet"), "fleet");
    const json = JSON.parse((await runCli(["audit", join(REPO_ROOT, "examples", "fleet"), "--format", "json"])).stdout) as {
      summary: { bySeverity: Record<string, number>; findings: number; clusters: string[] };
      findings: Array<{ suppressed: boolean; severity: string; ruleId: string }>;
      rootCauses: unknown[];
    };
    const { page, violations } = await open(file, true);
    // Matrix: 11 threats x the fleet's two clusters, each cell one of the four verdicts.
    const cells = await page.$$eval("#matrix td[data-verdict]", (tds) => tds.map((td) => [td.getAttribute("data-threat"), td.getAttribute("data-cluster"), td.getAttribute("data-verdict")]));
    const clusters = [...new Set(cells.map((c) => c[1]))];
    assert.ok(clusters.includes("clusters/production") && clusters.includes("clusters/staging"), clusters.join(", "));
    assert.equal(cells.length, 11 * clusters.length);
    for (const [, , v] of cells) assert.ok(["defended", "exposed", "not-assessed", "not-applicable"].includes(v!), v!);
    const verdictOf = (t: string, c: string): string | null | undefined => cells.find((x) => x[0] === t && x[1] === c)?.[2];
    assert.equal(verdictOf("weakness-1-cluster-admin", "clusters/staging"), "exposed", "staging runs without the lockdown");
    // An exposed cell links to its findings.
    const link = await page.$eval('#matrix td[data-verdict="exposed"] a', (a) => a.getAttribute("href"));
    assert.ok(link && (await page.$(link)) !== null, `the cell's target ${link} exists`);
    // Counts agree with the JSON report.
    for (const [sev, n] of Object.entries(json.summary.bySeverity)) {
      assert.equal(await page.$eval(`#summary td[data-severity="${sev}"]`, (td) => td.textContent), String(n), sev);
    }
    assert.equal((await page.$$("#fix-first li[data-cause]")).length, json.rootCauses.length);
    // Filters: shown with scripts on; choosing "critical" leaves only the critical findings.
    assert.equal(await page.$eval("#filters", (f) => (f as unknown as El).hidden), false);
    const all = json.findings.filter((f) => !f.suppressed).length;
    assert.equal(await page.$eval("#shown", (e) => e.textContent), String(all));
    await page.select('#filters select[name="severity"]', "critical");
    const visible = await page.$$eval("article.finding", (as) => as.filter((a) => !(a as unknown as El).hidden).map((a) => a.getAttribute("data-severity")));
    assert.equal(visible.length, json.summary.bySeverity["critical"]);
    assert.ok(visible.every((s) => s === "critical"));
    assert.equal(await page.$eval("#shown", (e) => e.textContent), String(visible.length));
    await page.select('#filters select[name="severity"]', "");
    await page.select('#filters select[name="cluster"]', "clusters/production");
    const prod = await page.$$eval("article.finding", (as) => as.filter((a) => !(a as unknown as El).hidden).length);
    assert.ok(prod > 0 && prod < all, `${prod} of ${all} findings in production`);
    await page.select('#filters select[name="cluster"]', "");
    await screenshot(page, "html-report-fleet");
    assert.deepEqual(violations, []);
    await page.close();
  });

  it("examples/fleet with scripts off: everything readable, the filter form stays hidden", async () => {
    const file = await report(join(REPO_ROOT, "examples", "fleet"), "fleet-noscript");
    const { page, violations } = await open(file, false);
    assert.equal(await page.$eval("#filters", (f) => (f as unknown as El).hidden), true);
    const shown = await page.$$eval("article.finding", (as) => as.filter((a) => (a as unknown as El).offsetParent !== null).length);
    assert.ok(shown > 10, `${shown} findings visible without scripts`);
    assert.ok((await page.$$("#matrix td[data-verdict]")).length > 0);
    assert.deepEqual(violations, []);
    await page.close();
  });

  it("a hostile repository renders as text: no injected element, no script run", async () => {
    const root = join(tmp, "hostile");
    hostileRepo(root);
    const file = await report(root, "hostile");
    const { page, violations } = await open(file, true);
    assert.equal((await page.$$("script")).length, 1, "only the page's own script");
    assert.equal((await page.$$("style")).length, 1, "only the page's own style");
    assert.equal((await page.$$("img, b, iframe, object")).length, 0);
    const text = await page.$eval("#findings", (e) => e.textContent ?? "");
    assert.match(text, /app<\/style><script>alert\(2\)<\/script>/, "the name shows as text");
    assert.match(text, /team-⟦U\+202E⟧evil/);
    await screenshot(page, "html-report-hostile", "#findings");
    assert.deepEqual(violations, []);
    await page.close();
  });

  it("the corpus's largest repository", { skip: largestCorpusRepo() ? false : `no corpus at ${CORPUS_DIR}` }, async () => {
    const repo = largestCorpusRepo()!;
    const file = await report(repo, "largest");
    const { page, violations } = await open(file, true);
    const cells = await page.$$("#matrix td[data-verdict]");
    assert.ok(cells.length >= 11);
    const n = await page.$$eval("article.finding", (as) => as.length);
    assert.ok(n > 100, `${n} findings`);
    await page.select('#filters select[name="severity"]', "high");
    const high = await page.$$eval("article.finding", (as) => as.filter((a) => !(a as unknown as El).hidden).length);
    assert.ok(high > 0 && high < n);
    await page.select('#filters select[name="severity"]', "");
    await screenshot(page, "html-report-largest-corpus");
    assert.deepEqual(violations, []);
    await page.close();
  });
});
