/**
 * End-to-end verification against real repositories signed by real gpg and ssh-keygen through
 * `git commit -S` / `git tag -s`. Every signature verdict is cross-checked against
 * `git verify-commit` / `git verify-tag` with the same trust (a GNUPGHOME holding exactly the
 * trusted public keys, and gpg.ssh.allowedSignersFile for SSH).
 */
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { loadKeyRing, type KeyRing } from "./keys.js";
import { loadPolicyFile } from "./policy.js";
import type { Mode, ObjectVerdict, VerifyReport } from "./report.js";
import { cleanup, Gpg, hasTools, sshKeygen, stripUserIds, tempDir, TestRepo, type GpgKey, type Signing, type SshKey } from "./testkit.js";
import { runVerify } from "./verify.js";
import { GitError } from "./git.js";

const skip = hasTools() ? false : "needs git, gpg and ssh-keygen";

interface World {
  gpg: Gpg;
  keys: Record<"alice" | "bob" | "carol" | "mallory" | "eve" | "rick" | "nora", GpgKey>;
  ssh: Record<"ed25519" | "p256" | "p384" | "p521" | "rsa" | "stranger" | "expired", SshKey>;
  keyDir: string;
  trust: { gnupgHome: string; allowedSigners: string };
  ring: KeyRing;
  repo: TestRepo;
}

/** Set up by the top-level before (keys) and the first suite's before (trust: it revokes a key after signing with it); later suites rely on both, so run the whole file. */
let w: World;

const pgp = (k: GpgKey, fakedTime?: string): Signing => ({ format: "openpgp", gpg: w.gpg, key: k.fingerprint, ...(fakedTime ? { fakedTime } : {}) });
const ssh = (k: SshKey): Signing => ({ format: "ssh", key: k });

async function verify(opts: { mode?: Mode; ref?: string; range?: string; policy?: string; repo?: TestRepo }): Promise<VerifyReport> {
  return runVerify({
    repoDir: (opts.repo ?? w.repo).dir,
    repoShown: ".",
    keyring: w.ring,
    keySources: [w.keyDir],
    mode: opts.mode ?? "HEAD",
    ref: opts.ref ?? null,
    range: opts.range ?? null,
    policy: opts.policy ? loadPolicyFile(opts.policy, "signers.yaml") : null,
  });
}

/** Verifies one commit in HEAD mode and checks the signature verdict against git verify-commit. */
async function commitVerdict(oid: string, repo = w.repo): Promise<ObjectVerdict> {
  const r = await verify({ ref: oid, repo });
  assert.equal(r.objects.length, 1);
  const v = r.objects[0]!;
  const git = repo.gitVerify("commit", oid, w.trust);
  assert.equal(v.signature.status === "good", git, `fluxguard says ${v.signature.status} (${v.signature.message}), git verify-commit says ${git ? "good" : "bad"}`);
  assert.equal(r.result, v.verdict);
  return v;
}

before(
  () => {
    if (skip) return;
    const gpg = new Gpg();
    const keys = {
      alice: gpg.genKey("Alice Platform", "alice@example.com", "ed25519"),
      bob: gpg.genKey("Bob Rsa", "bob@example.com", "rsa2048"),
      carol: gpg.genKey("Carol Payments", "carol@example.com", "nistp256"),
      mallory: gpg.genKey("Mallory", "mallory@example.com", "ed25519"),
      // Made in 2020 and expired in 2021: gpg's faked time.
      eve: gpg.genKey("Eve Expired", "eve@example.com", "ed25519", { expire: "1y", fakedTime: "20200101T000000" }),
      rick: gpg.genKey("Rick Revoked", "rick@example.com", "ed25519"),
      nora: gpg.genKey("Nora NoUid", "nora@example.com", "ed25519"),
    };
    const keyDir = tempDir("fg-keys-");
    const privDir = tempDir("fg-priv-");
    const sshKeys = {
      ed25519: sshKeygen(privDir, "dave", "ed25519"),
      p256: sshKeygen(privDir, "erin", "ecdsa-256"),
      p384: sshKeygen(privDir, "faye", "ecdsa-384"),
      p521: sshKeygen(privDir, "gus", "ecdsa-521"),
      rsa: sshKeygen(privDir, "hal", "rsa"),
      stranger: sshKeygen(privDir, "stranger", "ed25519"),
      expired: sshKeygen(privDir, "ivy", "ed25519"),
    };
    w = { gpg, keys, ssh: sshKeys, keyDir, trust: { gnupgHome: "", allowedSigners: join(keyDir, "allowed_signers") }, ring: { keys: [], warnings: [] }, repo: new TestRepo() };
    return undefined;
  },
  { timeout: 60_000 },
);

after(() => cleanup());

describe("verify against real signatures", { skip }, () => {
  const c: Record<string, string> = {};

  before(
    async () => {
      const { repo, keys: k, ssh: s, keyDir } = w;
      c.base = repo.commit("base", { "README.md": "hello\n" }, pgp(k.alice));
      c.rsa = repo.commit("rsa", { "a.txt": "rsa\n" }, pgp(k.bob));
      c.ed25519 = repo.commit("ed25519", { "a.txt": "ed\n" }, pgp(k.alice));
      c.ecdsa = repo.commit("ecdsa", { "a.txt": "ecdsa\n" }, pgp(k.carol));
      c.sshEd25519 = repo.commit("ssh ed25519", { "b.txt": "1\n" }, ssh(s.ed25519));
      c.sshP256 = repo.commit("ssh p256", { "b.txt": "2\n" }, ssh(s.p256));
      c.sshP384 = repo.commit("ssh p384", { "b.txt": "3\n" }, ssh(s.p384));
      c.sshP521 = repo.commit("ssh p521", { "b.txt": "4\n" }, ssh(s.p521));
      c.sshRsa = repo.commit("ssh rsa", { "b.txt": "5\n" }, ssh(s.rsa));
      c.untrustedPgp = repo.commit("mallory", { "c.txt": "1\n" }, pgp(k.mallory));
      c.untrustedSsh = repo.commit("stranger", { "c.txt": "2\n" }, ssh(s.stranger));
      c.expired = repo.commit("expired key", { "d.txt": "1\n" }, pgp(k.eve, "20200601T000000"));
      c.revoked = repo.commit("revoked key", { "d.txt": "2\n" }, pgp(k.rick));
      c.noUid = repo.commit("no user id", { "d.txt": "3\n" }, pgp(k.nora));
      c.sshExpired = repo.commit("ssh expired", { "d.txt": "4\n" }, ssh(s.expired));
      c.unsigned = repo.commit("unsigned", { "e.txt": "1\n" }, null);

      // Tampered: same signature, different message.
      const raw = repo.catFile(c.ed25519);
      c.tampered = repo.writeCommit(raw.replace("\ned25519\n", "\ned25519 (but not what was signed)\n"));
      const rawSsh = repo.catFile(c.sshEd25519);
      c.tamperedSsh = repo.writeCommit(rawSsh.replace("\nssh ed25519\n", "\nssh ed25519!\n"));
      // Garbage in the gpgsig header.
      const plain = repo.catFile(c.unsigned);
      const headerEnd = plain.indexOf("\n\n");
      c.garbage = repo.writeCommit(`${plain.slice(0, headerEnd)}\ngpgsig this is not a signature\n \x01\x02 still not${plain.slice(headerEnd)}`);
      // Truncated armor: the signature loses its last lines.
      const sigLines = raw.split("\n");
      const end = sigLines.findIndex((l) => l.includes("-----END PGP SIGNATURE-----"));
      c.truncated = repo.writeCommit([...sigLines.slice(0, end - 2), ...sigLines.slice(end + 1)].join("\n"));
      // Truncated in the middle of the base64 (END line kept): bad CRC / short packet.
      c.truncatedBody = repo.writeCommit([...sigLines.slice(0, end - 3), ...sigLines.slice(end - 1)].join("\n"));
      // x509 (gitsign-style) signature.
      c.x509 = repo.writeCommit(
        `${plain.slice(0, headerEnd)}\ngpgsig -----BEGIN SIGNED MESSAGE-----\n MIAGCSqGSIb3DQEHAqCAMIACAQExDTALBglghkgBZQMEAgEwgAYJKoZIhvcNAQcBAACg\n -----END SIGNED MESSAGE-----${plain.slice(headerEnd)}`,
      );
      // A signature made over different bytes (another commit's signature transplanted).
      const sigBlock = raw.slice(raw.indexOf("gpgsig "), raw.indexOf("-----END PGP SIGNATURE-----") + "-----END PGP SIGNATURE-----".length);
      c.transplanted = repo.writeCommit(`${plain.slice(0, headerEnd)}\n${sigBlock}${plain.slice(headerEnd)}`);

      // Trust: revoke Rick after his commit, strip Nora's user IDs.
      const revokedRick = w.gpg.revoke(k.rick.fingerprint);
      writeFileSync(join(keyDir, "alice.asc"), k.alice.armored);
      writeFileSync(join(keyDir, "bob.asc"), k.bob.armored);
      writeFileSync(join(keyDir, "carol.asc"), k.carol.armored);
      writeFileSync(join(keyDir, "eve.asc"), k.eve.armored);
      writeFileSync(join(keyDir, "rick.asc"), revokedRick);
      const noraBinary = spawnSync("gpg", ["--homedir", w.gpg.home, "--export", k.nora.fingerprint]).stdout;
      writeFileSync(join(keyDir, "nora.gpg"), stripUserIds(noraBinary));
      writeFileSync(
        join(keyDir, "allowed_signers"),
        [
          `dave@example.com namespaces="git" ${s.ed25519.publicLine}`,
          `erin@example.com ${s.p256.publicLine}`,
          `faye@example.com ${s.p384.publicLine}`,
          `gus@example.com ${s.p521.publicLine}`,
          `hal@example.com ${s.rsa.publicLine}`,
          `ivy@example.com valid-before="20230101" ${s.expired.publicLine}`,
          "",
        ].join("\n"),
      );
      const verifier = new Gpg();
      for (const f of ["alice.asc", "bob.asc", "carol.asc", "eve.asc", "rick.asc"]) verifier.import(readFileSync(join(keyDir, f), "utf8"));
      spawnSync("gpg", ["--homedir", verifier.home, "--batch", "--import"], { input: stripUserIds(noraBinary) });
      w.trust.gnupgHome = verifier.home;
      w.ring = await loadKeyRing({ paths: [keyDir], secrets: [], cwd: keyDir });
    },
    { timeout: 120_000 },
  );

  test("loads every kind of trusted key, and warns about the key with no user ID", () => {
    assert.equal(w.ring.keys.filter((k) => k.type === "openpgp").length, 6);
    assert.equal(w.ring.keys.filter((k) => k.type === "ssh").length, 6);
    assert.ok(w.ring.warnings.some((x) => x.includes("no user ID")));
  });

  test("valid OpenPGP signatures: RSA, EdDSA (ed25519) and ECDSA (P-256)", async () => {
    for (const [name, who] of [
      ["rsa", "Bob Rsa"],
      ["ed25519", "Alice Platform"],
      ["ecdsa", "Carol Payments"],
    ] as const) {
      const v = await commitVerdict(c[name]!);
      assert.equal(v.verdict, "pass", `${name}: ${v.message}`);
      assert.equal(v.reason, "Succeeded");
      assert.equal(v.fluxReason, "Succeeded");
      assert.equal(v.signature.type, "openpgp");
      assert.match(v.signer!.name, new RegExp(who));
    }
  });

  test("valid SSH signatures: ed25519, ecdsa P-256/384/521, rsa-sha2-512", async () => {
    for (const name of ["sshEd25519", "sshP256", "sshP384", "sshP521", "sshRsa"]) {
      const v = await commitVerdict(c[name]!);
      assert.equal(v.verdict, "pass", `${name}: ${v.message}`);
      assert.equal(v.signature.type, "ssh");
      assert.match(v.signer!.fingerprint, /^SHA256:/);
    }
  });

  test("a signature by an untrusted key fails with InvalidCommitSignature", async () => {
    for (const name of ["untrustedPgp", "untrustedSsh"]) {
      const v = await commitVerdict(c[name]!);
      assert.equal(v.verdict, "fail");
      assert.equal(v.reason, "InvalidCommitSignature");
      assert.equal(v.signature.status, "unknown-key");
      assert.equal(v.fluxReason, "InvalidCommitSignature");
    }
  });

  test("tampered commit content fails (OpenPGP and SSH)", async () => {
    for (const name of ["tampered", "tamperedSsh", "transplanted"]) {
      const v = await commitVerdict(c[name]!);
      assert.equal(v.verdict, "fail", name);
      assert.equal(v.reason, "InvalidCommitSignature");
      assert.equal(v.signature.status, "bad", `${name}: ${v.signature.message}`);
    }
  });

  test("an expired key fails with KeyExpired", async () => {
    const v = await commitVerdict(c.expired!);
    assert.equal(v.reason, "KeyExpired");
    assert.equal(v.fluxReason, "InvalidCommitSignature");
    assert.match(v.message, /expired on 2020-12-31/);
    const s = await commitVerdict(c.sshExpired!);
    assert.equal(s.reason, "KeyExpired");
    assert.match(s.message, /expired on 2023-01-01 \(valid-before\)/);
  });

  test("SSH valid-before is checked at verification time, not at the (signer-chosen) commit date", async () => {
    // git verify-commit passes -Overify-time=<committer date> to ssh-keygen, so a backdated commit
    // by an expired key passes git. fluxguard fails it: the committer date proves nothing.
    const dir = tempDir("fg-backdated-");
    const allowed = join(dir, "allowed_signers");
    writeFileSync(allowed, `ivy@example.com valid-before="20240101" ${w.ssh.expired.publicLine}\n`);
    const ring = await loadKeyRing({ paths: [allowed], secrets: [], cwd: dir });
    const r = await runVerify({ repoDir: w.repo.dir, repoShown: ".", keyring: ring, keySources: [], mode: "HEAD", ref: c.sshExpired!, range: null, policy: null });
    assert.equal(r.objects[0]!.reason, "KeyExpired");
    assert.equal(w.repo.gitVerify("commit", c.sshExpired!, { gnupgHome: w.trust.gnupgHome, allowedSigners: allowed }), true, "git accepts it");
  });

  test("a revoked key fails with KeyRevoked", async () => {
    const v = await commitVerdict(c.revoked!);
    assert.equal(v.reason, "KeyRevoked");
    assert.equal(v.signature.status, "revoked-key");
  });

  test("a key with no user ID gives a failing verdict, not a crash", async () => {
    const v = await commitVerdict(c.noUid!);
    assert.equal(v.verdict, "fail");
    assert.equal(v.signature.status, "unusable-key");
    assert.match(v.message, /no user ID/);
  });

  test("garbage, truncated armor and x509 get verdicts", async () => {
    const g = await commitVerdict(c.garbage!);
    assert.equal(g.reason, "InvalidCommitSignature");
    assert.match(g.message, /unsupported signature type/);
    for (const name of ["truncated", "truncatedBody"]) {
      const t = await commitVerdict(c[name]!);
      assert.equal(t.reason, "InvalidCommitSignature", name);
      assert.ok(["malformed", "bad"].includes(t.signature.status), `${name}: ${t.signature.status} ${t.signature.message}`);
    }
    const x = await commitVerdict(c.x509!);
    assert.equal(x.reason, "UnsupportedSignatureType");
    assert.equal(x.signature.type, "x509");
    assert.equal(x.fluxReason, "InvalidCommitSignature");
  });

  test("an unsigned HEAD commit fails with Flux's reason", async () => {
    const v = await commitVerdict(c.unsigned!);
    assert.equal(v.reason, "InvalidCommitSignature");
    assert.equal(v.signature.status, "unsigned");
  });
});

describe("ranges, merges, tags and policy", { skip }, () => {
  let repo: TestRepo;
  const c: Record<string, string> = {};
  let policyFile: string;

  before(
    () => {
      repo = new TestRepo();
      const { alice, carol } = w.keys;
      c.root = repo.commit("root", { "clusters/prod/platform/rbac.yaml": "a\n", "apps/payments/app.yaml": "a\n" }, pgp(alice));
      c.signed1 = repo.commit("payments change", { "apps/payments/app.yaml": "b\n" }, pgp(carol));
      c.unsignedMid = repo.commit("sneaky unsigned", { "clusters/prod/platform/rbac.yaml": "cluster-admin\n" }, null);
      c.tip = repo.commit("innocent signed tip", { "apps/payments/app.yaml": "c\n" }, pgp(alice));
      repo.git(["branch", "clean", c.signed1]);
      // A feature branch merged with a signed merge, and one merged without a signature.
      repo.git(["checkout", "-q", "-b", "feature", c.signed1]);
      c.feature = repo.commit("feature", { "apps/payments/feature.yaml": "x\n" }, pgp(carol));
      repo.git(["checkout", "-q", "clean"]);
      c.mainSide = repo.commit("platform on main", { "clusters/prod/platform/ns.yaml": "ns\n" }, pgp(alice));
      c.signedMerge = repo.merge("feature", "signed merge", pgp(alice));
      repo.git(["branch", "unsigned-merge", c.mainSide]);
      repo.git(["checkout", "-q", "unsigned-merge"]);
      c.unsignedMerge = repo.merge("feature", "unsigned merge", null);
      // Carol (payments) merges a platform change: the merge's diff against its first parent touches clusters/.
      repo.git(["checkout", "-q", "-b", "payments-merge", c.feature]);
      c.paymentsMerge = repo.merge("clean", "payments merges main", pgp(carol));
      // Carol touching the platform directly.
      repo.git(["checkout", "-q", "-b", "wrong-path", c.signed1]);
      c.wrongPath = repo.commit("payments edits platform", { "clusters/prod/platform/rbac.yaml": "payments was here\n" }, pgp(carol));
      c.unmatched = repo.commit("payments edits docs", { "docs/readme.md": "docs\n" }, pgp(carol));
      // Tags.
      repo.git(["checkout", "-q", "clean"]);
      repo.tag("v1.0.0", pgp(alice), c.signed1);
      repo.tag("v1.0.1-ssh", ssh(w.ssh.ed25519), c.signed1);
      repo.tag("v1.0.2-unsigned", "annotated", c.signed1);
      repo.tag("v1.0.3-light", "lightweight", c.signed1);
      repo.tag("v1.0.4-mallory", pgp(w.keys.mallory), c.signed1);
      repo.tag("v1.0.5-on-unsigned", pgp(alice), c.unsignedMid);
      policyFile = join(tempDir("fg-policy-"), "signers.yaml");
      writeFileSync(
        policyFile,
        [
          "version: 1",
          "groups:",
          "  platform: [alice@example.com]",
          "  payments:",
          "    - carol@example.com",
          "rules:",
          '  - paths: ["clusters/*/platform/**"]',
          "    groups: [platform]",
          '  - paths: ["apps/payments/**"]',
          "    groups: [payments, platform]",
          "default:",
          "  groups: [platform]",
          "",
        ].join("\n"),
      );
    },
    { timeout: 60_000 },
  );

  test("HEAD mode passes a signed tip over an unsigned commit (Flux's gap); the range fails", async () => {
    const head = await verify({ repo, ref: c.tip! });
    assert.equal(head.result, "pass");
    assert.ok(repo.gitVerify("commit", c.tip!, w.trust));
    const range = await verify({ repo, range: `${c.root}..${c.tip}` });
    assert.equal(range.result, "fail");
    assert.equal(range.summary.commits, 3);
    const bad = range.objects.filter((o) => o.verdict === "fail");
    assert.deepEqual(
      bad.map((o) => [o.oid, o.reason]),
      [[c.unsignedMid, "UnsignedCommitInRange"]],
    );
    assert.equal(bad[0]!.fluxReason, null, "Flux never looks at that commit");
    for (const o of range.objects) assert.equal(o.signature.status === "good", repo.gitVerify("commit", o.oid, w.trust), o.oid);
    const all = await verify({ repo, range: c.tip! });
    assert.equal(all.summary.commits, 4, "a range without .. covers all history");
  });

  test("merge commits are verified: a signed merge passes, an unsigned one fails", async () => {
    const ok = await verify({ repo, range: `${c.signed1}..${c.signedMerge}` });
    assert.equal(ok.result, "pass", ok.message);
    assert.equal(ok.summary.commits, 3);
    assert.ok(ok.objects.some((o) => o.oid === c.signedMerge && (o.parents?.length ?? 0) === 2));
    const bad = await verify({ repo, range: `${c.signed1}..${c.unsignedMerge}` });
    assert.equal(bad.result, "fail");
    assert.deepEqual(
      bad.objects.filter((o) => o.verdict === "fail").map((o) => o.oid),
      [c.unsignedMerge],
    );
    assert.equal(repo.gitVerify("commit", c.unsignedMerge!, w.trust), false);
    assert.equal(repo.gitVerify("commit", c.signedMerge!, w.trust), true);
  });

  test("Tag and TagAndHEAD modes, cross-checked with git verify-tag", async () => {
    const t = await verify({ repo, mode: "Tag", ref: "v1.0.0" });
    assert.equal(t.result, "pass", t.message);
    assert.deepEqual(t.objects.map((o) => o.type), ["tag"]);
    assert.equal(t.objects[0]!.name, "v1.0.0");
    assert.ok(repo.gitVerify("tag", "v1.0.0", w.trust));

    const both = await verify({ repo, mode: "TagAndHEAD", ref: "v1.0.0" });
    assert.deepEqual(both.objects.map((o) => [o.type, o.verdict]), [["tag", "pass"], ["commit", "pass"]]);

    const sshTag = await verify({ repo, mode: "Tag", ref: "v1.0.1-ssh" });
    assert.equal(sshTag.result, "pass", sshTag.message);
    assert.ok(repo.gitVerify("tag", "v1.0.1-ssh", w.trust));

    const unsigned = await verify({ repo, mode: "Tag", ref: "v1.0.2-unsigned" });
    assert.equal(unsigned.reason, "InvalidGitObject");
    assert.match(unsigned.objects[0]!.message, /cannot verify signature of tag 'v1.0.2-unsigned' since it is not signed/);
    assert.equal(repo.gitVerify("tag", "v1.0.2-unsigned", w.trust), false);

    const mallory = await verify({ repo, mode: "Tag", ref: "v1.0.4-mallory" });
    assert.equal(mallory.reason, "InvalidTagSignature");
    assert.equal(repo.gitVerify("tag", "v1.0.4-mallory", w.trust), false);

    const onUnsigned = await verify({ repo, mode: "TagAndHEAD", ref: "v1.0.5-on-unsigned" });
    assert.deepEqual(onUnsigned.objects.map((o) => [o.type, o.reason]), [["tag", "Succeeded"], ["commit", "InvalidCommitSignature"]]);
    assert.equal(onUnsigned.reason, "InvalidCommitSignature");
    // HEAD mode through a tag ref verifies the commit the tag points to.
    const headViaTag = await verify({ repo, mode: "HEAD", ref: "v1.0.5-on-unsigned" });
    assert.deepEqual(headViaTag.objects.map((o) => [o.oid, o.reason]), [[c.unsignedMid, "InvalidCommitSignature"]]);
  });

  test("Tag modes without a tag reference fail with InvalidVerificationMode", async () => {
    for (const [mode, ref] of [
      ["Tag", "clean"],
      ["TagAndHEAD", c.signed1!],
      ["Tag", "v1.0.3-light"],
    ] as const) {
      const r = await verify({ repo, mode, ref });
      assert.equal(r.result, "fail");
      assert.equal(r.reason, "InvalidVerificationMode", `${mode} ${ref}`);
      assert.match(r.message, /cannot verify tag object's signature if a tag reference is not specified/);
      assert.equal(r.objects.length, 0);
    }
  });

  test("policy: an allowed key for the wrong path fails with SignerNotAllowedForPath", async () => {
    const r = await verify({ repo, range: `${c.signed1}..${c.wrongPath}`, policy: policyFile });
    assert.equal(r.result, "fail");
    const v = r.objects[0]!;
    assert.equal(v.reason, "SignerNotAllowedForPath");
    assert.equal(v.signature.status, "good");
    assert.ok(repo.gitVerify("commit", c.wrongPath!, w.trust), "git accepts the signature: the policy is stricter");
    assert.deepEqual(v.policy!.violations, [{ path: "clusters/prod/platform/rbac.yaml", parents: [c.signed1], rule: 1, pattern: "clusters/*/platform/**", allowedGroups: ["platform"] }]);
    assert.deepEqual(v.signer!.groups, ["payments"]);
  });

  test("policy: unmatched paths fall to the explicit default", async () => {
    const r = await verify({ repo, range: `${c.wrongPath}..${c.unmatched}`, policy: policyFile });
    assert.equal(r.objects[0]!.reason, "SignerNotAllowedForPath");
    assert.deepEqual(r.objects[0]!.policy!.violations.map((v) => [v.path, v.rule]), [["docs/readme.md", "default"]]);
  });

  test("policy: allowed signers pass, and merges are checked against each parent", async () => {
    const ok = await verify({ repo, range: `${c.signed1}..${c.signedMerge}`, policy: policyFile });
    assert.equal(ok.result, "pass", JSON.stringify(ok.objects.map((o) => [o.subject, o.reason])));
    const merge = await verify({ repo, range: `${c.feature}..${c.paymentsMerge}`, policy: policyFile });
    const m = merge.objects.find((o) => o.oid === c.paymentsMerge)!;
    assert.equal(m.reason, "SignerNotAllowedForPath");
    assert.deepEqual(m.policy!.violations.map((v) => v.path), ["clusters/prod/platform/ns.yaml"]);
    assert.deepEqual(m.policy!.violations[0]!.parents, [c.feature]);
  });
});

describe("SHA-256 repositories", { skip }, () => {
  test("commits signed in a sha256 repository carry gpgsig-sha256 and verify", async () => {
    const repo = new TestRepo(join(tempDir("fg-sha256-"), "r"), ["--object-format=sha256"]);
    const a = repo.commit("a", { "a.txt": "1\n" }, pgp(w.keys.alice));
    const b = repo.commit("b", { "a.txt": "2\n" }, ssh(w.ssh.ed25519));
    assert.equal(a.length, 64);
    assert.match(repo.catFile(a), /^gpgsig-sha256 -----BEGIN PGP SIGNATURE-----/m);
    const r = await verify({ repo, range: b });
    assert.equal(r.result, "pass", r.message);
    assert.equal(r.summary.commits, 2);
    for (const o of r.objects) assert.equal(o.signature.status === "good", repo.gitVerify("commit", o.oid, w.trust));
    const tampered = repo.writeCommit(repo.catFile(b).replace("\nb\n", "\nB\n"));
    assert.equal((await commitVerdict(tampered, repo)).signature.status, "bad");
  });
});

describe("bad repositories are clear errors", { skip }, () => {
  test("missing ref, corrupt object and shallow clone", async () => {
    const repo = new TestRepo();
    const a = repo.commit("a", { "a.txt": "1\n" }, pgp(w.keys.alice));
    const b = repo.commit("b", { "a.txt": "2\n" }, pgp(w.keys.alice));
    const tip = repo.commit("c", { "a.txt": "3\n" }, pgp(w.keys.alice));
    await assert.rejects(verify({ repo, ref: "no-such-branch" }), (e: Error) => e instanceof GitError && /unknown revision 'no-such-branch'/.test(e.message));
    await assert.rejects(verify({ repo, range: "nope..HEAD" }), /unknown revision 'nope'/);

    const shallowDir = tempDir("fg-shallow-");
    spawnSync("git", ["clone", "-q", "--depth", "1", `file://${repo.dir}`, shallowDir], { env: repo.env() });
    const shallow = new TestRepo(shallowDir);
    assert.equal((await verify({ repo: shallow })).result, "pass", "HEAD mode only needs HEAD");
    await assert.rejects(verify({ repo: shallow, range: `${a}..HEAD` }), /missing from the repository \(this is a shallow clone\)/);
    await assert.rejects(verify({ repo: shallow, range: "HEAD" }), (e: Error) => /shallow clone/.test(e.message) && e instanceof GitError);

    const obj = join(repo.dir, ".git", "objects", b.slice(0, 2), b.slice(2));
    chmodSync(obj, 0o644);
    writeFileSync(obj, "this is not zlib data");
    await assert.rejects(verify({ repo, range: `${a}..${tip}` }), (e: Error) => e instanceof GitError && /corrupt|missing/.test(e.message));
    await assert.rejects(verify({ repo, ref: b }), (e: Error) => e instanceof GitError);

    const notRepo = tempDir("fg-notrepo-");
    mkdirSync(join(notRepo, "x"));
    await assert.rejects(verify({ repo: { dir: join(notRepo, "x") } as TestRepo }), /not a git repository/);
  });

  test("a huge signed commit gets a verdict", { timeout: 60_000 }, async () => {
    const repo = new TestRepo();
    const files: Record<string, string> = {};
    for (let i = 0; i < 1500; i++) files[`apps/payments/f${i}.yaml`] = `n: ${i}\n`;
    const base = repo.commit("base", {}, pgp(w.keys.alice));
    writeFileSync(join(repo.dir, "msg.txt"), `huge\n\n${"x".repeat(100)}\n`.repeat(40_000));
    for (const [p, content] of Object.entries(files)) {
      mkdirSync(join(repo.dir, p, ".."), { recursive: true });
      writeFileSync(join(repo.dir, p), content);
    }
    repo.git(["add", "-A", "apps"]);
    repo.git([...repo.signArgs(pgp(w.keys.carol)), "commit", "-q", "-S", "-F", "msg.txt"]);
    const tip = repo.head();
    const v = await commitVerdict(tip, repo);
    assert.equal(v.verdict, "pass");
    const policyFile = join(tempDir("fg-policy-"), "p.yaml");
    writeFileSync(policyFile, "version: 1\ngroups:\n  payments: [carol@example.com]\nrules:\n  - paths: [apps/payments/]\n    groups: [payments]\ndefault: deny\n");
    const r = await verify({ repo, range: `${base}..${tip}`, policy: policyFile });
    assert.equal(r.result, "pass", r.message);
    assert.equal(r.objects[0]!.policy!.changedPaths, 1500);
  });
});
