/** Key loading (files, directories, allowed_signers, Flux Secrets) and `keys check`. */
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { UsageError } from "../core/errors.js";
import { checkKeys } from "./keycheck.js";
import { loadKeyRing } from "./keys.js";
import { cleanup, Gpg, hasTools, sshKeygen, tempDir, type GpgKey, type SshKey } from "./testkit.js";

const skip = hasTools() ? false : "needs gpg and ssh-keygen";

let gpg: Gpg;
let alice: GpgKey;
let soon: GpgKey;
let old: GpgKey;
let revokedArmored: string;
let dave: SshKey;
let erin: SshKey;
let dir: string;

before(
  () => {
    if (skip) return;
    gpg = new Gpg();
    alice = gpg.genKey("Alice", "alice@example.com", "ed25519");
    soon = gpg.genKey("Soon", "soon@example.com", "ed25519", { expire: "10d" });
    old = gpg.genKey("Old", "old@example.com", "ed25519", { expire: "1y", fakedTime: "20190101T000000" });
    const rick = gpg.genKey("Rick", "rick@example.com", "ed25519");
    revokedArmored = gpg.revoke(rick.fingerprint);
    dir = tempDir("fg-keys-test-");
    const priv = tempDir("fg-keys-priv-");
    dave = sshKeygen(priv, "dave", "ed25519");
    erin = sshKeygen(priv, "erin", "ecdsa-256");
  },
  { timeout: 60_000 },
);
after(() => cleanup());

const b64 = (s: string): string => Buffer.from(s).toString("base64");

async function expectUsage(p: Promise<unknown>, re: RegExp): Promise<void> {
  await assert.rejects(p, (e: Error) => {
    assert.ok(e instanceof UsageError, `expected a UsageError, got ${e.name}: ${e.message}`);
    assert.match(e.message, re);
    return true;
  });
}

describe("key sources", { skip }, () => {
  test("a Flux Secret: .asc is PGP, .sshpub is SSH, no suffix falls back to PGP; data and stringData", async () => {
    const f = join(dir, "secret.yaml");
    writeFileSync(
      f,
      [
        "apiVersion: v1",
        "kind: Secret",
        "metadata:",
        "  name: pgp-public-keys",
        "  namespace: flux-system",
        "data:",
        `  alice.asc: ${b64(alice.armored)}`,
        `  dave.sshpub: ${b64(`${dave.publicLine}\n`)}`,
        `  legacy: ${b64(soon.armored)}`,
        "stringData:",
        "  erin.sshpub: |",
        `    ${erin.publicLine}`,
        "",
      ].join("\n"),
    );
    const ring = await loadKeyRing({ paths: [], secrets: [f], cwd: dir });
    const summary = ring.keys.map((k) => [k.type, k.source]);
    assert.deepEqual(summary, [
      ["openpgp", 'secret.yaml: Secret flux-system/pgp-public-keys key "alice.asc"'],
      ["ssh", 'secret.yaml: Secret flux-system/pgp-public-keys key "dave.sshpub" line 1'],
      ["ssh", 'secret.yaml: Secret flux-system/pgp-public-keys key "erin.sshpub" line 1'],
      ["openpgp", 'secret.yaml: Secret flux-system/pgp-public-keys key "legacy"'],
    ]);
    assert.equal(ring.keys[1]!.fingerprint, dave.fingerprint);
  });

  test("a malformed key in a Secret is an error naming the key and its line", async () => {
    const f = join(dir, "bad-secret.yaml");
    writeFileSync(f, ["apiVersion: v1", "kind: Secret", "metadata:", "  name: keys", "stringData:", "  ok.asc: |", ...alice.armored.trim().split("\n").map((l) => `    ${l}`), "  broken: not a key at all", ""].join("\n"));
    await expectUsage(loadKeyRing({ paths: [], secrets: [f], cwd: dir }), /bad-secret\.yaml:\d+:3: Secret keys key "broken": malformed OpenPGP key: .*read as PGP, as Flux does/);
    const g = join(dir, "bad-ssh-secret.yaml");
    writeFileSync(g, `kind: Secret\nmetadata: {name: keys}\nstringData:\n  x.sshpub: "ssh-ed25519 AAAAnotbase64!"\n`);
    await expectUsage(loadKeyRing({ paths: [], secrets: [g], cwd: dir }), /bad-ssh-secret\.yaml:4:3: Secret keys key "x.sshpub" line 1: malformed ssh-ed25519 key/);
    const h = join(dir, "not-b64.yaml");
    writeFileSync(h, `kind: Secret\nmetadata: {name: keys}\ndata:\n  a.asc: "%%%"\n`);
    await expectUsage(loadKeyRing({ paths: [], secrets: [h], cwd: dir }), /not-b64\.yaml:4:3: .*data values must be base64/);
    const i = join(dir, "no-secret.yaml");
    writeFileSync(i, "kind: ConfigMap\n");
    await expectUsage(loadKeyRing({ paths: [], secrets: [i], cwd: dir }), /no Secret in this file/);
  });

  test("allowed_signers with principals and options, authorized_keys, directories", async () => {
    const d = join(dir, "signers");
    mkdirSync(d);
    writeFileSync(join(d, "allowed_signers"), `# team\ndave@example.com,d@example.org namespaces="git,file" ${dave.publicLine}\n"erin@example.com" valid-after="20200101",valid-before="20991231" ${erin.publicLine}\n`);
    writeFileSync(join(d, "alice.asc"), alice.armored);
    writeFileSync(join(d, "README.md"), "not a key");
    const ak = join(dir, "authorized_keys");
    writeFileSync(ak, `no-pty ${dave.publicLine}\n`);
    const ring = await loadKeyRing({ paths: [d, ak], secrets: [], cwd: dir });
    assert.deepEqual(
      ring.keys.map((k) => [k.type, k.name, k.source]),
      [
        ["openpgp", "Alice <alice@example.com>", "signers/alice.asc"],
        ["ssh", "dave@example.com,d@example.org", "signers/allowed_signers:2"],
        ["ssh", "erin@example.com", "signers/allowed_signers:3"],
        ["ssh", "dave@example.com", "authorized_keys"],
      ],
    );
    const erinKey = ring.keys[2]!;
    assert.ok(erinKey.type === "ssh" && erinKey.validBefore?.getFullYear() === 2099);
    const daveKey = ring.keys[1]!;
    assert.ok(daveKey.type === "ssh" && daveKey.namespaces?.join() === "git,file");
  });

  test("malformed key files are clear errors naming the file and line", async () => {
    const f = join(dir, "bad_signers");
    writeFileSync(f, `dave@example.com ${dave.publicLine}\nerin@example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA==\n`);
    await expectUsage(loadKeyRing({ paths: [f], secrets: [], cwd: dir }), /^bad_signers:2: malformed ssh-ed25519 key/);
    const g = join(dir, "junk.pub");
    writeFileSync(g, "hello world\n");
    await expectUsage(loadKeyRing({ paths: [g], secrets: [], cwd: dir }), /^junk\.pub:1: not an SSH public key line/);
    const t = join(dir, "truncated.asc");
    writeFileSync(t, alice.armored.split("\n").slice(0, 5).join("\n"));
    await expectUsage(loadKeyRing({ paths: [t], secrets: [], cwd: dir }), /^truncated\.asc: malformed OpenPGP key: truncated armor/);
    const p = join(dir, "private.asc");
    writeFileSync(p, gpg.exportSecret(alice.fingerprint));
    await expectUsage(loadKeyRing({ paths: [p], secrets: [], cwd: dir }), /PRIVATE key/);
    await expectUsage(loadKeyRing({ paths: ["nope"], secrets: [], cwd: dir }), /key path not found: nope/);
    const ca = join(dir, "ca_signers");
    writeFileSync(ca, `*@example.com cert-authority ${dave.publicLine}\n`);
    await expectUsage(loadKeyRing({ paths: [ca], secrets: [], cwd: dir }), /cert-authority keys .* are not supported/);
  });
});

describe("keys check", { skip }, () => {
  test("reports expired, revoked and soon-expiring keys", async () => {
    const d = join(dir, "check");
    mkdirSync(d);
    writeFileSync(join(d, "1-alice.asc"), alice.armored);
    writeFileSync(join(d, "2-soon.asc"), soon.armored);
    writeFileSync(join(d, "3-old.asc"), old.armored);
    writeFileSync(join(d, "4-rick.asc"), revokedArmored);
    writeFileSync(join(d, "5-allowed_signers"), `dave@example.com valid-before="20200101" ${dave.publicLine}\nerin@example.com ${erin.publicLine}\n`);
    const ring = await loadKeyRing({ paths: [d], secrets: [], cwd: dir });
    const r = checkKeys(ring, { warnDays: 30 });
    assert.deepEqual(
      r.keys.map((k) => [k.name, k.status]),
      [
        ["Alice <alice@example.com>", "ok"],
        ["Soon <soon@example.com>", "expiring"],
        ["Old <old@example.com>", "expired"],
        ["Rick <rick@example.com>", "revoked"],
        ["dave@example.com", "expired"],
        ["erin@example.com", "ok"],
      ],
    );
    assert.equal(r.result, "fail");
    assert.deepEqual(r.summary, { keys: 6, ok: 2, expiring: 1, expired: 2, revoked: 1, unusable: 0 });
    const soonEntry = r.keys[1]!;
    assert.ok(soonEntry.daysLeft !== null && soonEntry.daysLeft >= 8 && soonEntry.daysLeft <= 10);
    assert.equal(checkKeys(ring, { warnDays: 5 }).keys[1]!.status, "ok");
    assert.equal(r.keys[2]!.expires?.slice(0, 10), "2020-01-01");
  });
});
