import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { runCli } from "../testing/cli.js";
import { VERSION } from "../core/version.js";
import { REPO_ROOT } from "../testing/paths.js";

test("version matches package.json", () => {
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { version: string };
  assert.equal(VERSION, pkg.version);
});

test("no command prints help and exits 2", async () => {
  const r = await runCli([]);
  assert.equal(r.code, 2);
  assert.match(r.stdout, /usage: fluxguard <command>/);
});

test("unknown command is a one-line error with a hint", async () => {
  const r = await runCli(["frobnicate"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^fluxguard: unknown command 'frobnicate'\nhint: /);
});

test("unknown flag, bad format and bad severity exit 2", async () => {
  for (const argv of [
    ["audit", "examples/fleet", "--frob"],
    ["audit", "examples/fleet", "--format", "xml"],
    ["audit", "examples/fleet", "--fail-on", "severe"],
  ]) {
    const r = await runCli(argv);
    assert.equal(r.code, 2, argv.join(" "));
    assert.match(r.stderr, /^fluxguard: /);
    assert.equal(r.stdout, "");
  }
});

test("missing directory exits 2", async () => {
  const r = await runCli(["audit", "no/such/dir"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /fluxguard: no such directory: no\/such\/dir/);
});

test("an empty directory says so and exits 0", async () => {
  const dir = mkdtempSync(join(tmpdir(), "fg-empty-"));
  const r = await runCli(["audit", dir]);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /No Kubernetes objects found\./);
  const j = await runCli(["audit", dir, "--format", "json"]);
  assert.equal((JSON.parse(j.stdout) as { empty: boolean }).empty, true);
});

test("--fail-on decides the exit code", async () => {
  const high = await runCli(["audit", "examples/hardened-fleet"]);
  assert.equal(high.code, 0);
  const low = await runCli(["audit", "examples/hardened-fleet", "--fail-on", "low"]);
  assert.equal(low.code, 1);
});

test("--output writes the report atomically and prints nothing", async () => {
  const dir = mkdtempSync(join(tmpdir(), "fg-out-"));
  const out = join(dir, "report.sarif");
  const r = await runCli(["audit", "examples/fleet", "--format", "sarif", "--output", out]);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, "");
  assert.equal((JSON.parse(readFileSync(out, "utf8")) as { version: string }).version, "2.1.0");
});

test("colour only on a TTY, and never with NO_COLOR or --no-color", async () => {
  const tty = await runCli(["audit", "examples/fleet"], { isTTY: true });
  assert.match(tty.stdout, /\x1b\[/);
  const nc = await runCli(["audit", "examples/fleet"], { isTTY: true, env: { NO_COLOR: "1" } });
  assert.doesNotMatch(nc.stdout, /\x1b\[/);
  const flag = await runCli(["audit", "examples/fleet", "--no-color"], { isTTY: true });
  assert.doesNotMatch(flag.stdout, /\x1b\[/);
  const pipe = await runCli(["audit", "examples/fleet"]);
  assert.doesNotMatch(pipe.stdout, /\x1b\[/);
});

test("config: unknown keys and unknown rules are errors with line numbers", async () => {
  const dir = mkdtempSync(join(tmpdir(), "fg-cfg-"));
  writeFileSync(join(dir, ".fluxguard.yaml"), "rules:\n  kustomization-force-apply: off\nplatfrom:\n  namespaces: [x]\n");
  const r = await runCli(["audit", dir]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /\.fluxguard\.yaml:3:1: unknown key 'platfrom'/);
  writeFileSync(join(dir, ".fluxguard.yaml"), "rules:\n  no-such-rule: high\n");
  const r2 = await runCli(["audit", dir]);
  assert.match(r2.stderr, /\.fluxguard\.yaml:2:3: unknown rule 'no-such-rule'/);
  const r3 = await runCli(["audit", dir, "--config", join(dir, "missing.yaml")]);
  assert.equal(r3.code, 2);
  assert.match(r3.stderr, /config file not found/);
});

test("config: rules can be turned off and re-graded", async () => {
  const dir = mkdtempSync(join(tmpdir(), "fg-cfg2-"));
  mkdirSync(join(dir, "apps"));
  writeFileSync(
    join(dir, "apps", "ks.yaml"),
    "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: a\n  namespace: team\nspec:\n  path: ./apps\n  prune: true\n  force: true\n  serviceAccountName: team\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n",
  );
  const base = JSON.parse((await runCli(["audit", dir, "--format", "json"])).stdout) as { findings: Array<{ ruleId: string; severity: string }> };
  assert.ok(base.findings.some((f) => f.ruleId === "kustomization-force-apply" && f.severity === "medium"));
  writeFileSync(join(dir, ".fluxguard.yaml"), "rules:\n  kustomization-force-apply: critical\n  cross-namespace-source-ref: off\n");
  const after = JSON.parse((await runCli(["audit", dir, "--format", "json"])).stdout) as { findings: Array<{ ruleId: string; severity: string }> };
  assert.ok(after.findings.some((f) => f.ruleId === "kustomization-force-apply" && f.severity === "critical"));
  assert.ok(!after.findings.some((f) => f.ruleId === "cross-namespace-source-ref"));
});

test("explain: unknown rule suggests, json works", async () => {
  const r = await runCli(["explain", "force"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown rule 'force'/);
  const j = await runCli(["explain", "kustomization-force-apply", "--format", "json"]);
  assert.equal((JSON.parse(j.stdout) as { rule: { id: string } }).rule.id, "kustomization-force-apply");
});

test("--output to a device writes through it and never replaces it", async () => {
  const { statSync } = await import("node:fs");
  const r = await runCli(["audit", "examples/hardened-fleet", "--format", "json", "--output", "/dev/null"]);
  assert.equal(r.code, 0);
  assert.ok(statSync("/dev/null").isCharacterDevice());
  const d = await runCli(["audit", "examples/hardened-fleet", "--output", tmpdir()]);
  assert.equal(d.code, 2);
  assert.match(d.stderr, /is a directory/);
});

test("the bin: a reader that closes the pipe early (| head) is not a crash", async () => {
  const { spawn } = await import("node:child_process");
  const child = spawn(process.execPath, [join(REPO_ROOT, "dist", "src", "bin", "fluxguard.js"), "audit", join(REPO_ROOT, "examples", "fleet"), "--format", "sarif"], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, FLUXGUARD_KUSTOMIZE: "kubectl", FLUXGUARD_CACHE: "off" },
  });
  let stderr = "";
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  child.stdout.once("data", () => child.stdout.destroy());
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  assert.doesNotMatch(stderr, /EPIPE|Unhandled|at /, stderr);
  assert.equal(code, 1, "the audit's own exit code (findings), not a crash");
});
