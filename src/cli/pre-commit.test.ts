/**
 * The pre-commit hooks (.pre-commit-hooks.yaml) with the real `pre-commit`: `pre-commit
 * try-repo` against this checkout, in a temporary Git repository. A commit that stages the
 * insecure example fleet is refused; one that stages the hardened fleet passes. The hook is
 * installed with Go off PATH: building the kustomize server is optional and must degrade. The
 * verify hook (pre-push) runs `fluxguard verify`. Skips when pre-commit is not installed.
 * Installing the hook runs `npm install` in pre-commit's copy of this repository (the registry
 * is needed).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { REPO_ROOT } from "../testing/paths.js";

const version = spawnSync("pre-commit", ["--version"], { encoding: "utf8" });
const PRE_COMMIT = version.status === 0;
// pre-commit 3.2 renamed the stage `push` to `pre-push` (Debian 12 ships 3.0.4).
const [maj = 0, min = 0] = (/(\d+)\.(\d+)/.exec(version.stdout ?? "") ?? []).slice(1).map(Number);
const PUSH_STAGE = maj > 3 || (maj === 3 && min >= 2) ? "pre-push" : "push";
const tmp = mkdtempSync(join(tmpdir(), "fg-precommit-"));
const repo = join(tmp, "repo");
// No Go on PATH: installing the hook must not need it.
const PATH = (process.env["PATH"] ?? "")
  .split(":")
  .filter((d) => spawnSync("test", ["-x", join(d, "go")]).status !== 0)
  .join(":");
const env = { ...process.env, PATH, PRE_COMMIT_HOME: join(tmp, "cache"), GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@example.com", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@example.com", NO_COLOR: "1" };
const git = (...args: string[]) => spawnSync("git", args, { cwd: repo, encoding: "utf8", env });
const tryRepo = (...args: string[]) => spawnSync("pre-commit", ["try-repo", REPO_ROOT, ...args], { cwd: repo, encoding: "utf8", env, timeout: 15 * 60_000 });

describe("pre-commit hooks", { skip: PRE_COMMIT ? false : "pre-commit is not installed (apt-get install pre-commit, or pip install pre-commit)" }, () => {
  before(() => {
    assert.equal(spawnSync("git", ["init", "-q", "-b", "main", repo], { encoding: "utf8" }).status, 0);
    git("commit", "-q", "--allow-empty", "-m", "start");
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it("fluxguard-audit refuses a commit of the insecure fleet and passes the hardened one (installed without Go)", () => {
    cpSync(join(REPO_ROOT, "examples", "fleet"), repo, { recursive: true });
    git("add", "-A");
    const bad = tryRepo("fluxguard-audit");
    assert.equal(bad.status, 1, `${bad.stdout}\n${bad.stderr}`);
    assert.match(bad.stdout, /fluxguard audit\.+Failed/);
    assert.match(bad.stdout, /critical/);

    git("rm", "-r", "-q", "--cached", ".");
    for (const d of ["apps", "clusters", "team-a-apps", "tenants"]) rmSync(join(repo, d), { recursive: true, force: true });
    cpSync(join(REPO_ROOT, "examples", "hardened-fleet"), repo, { recursive: true });
    git("add", "-A");
    const good = tryRepo("fluxguard-audit");
    assert.equal(good.status, 0, `${good.stdout}\n${good.stderr}`);
    assert.match(good.stdout, /fluxguard audit\.+Passed/);
    assert.equal(git("commit", "-q", "-m", "hardened fleet").status, 0);
  });

  it("fluxguard-verify runs fluxguard verify at pre-push", () => {
    const r = tryRepo("fluxguard-verify", "--hook-stage", PUSH_STAGE, "--all-files");
    // No keys are configured in this repository: verify refuses with its usage error.
    assert.equal(r.status, 1, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /fluxguard verify\.+Failed/);
    assert.match(r.stdout, /fluxguard: .*keys/);
  });
});
