/**
 * Writes on hostile ground (issue 11): `generate` never writes or deletes outside --out
 * whatever --out holds; `fix` keeps file modes and line endings; file-system errors are one
 * clear `fluxguard:` line and exit 2, never an internal error.
 */
import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { runCli } from "../testing/cli.js";
import { hostileDir, mkfleet } from "../testing/hostile.js";
import { REPO_ROOT } from "../testing/paths.js";

const SPEC = join(REPO_ROOT, "examples/specs/minimal.yaml");

function oneErrorLine(stderr: string, re: RegExp): void {
  const lines = stderr.trimEnd().split("\n");
  assert.match(lines[0]!, /^fluxguard: /);
  assert.match(lines[0]!, re);
  assert.ok(!/internal error/.test(stderr), stderr);
  assert.ok(lines.length <= 2, stderr);
}

describe("generate-out-symlink: nothing is written or deleted outside --out", () => {
  it("a planted manifest and a symlinked directory", async () => {
    const d = hostileDir();
    mkdirSync(join(d, "victim"));
    mkdirSync(join(d, "out"));
    writeFileSync(join(d, "victim/precious.txt"), "precious\n");
    symlinkSync(join(d, "victim"), join(d, "out/clusters"));
    writeFileSync(join(d, "out/.fluxguard-generated"), "# Files written by fluxguard generate\nclusters/precious.txt\n");
    const r = await runCli(["generate", SPEC, "--out", join(d, "out")]);
    assert.equal(r.code, 2);
    oneErrorLine(r.stderr, /symbolic link/);
    assert.deepEqual(readdirSync(join(d, "victim")), ["precious.txt"]);
    assert.equal(readFileSync(join(d, "victim/precious.txt"), "utf8"), "precious\n");
  });

  it("our variant: a manifest naming ../ paths and a file link is never followed", async () => {
    const d = hostileDir();
    mkdirSync(join(d, "victim"));
    writeFileSync(join(d, "victim/precious.txt"), "precious\n");
    const out = join(d, "out");
    const first = await runCli(["generate", SPEC, "--out", out]);
    assert.equal(first.code, 0, first.stderr);
    // The manifest now lists paths outside --out, and a file in --out is replaced by a link out.
    writeFileSync(join(out, ".fluxguard-generated"), `# planted\n../victim/precious.txt\n${join(d, "victim/precious.txt")}\nREADME.md\n`);
    const readme = join(out, "README.md");
    writeFileSync(readme, "x");
    const { rmSync } = await import("node:fs");
    rmSync(readme);
    symlinkSync(join(d, "victim/precious.txt"), readme);
    const again = await runCli(["generate", SPEC, "--out", out]);
    assert.equal(again.code, 2);
    oneErrorLine(again.stderr, /README\.md, a symbolic link/);
    assert.equal(readFileSync(join(d, "victim/precious.txt"), "utf8"), "precious\n");
  });
});

describe("fix-mode-crlf: fix keeps modes and line endings", () => {
  it("0600, 0444 and 0755 files keep their modes; a CRLF file stays CRLF", async () => {
    const t = mkfleet(join(hostileDir(), "t"));
    const ks = (name: string, eol: string): string =>
      ["apiVersion: kustomize.toolkit.fluxcd.io/v1", "kind: Kustomization", "metadata:", `  name: ${name} # c`, "  namespace: flux-system", "spec:", "  interval: 10m", "  path: ./apps/evil", "  prune: true", "  force: true", "  sourceRef:", "    kind: GitRepository", "    name: flux-system", ""].join(eol);
    writeFileSync(join(t, "clusters/prod/crlf.yaml"), ks("crlf", "\r\n"));
    for (const [name, mode] of [["private", 0o600], ["ro", 0o444], ["exec", 0o755]] as const) {
      writeFileSync(join(t, `clusters/prod/${name}.yaml`), ks(name, "\n"));
      chmodSync(join(t, `clusters/prod/${name}.yaml`), mode);
    }
    const r = await runCli(["fix", t]);
    assert.equal(r.code, 0, r.stderr);
    for (const [name, mode] of [["private", 0o600], ["ro", 0o444], ["exec", 0o755]] as const) {
      const p = join(t, `clusters/prod/${name}.yaml`);
      assert.equal(statSync(p).mode & 0o777, mode, name);
      assert.ok(!readFileSync(p, "utf8").includes("force: true"), `${name} was fixed`);
    }
    const crlf = readFileSync(join(t, "clusters/prod/crlf.yaml"), "utf8");
    assert.ok(!crlf.includes("force: true"), "the CRLF file was fixed");
    assert.equal(crlf.split("\r\n").length, crlf.split("\n").length, "every line still ends with CRLF");
  });
});

describe("io-internal-errors, keys-dangling-symlink: file-system errors are one clear line, exit 2", () => {
  it("generate --out a file", async () => {
    const d = hostileDir();
    writeFileSync(join(d, "afile"), "hi\n");
    const r = await runCli(["generate", SPEC, "--out", join(d, "afile")]);
    assert.equal(r.code, 2);
    oneErrorLine(r.stderr, /is not a directory/);
  });
  it("init --output and audit --output where the path cannot be written", async () => {
    const d = hostileDir();
    writeFileSync(join(d, "afile"), "hi\n");
    const init = await runCli(["init", "--output", "/proc/self/x"]);
    assert.equal(init.code, 2);
    oneErrorLine(init.stderr, /^fluxguard: cannot write \/proc\/self\/x: no such file or directory$/);
    const audit = await runCli(["audit", join(REPO_ROOT, "examples/fleet"), "--output", join(d, "afile/r.txt")], { env: { FLUXGUARD_CACHE: "off" } });
    assert.equal(audit.code, 2);
    oneErrorLine(audit.stderr, /cannot write .*afile\/r\.txt: a part of the path is not a directory/);
    assert.ok(!existsSync(join(d, "afile.tmp")));
  });
  it("a dangling link in a --keys directory", async () => {
    const d = hostileDir();
    mkdirSync(join(d, "keys"));
    symlinkSync("/nonexistent", join(d, "keys/zz.asc"));
    for (const argv of [["keys", "check", join(d, "keys")], ["verify", "--repo", d, "--keys", join(d, "keys")]]) {
      const r = await runCli(argv);
      assert.equal(r.code, 2, argv.join(" "));
      oneErrorLine(r.stderr, /broken symbolic link|not a git repository|keys/);
    }
  });
});
