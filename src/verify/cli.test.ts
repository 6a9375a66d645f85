/** `fluxguard verify` and `fluxguard keys check` through the CLI: exit codes, output, schemas. */
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import formatsModule from "ajv-formats";
import { runCli } from "../testing/cli.js";
import { REPO_ROOT } from "../testing/paths.js";
import { cleanup, Gpg, hasTools, sshKeygen, tempDir, TestRepo, type GpgKey, type SshKey } from "./testkit.js";
import { REASONS } from "./report.js";
import { chmodSync } from "node:fs";

const skip = hasTools() ? false : "needs git, gpg and ssh-keygen";
const addFormats = formatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

function compile(name: string): ValidateFunction {
  const ajv = new Ajv2020({ strict: true, allowUnionTypes: true, allErrors: true });
  addFormats(ajv);
  return ajv.compile(JSON.parse(readFileSync(join(REPO_ROOT, "schemas", name), "utf8")) as object);
}

function valid(validate: ValidateFunction, json: string): void {
  const ok = validate(JSON.parse(json));
  assert.ok(ok, (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ""} ${JSON.stringify(e.params)}`).join("\n"));
}

let dir: string;
let repo: TestRepo;
let alice: GpgKey;
let dave: SshKey;
let gpg: Gpg;
const c: Record<string, string> = {};

before(
  () => {
    if (skip) return;
    gpg = new Gpg();
    alice = gpg.genKey("Alice", "alice@example.com", "ed25519");
    dir = tempDir("fg-cli-");
    dave = sshKeygen(tempDir("fg-cli-priv-"), "dave", "ed25519");
    mkdirSync(join(dir, "keys"));
    writeFileSync(join(dir, "keys", "alice.asc"), alice.armored);
    writeFileSync(join(dir, "keys", "allowed_signers"), `dave@example.com ${dave.publicLine}\n`);
    writeFileSync(
      join(dir, "secret.yaml"),
      `apiVersion: v1\nkind: Secret\nmetadata:\n  name: git-keys\n  namespace: flux-system\nstringData:\n  author.asc: |\n${alice.armored
        .trim()
        .split("\n")
        .map((l) => `    ${l}`)
        .join("\n")}\n  dave.sshpub: ${dave.publicLine}\n`,
    );
    repo = new TestRepo(join(dir, "repo"));
    const pgp = { format: "openpgp" as const, gpg, key: alice.fingerprint };
    c.base = repo.commit("base", { "clusters/prod/platform/a.yaml": "a\n" }, pgp);
    c.unsigned = repo.commit("unsigned \u001b[31mred\u001b[0m", { "apps/x.yaml": "x\n" }, null);
    c.ssh = repo.commit("ssh signed", { "clusters/prod/platform/b.yaml": "b\n" }, { format: "ssh", key: dave });
    c.tip = repo.commit("tip", { "apps/y.yaml": "y\n" }, pgp);
    repo.tag("v1.0.0", pgp);
  },
  { timeout: 60_000 },
);
after(() => cleanup());

describe("fluxguard verify CLI", { skip }, () => {
  const verifySchema = compile("verify-report.schema.json");
  const keysSchema = compile("keys-report.schema.json");

  test("exit 0 on a verified HEAD, with a table", async () => {
    const r = await runCli(["verify", "--repo", "repo", "--keys", "keys"], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^fluxguard verify: repo, ref HEAD, mode HEAD, 1 OpenPGP \+ 1 SSH keys/);
    assert.match(r.stdout, new RegExp(`commit ${c.tip!.slice(0, 12)}  Alice <alice@example.com>  ${alice.keyId}  pass     Succeeded`));
    assert.match(r.stdout, /PASS {2}verified 1 commit\n$/);
  });

  test("exit 1 on an unsigned commit in a range; JSON validates against the schema and is deterministic", async () => {
    const args = ["verify", "--repo", "repo", "--keys-secret", "secret.yaml", "--range", `${c.base}..HEAD`, "--format", "json"];
    const r = await runCli(args, { cwd: dir });
    assert.equal(r.code, 1, r.stderr);
    valid(verifySchema, r.stdout);
    const again = await runCli(args, { cwd: dir });
    assert.equal(again.stdout, r.stdout);
    const report = JSON.parse(r.stdout) as { reason: string; objects: { oid: string; reason: string; fluxReason: string | null }[] };
    assert.equal(report.reason, "UnsignedCommitInRange");
    assert.deepEqual(
      report.objects.map((o) => [o.oid, o.reason, o.fluxReason]),
      [
        [c.tip, "Succeeded", "Succeeded"],
        [c.ssh, "Succeeded", null],
        [c.unsigned, "UnsignedCommitInRange", null],
      ],
    );
    const text = await runCli(["verify", "--repo", "repo", "--keys-secret", "secret.yaml", "--range", `${c.base}..HEAD`], { cwd: dir });
    assert.equal(text.code, 1);
    assert.ok(!text.stdout.includes("\u001b"), "no terminal escapes from commit messages");
    assert.match(text.stdout, /FAIL {5}UnsignedCommitInRange\n {4}commit [0-9a-f]{12} is not signed/);
  });

  test("Tag modes, InvalidVerificationMode, and the schema's reason list", async () => {
    const t = await runCli(["verify", "--repo", "repo", "--keys", "keys", "--mode", "TagAndHEAD", "--ref", "v1.0.0", "--format", "json"], { cwd: dir });
    assert.equal(t.code, 0, t.stdout);
    valid(verifySchema, t.stdout);
    const m = await runCli(["verify", "--repo", "repo", "--keys", "keys", "--mode", "Tag", "--format", "json"], { cwd: dir });
    assert.equal(m.code, 1);
    valid(verifySchema, m.stdout);
    assert.equal((JSON.parse(m.stdout) as { reason: string }).reason, "InvalidVerificationMode");
    const schema = JSON.parse(readFileSync(join(REPO_ROOT, "schemas", "verify-report.schema.json"), "utf8")) as { $defs: { reason: { enum: string[] } } };
    assert.deepEqual(schema.$defs.reason.enum, [...REASONS]);
    const legacy = await runCli(["verify", "--repo", "repo", "--keys", "keys", "--mode", "head"], { cwd: dir });
    assert.equal(legacy.code, 0, "`head` is Flux's legacy spelling of HEAD");
  });

  test("policy from .fluxguard.yaml signers:, and --output", async () => {
    writeFileSync(
      join(dir, "repo", ".fluxguard.yaml"),
      "signers:\n  version: 1\n  groups:\n    platform: [alice@example.com]\n    ssh: [dave@example.com]\n  rules:\n    - paths: [clusters/]\n      groups: [platform]\n  default: any\n",
    );
    const r = await runCli(["verify", "--repo", "repo", "--keys", "keys", "--range", `${c.unsigned}..HEAD`, "--output", "out.txt"], { cwd: dir });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "");
    const out = readFileSync(join(dir, "out.txt"), "utf8");
    assert.match(out, /policy repo\/\.fluxguard\.yaml/);
    assert.match(out, /SignerNotAllowedForPath\n.*\n {4}✗ clusters\/prod\/platform\/b\.yaml {2}\(needs platform; rule 1 clusters\/\)/);
    writeFileSync(join(dir, "repo", ".fluxguard.yaml"), "signers:\n  version: 1\n  groups: {}\n  rules: []\n");
    const bad = await runCli(["verify", "--repo", "repo", "--keys", "keys"], { cwd: dir });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^fluxguard: repo\/\.fluxguard\.yaml:1:1: missing 'default'/);
    writeFileSync(join(dir, "repo", ".fluxguard.yaml"), "rules: {}\n");
  });

  test("usage and input errors exit 2 with one line and a hint", async () => {
    const cases: [string[], RegExp][] = [
      [["verify", "--repo", "repo"], /^fluxguard: no trusted keys: pass --keys or --keys-secret\nhint: /],
      [["verify", "--repo", "repo", "--keys", "keys", "--mode", "Head"], /^fluxguard: unknown --mode 'Head'\nhint: expected one of: HEAD, Tag, TagAndHEAD/],
      [["verify", "--repo", "repo", "--keys", "keys", "--ref", "main", "--range", "a..b"], /--ref and --range cannot be used together/],
      [["verify", "--repo", "nowhere", "--keys", "keys"], /^fluxguard: no such directory: nowhere/],
      [["verify", "--repo", "keys", "--keys", "keys"], /^fluxguard: not a git repository: /],
      [["verify", "--repo", "repo", "--keys", "keys", "--ref", "v9"], /^fluxguard: unknown revision 'v9'/],
      [["verify", "--repo", "repo", "--keys", "keys", "--range", "a...b"], /symmetric ranges/],
      [["verify", "--repo", "repo", "--keys", "missing.asc"], /^fluxguard: key path not found: missing.asc/],
      [["verify", "--repo", "repo", "--keys", "keys", "--policy", "nope.yaml"], /^fluxguard: policy file not found: nope.yaml/],
      [["keys"], /^fluxguard: keys needs a subcommand/],
      [["keys", "check", "--warn-days", "soon", "keys"], /--warn-days must be a whole number/],
    ];
    for (const [argv, re] of cases) {
      const r = await runCli(argv, { cwd: dir });
      assert.equal(r.code, 2, `${argv.join(" ")}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, re, argv.join(" "));
      assert.equal(r.stderr.split("\n").filter(Boolean).length <= 2, true, r.stderr);
    }
  });

  test("keys check: exit 0 when fine, 1 when a key expires soon; JSON validates", async () => {
    const ok = await runCli(["keys", "check", "keys"], { cwd: dir });
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /PASS {2}2 keys: 2 ok/);
    const soon = gpg.genKey("Soon", "soon@example.com", "ed25519", { expire: "7d" });
    writeFileSync(join(dir, "soon.asc"), soon.armored);
    const r = await runCli(["keys", "check", "keys", "soon.asc", "--keys-secret", "secret.yaml", "--warn-days", "30", "--format", "json"], { cwd: dir });
    assert.equal(r.code, 1);
    valid(keysSchema, r.stdout);
    const report = JSON.parse(r.stdout) as { keys: { name: string; status: string }[] };
    assert.deepEqual(
      report.keys.map((k) => k.status),
      ["ok", "ok", "expiring", "ok", "ok"],
    );
    const text = await runCli(["keys", "check", "soon.asc", "--no-color"], { cwd: dir });
    assert.match(text.stdout, /^expiring {2}openpgp/m);
    assert.match(text.stdout, /expires on \d{4}-\d\d-\d\d, in [67] days/);
    assert.equal((await runCli(["keys", "check", "soon.asc", "--warn-days", "3"], { cwd: dir })).code, 0);
  });

  test("the pre-receive hook from docs/verify.md rejects an unsigned commit beneath a signed one", { timeout: 60_000 }, () => {
    const doc = readFileSync(join(REPO_ROOT, "docs", "verify.md"), "utf8");
    const hook = /## On the server[\s\S]*?```sh\n([\s\S]*?)```/.exec(doc)?.[1];
    assert.ok(hook, "docs/verify.md has a pre-receive hook example");
    const bin = join(dir, "bin");
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, "fluxguard"), `#!/bin/sh\nexec '${process.execPath}' '${join(REPO_ROOT, "dist", "src", "bin", "fluxguard.js")}' "$@"\n`);
    chmodSync(join(bin, "fluxguard"), 0o755);
    writeFileSync(join(dir, "hook-policy.yaml"), "version: 1\ngroups:\n  all: [alice@example.com, dave@example.com]\nrules: []\ndefault: {groups: [all]}\n");
    const server = join(dir, "server.git");
    const client = new TestRepo(join(dir, "client"));
    client.git(["init", "-q", "--bare", "-b", "main", server]);
    writeFileSync(join(server, "hooks", "pre-receive"), hook.replace("/etc/fluxguard/keys", join(dir, "keys")).replace("/etc/fluxguard/signers.yaml", join(dir, "hook-policy.yaml")));
    chmodSync(join(server, "hooks", "pre-receive"), 0o755);
    const env = { ...client.env(), PATH: `${bin}:${process.env["PATH"] ?? ""}` };
    const push = () => client.git(["push", "-q", server, "HEAD:refs/heads/main"], { env, allowFail: true });
    const pgp = { format: "openpgp" as const, gpg, key: alice.fingerprint };
    client.commit("first", { "a.txt": "1\n" }, pgp);
    const first = push();
    assert.equal(first.status, 0, first.stderr);
    client.commit("unsigned", { "a.txt": "2\n" }, null);
    client.commit("signed on top", { "a.txt": "3\n" }, { format: "ssh", key: dave });
    const rejected = push();
    assert.notEqual(rejected.status, 0);
    assert.match(rejected.stderr, /UnsignedCommitInRange/);
    assert.match(rejected.stderr, /push to refs\/heads\/main rejected/);
    client.git(["reset", "-q", "--hard", "HEAD~2"]);
    client.commit("signed", { "a.txt": "4\n" }, { format: "ssh", key: dave });
    const ok = push();
    assert.equal(ok.status, 0, ok.stderr);
  });
});
