/**
 * The text report as a person reads it (summary, fix first, findings), --group-by, and
 * baselines (--baseline), through the CLI in-process.
 */
import assert from "node:assert/strict";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { runCli } from "../testing/cli.js";
import { REPO_ROOT } from "../testing/paths.js";

const FLEET = join(REPO_ROOT, "examples", "fleet");
const tmp = mkdtempSync(join(tmpdir(), "fg-report-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

interface Json {
  summary: { failed: boolean; findings: number };
  findings: Array<{ fingerprint: string; ruleId: string; baselineState?: string; location: { file: string; line: number } | null; suppressed: boolean }>;
  rootCauses: Array<{ id: string; findings: string[] }>;
  baseline?: { new: number; unchanged: number; absent: Array<{ fingerprint: string }> };
}

describe("text report", () => {
  it("reads in order: summary and counts, posture, fix first, findings, rendering", async () => {
    const r = await runCli(["audit", FLEET, "--no-color"]);
    assert.equal(r.code, 1);
    const at = (re: RegExp): number => {
      const i = r.stdout.search(re);
      assert.ok(i >= 0, `missing ${re}`);
      return i;
    };
    assert.equal(at(/^\d+ findings \(\d+ critical, \d+ high/), 0, "the counts come first");
    assert.ok(at(/^Posture/m) < at(/^Fix first/m));
    assert.ok(at(/^Fix first/m) < at(/^Findings by root cause/m));
    assert.ok(at(/^Findings by root cause/m) < at(/^Rendering/m));
    // The first fix is a critical one, numbered, with the change to make.
    assert.match(r.stdout, /^Fix first.*\n {3}1\. critical /m);
  });

  it("--group-by file gives one line per finding; rule (the default) is at least 3 times shorter on a wide repository", async () => {
    const root = join(tmp, "wide");
    const docs: string[] = [];
    for (let i = 0; i < 60; i++) {
      docs.push(`apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: app${i}, namespace: team${i}}\nspec: {interval: 10m, path: ./apps, prune: true, sourceRef: {kind: GitRepository, name: flux-system, namespace: flux-system}}`);
    }
    mkdirSync(join(root, "clusters", "prod"), { recursive: true });
    mkdirSync(join(root, "apps"), { recursive: true });
    writeFileSync(join(root, "apps", "cm.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\n");
    writeFileSync(join(root, "clusters", "prod", "apps.yaml"), `${docs.join("\n---\n")}\n`);
    const json = JSON.parse((await runCli(["audit", root, "--format", "json"], { env: { FLUXGUARD_KUSTOMIZE: "/nonexistent" } })).stdout) as Json;
    const byFile = (await runCli(["audit", root, "--no-color", "--group-by", "file"])).stdout;
    const byRule = (await runCli(["audit", root, "--no-color"])).stdout;
    const section = (text: string, start: RegExp): number => {
      const from = text.search(start);
      const to = text.search(/^Rendering|(?![\s\S])/m);
      return text.slice(from, to > from ? to : undefined).split("\n").length;
    };
    const fileLines = section(byFile, /^Findings by file/m);
    const ruleLines = section(byRule, /^Findings by root cause/m);
    assert.ok(fileLines >= json.summary.findings, `${fileLines} lines for ${json.summary.findings} findings`);
    assert.ok(ruleLines * 3 <= fileLines, `by rule ${ruleLines} lines, by file ${fileLines}`);
    // Every finding's line appears in the per-file view.
    for (const f of json.findings) if (f.location) assert.ok(byFile.includes(`${f.location.line}:`), f.fingerprint);
    const byCluster = (await runCli(["audit", root, "--no-color", "--group-by", "cluster"])).stdout;
    assert.match(byCluster, /^Findings by cluster[^\n]*\n\nCluster \S+ \(\d+ findings\)\n\[1\] high /m);
    const bad = await runCli(["audit", root, "--group-by", "colour"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^fluxguard: unknown --group-by 'colour'\nhint: expected one of: rule, file, cluster/);
  });
});

describe("--baseline", () => {
  it("marks new, unchanged and absent by fingerprint, surviving moved lines and reformatting; --fail-on counts new only", async () => {
    const base = join(tmp, "base");
    cpSync(FLEET, base, { recursive: true });
    const baseJson = join(tmp, "base.json");
    const b = await runCli(["audit", base, "--format", "json", "--output", baseJson]);
    assert.equal(b.code, 1);
    const before = JSON.parse(readFileSync(baseJson, "utf8")) as Json;

    // The head: the same fleet, reformatted (blank lines and comments push every line down,
    // flow style for one object), one finding fixed, one new.
    const head = join(tmp, "head");
    cpSync(FLEET, head, { recursive: true });
    const escalate = join(head, "apps", "base", "web", "escalate.yaml");
    writeFileSync(escalate, `# moved down\n\n\n${readFileSync(escalate, "utf8").replace(/\n/g, "\n\n")}`);
    writeFileSync(join(head, "clusters", "staging", "extra.yaml"), "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata: {name: extra, namespace: flux-system}\nspec: {interval: 1m, url: \"https://example.com/extra.git\", ref: {branch: main}}\n");
    const r = await runCli(["audit", head, "--format", "json", "--baseline", baseJson, "--fail-on", "medium"]);
    const after = JSON.parse(r.stdout) as Json;
    assert.ok(after.baseline);
    const fresh = after.findings.filter((f) => f.baselineState === "new");
    assert.ok(fresh.length >= 1 && fresh.every((f) => !before.findings.some((x) => x.fingerprint === f.fingerprint)));
    assert.ok(fresh.some((f) => f.ruleId === "gitrepository-unverified"), fresh.map((f) => f.ruleId).join());
    // The reformatted file's findings moved lines but stay unchanged.
    const moved = after.findings.filter((f) => f.location?.file === "apps/base/web/escalate.yaml");
    assert.ok(moved.length > 0);
    for (const f of moved) {
      assert.equal(f.baselineState, "unchanged", f.ruleId);
      const old = before.findings.find((x) => x.fingerprint === f.fingerprint)!;
      assert.notEqual(old.location!.line, f.location!.line, "the line really moved");
    }
    assert.equal(after.baseline.new, fresh.filter((f) => !f.suppressed).length);
    // Exit 1 only for new findings at or above --fail-on.
    assert.equal(r.code, 1);
    const same = await runCli(["audit", base, "--format", "json", "--baseline", baseJson, "--fail-on", "medium"]);
    assert.equal(same.code, 0, "nothing new: exit 0 although findings stand");
    assert.equal((JSON.parse(same.stdout) as Json).baseline!.new, 0);

    // A finding fixed in the head is absent.
    const fixed = join(tmp, "fixed");
    cpSync(FLEET, fixed, { recursive: true });
    rmSync(join(fixed, "apps", "base", "web", "escalate.yaml"));
    const kfile = join(fixed, "apps", "base", "web", "kustomization.yaml");
    writeFileSync(kfile, readFileSync(kfile, "utf8").replace(/^\s*- escalate\.yaml\n/m, ""));
    const gone = JSON.parse((await runCli(["audit", fixed, "--format", "json", "--baseline", baseJson])).stdout) as Json;
    assert.ok(gone.baseline!.absent.length >= 1);

    // SARIF carries baselineState, text shows the new findings first.
    const sarif = JSON.parse((await runCli(["audit", head, "--format", "sarif", "--baseline", baseJson])).stdout) as { runs: Array<{ results: Array<{ baselineState: string }> }> };
    const states = new Set(sarif.runs[0]!.results.map((x) => x.baselineState));
    assert.ok(states.has("new") && states.has("unchanged"), [...states].join());
    const text = (await runCli(["audit", head, "--no-color", "--baseline", baseJson])).stdout;
    assert.match(text, /^Against the baseline .*: \d+ new, \d+ unchanged, \d+ fixed since/m);
    const byFile = (await runCli(["audit", head, "--no-color", "--group-by", "file", "--baseline", baseJson])).stdout;
    assert.match(byFile, /clusters\/staging\/extra\.yaml\n {2}\S+ +new /);
  });

  it("a missing or foreign baseline is a usage error (exit 2)", async () => {
    const missing = await runCli(["audit", FLEET, "--baseline", join(tmp, "nope.json")]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^fluxguard: cannot read the baseline /);
    writeFileSync(join(tmp, "other.json"), '{"findings": []}');
    const foreign = await runCli(["audit", FLEET, "--baseline", join(tmp, "other.json")]);
    assert.equal(foreign.code, 2);
    assert.match(foreign.stderr, /is not a fluxguard audit report/);
    writeFileSync(join(tmp, "bad.json"), "{");
    assert.equal((await runCli(["audit", FLEET, "--baseline", join(tmp, "bad.json")])).code, 2);
  });
});
