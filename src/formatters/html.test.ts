/**
 * `--format html` without a browser: one self-contained page, a Content-Security-Policy that
 * admits exactly its own style and script (by hash), and everything from the repository
 * escaped. The browser test (html.browser.test.ts) loads the page in real Chromium.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { runCli } from "../testing/cli.js";
import { REPO_ROOT } from "../testing/paths.js";
import { escapeHtml } from "./escape.js";
import { hostileRepo } from "../testing/hostile-repo.js";

const tmp = mkdtempSync(join(tmpdir(), "fg-html-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

describe("html report", () => {
  it("escapes markup and shows invisible and bidirectional characters", () => {
    assert.equal(escapeHtml(`<a href="x">'&'</a>`), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    assert.equal(escapeHtml("a\u202Eb\u2066c\u0000"), "a⟦U+202E⟧b⟦U+2066⟧c⟦U+0000⟧");
  });

  it("is one self-contained page whose CSP admits only its own style and script", async () => {
    const r = await runCli(["audit", join(REPO_ROOT, "examples", "fleet"), "--format", "html"]);
    assert.equal(r.code, 1);
    const html = r.stdout;
    assert.match(html, /^<!DOCTYPE html>/);
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)?.[1]?.replace(/&#39;/g, "'");
    assert.ok(csp);
    assert.match(csp, /default-src 'none'/);
    const style = /<style>([\s\S]*?)<\/style>/.exec(html)![1]!;
    const script = /<script>([\s\S]*?)<\/script>/.exec(html)![1]!;
    const hash = (s: string): string => `'sha256-${createHash("sha256").update(s).digest("base64")}'`;
    assert.ok(csp.includes(`style-src ${hash(style)}`), csp);
    assert.ok(csp.includes(`script-src ${hash(script)}`), csp);
    assert.equal(html.match(/<style>/g)!.length, 1);
    assert.equal(html.match(/<script>/g)!.length, 1);
    // Nothing from the network, no inline styles or handlers (CSP would block them).
    assert.doesNotMatch(html, /\b(src|href)="(https?:)?\/\//);
    assert.doesNotMatch(html, /<link\b|@import|url\(/);
    assert.doesNotMatch(html, /\sstyle=|\son[a-z]+=/);
    for (const id of ["summary", "matrix", "posture", "fix-first", "findings", "rendering"]) assert.match(html, new RegExp(`<section id="${id}">`));
    // Output is deterministic.
    assert.equal((await runCli(["audit", join(REPO_ROOT, "examples", "fleet"), "--format", "html"])).stdout, html);
  });

  it("renders a hostile repository's names, values and file names as text", async () => {
    const root = join(tmp, "hostile");
    hostileRepo(root);
    const r = await runCli(["audit", root, "--format", "html"]);
    assert.equal(r.code === 0 || r.code === 1, true, r.stderr);
    const html = r.stdout;
    // Exactly the page's own one style and one script element; no other tag from the input.
    assert.equal(html.match(/<script/g)!.length, 1);
    assert.equal(html.match(/<\/script/g)!.length, 1);
    assert.equal(html.match(/<\/style/g)!.length, 1);
    assert.doesNotMatch(html, /<img|<b>/);
    assert.match(html, /app&lt;\/style&gt;&lt;script&gt;alert\(2\)&lt;\/script&gt;/);
    assert.match(html, /team-⟦U\+202E⟧evil/);
    assert.doesNotMatch(html, /[\u202A-\u202E\u2066-\u2069]/);
  });
});
