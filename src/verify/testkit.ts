/**
 * Test helpers for `fluxguard verify`: throwaway GNUPGHOMEs with generated keys, SSH keys from
 * ssh-keygen, and real repositories signed by `git commit -S` / `git tag -s`. Used by the tests
 * and the benchmark; nothing here runs in the CLI.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const created: string[] = [];
const agents: string[] = [];

export function tempDir(prefix = "fg-verify-"): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  created.push(d);
  return d;
}

/** Removes every temp dir and stops every gpg-agent this process started. */
export function cleanup(): void {
  for (const home of agents.splice(0)) spawnSync("gpgconf", ["--homedir", home, "--kill", "all"], { stdio: "ignore" });
  for (const d of created.splice(0)) rmSync(d, { recursive: true, force: true });
}

export function hasTools(): boolean {
  return ["git", "gpg", "ssh-keygen", "gpgconf"].every((t) => spawnSync("sh", ["-c", `command -v ${t}`]).status === 0);
}

export type PgpAlgo = "rsa2048" | "ed25519" | "nistp256" | "nistp384";

export interface GpgKey {
  fingerprint: string;
  keyId: string;
  uid: string;
  email: string;
  /** Armored public key. */
  armored: string;
}

/** A throwaway GNUPGHOME. */
export class Gpg {
  readonly home: string;
  constructor(home?: string) {
    this.home = home ?? tempDir("fg-gpg-");
    chmodSync(this.home, 0o700);
    agents.push(this.home);
  }

  run(args: string[], input?: string | Buffer): string {
    const r = spawnSync("gpg", ["--homedir", this.home, "--batch", "--no-tty", "--quiet", "--pinentry-mode", "loopback", "--passphrase", "", ...args], {
      input,
      encoding: "utf8",
      maxBuffer: 1 << 28,
    });
    if (r.status !== 0) throw new Error(`gpg ${args.join(" ")} failed: ${r.stderr}`);
    return r.stdout;
  }

  /** Generates a signing key; `fakedTime` (YYYYMMDDTHHMMSS) makes it in the past. */
  genKey(name: string, email: string, algo: PgpAlgo, opts: { expire?: string; fakedTime?: string } = {}): GpgKey {
    const uid = `${name} <${email}>`;
    const faked = opts.fakedTime ? ["--faked-system-time", `${opts.fakedTime}!`] : [];
    this.run([...faked, "--quick-gen-key", uid, algo, "sign", opts.expire ?? "never"]);
    const colons = this.run(["--with-colons", "--list-keys", `<${email}>`]);
    const fpr = /^fpr:+([0-9A-F]{40}):/m.exec(colons)?.[1];
    if (!fpr) throw new Error(`no fingerprint for ${uid}`);
    return { fingerprint: fpr, keyId: fpr.slice(-16), uid, email, armored: this.export(fpr) };
  }

  export(fpr: string): string {
    return this.run(["--armor", "--export", fpr]);
  }

  exportSecret(fpr: string): string {
    return this.run(["--armor", "--export-secret-keys", fpr]);
  }

  import(armored: string): void {
    this.run(["--import"], armored);
  }

  /** Revokes a key with the revocation certificate gpg made at generation; returns the new public key. */
  revoke(fpr: string): string {
    const file = join(this.home, "openpgp-revocs.d", `${fpr}.rev`);
    const cert = readFileSync(file, "utf8").replace(/^:-----BEGIN/m, "-----BEGIN");
    this.run(["--import"], cert);
    return this.export(fpr);
  }

  /** A gpg program for git that runs with this home (and optionally a faked time). */
  program(fakedTime?: string): string {
    const path = join(this.home, fakedTime ? `gpg-at-${fakedTime}.sh` : "gpg.sh");
    if (!existsSync(path)) {
      const faked = fakedTime ? ` --faked-system-time '${fakedTime}!'` : "";
      writeFileSync(path, `#!/bin/sh\nexec gpg --homedir '${this.home}'${faked} "$@"\n`);
      chmodSync(path, 0o755);
    }
    return path;
  }
}

export interface SshKey {
  /** Private key path (git's user.signingkey). */
  path: string;
  /** `type base64 comment`. */
  publicLine: string;
  fingerprint: string;
}

export function sshKeygen(dir: string, name: string, type: "ed25519" | "ecdsa-256" | "ecdsa-384" | "ecdsa-521" | "rsa"): SshKey {
  const path = join(dir, name);
  const args = type.startsWith("ecdsa") ? ["-t", "ecdsa", "-b", type.slice(6)] : type === "rsa" ? ["-t", "rsa", "-b", "2048"] : ["-t", "ed25519"];
  execFileSync("ssh-keygen", [...args, "-N", "", "-q", "-C", `${name}@example.com`, "-f", path]);
  const publicLine = readFileSync(`${path}.pub`, "utf8").trim();
  const fp = execFileSync("ssh-keygen", ["-l", "-E", "sha256", "-f", `${path}.pub`], { encoding: "utf8" }).split(" ")[1]!;
  return { path, publicLine, fingerprint: fp };
}

export type Signing = { format: "openpgp"; gpg: Gpg; key: string; fakedTime?: string } | { format: "ssh"; key: SshKey } | null;

/** A repository in a temp dir, with helpers that commit through real git. */
export class TestRepo {
  readonly dir: string;
  private tick = 0;
  constructor(dir?: string, initArgs: string[] = []) {
    this.dir = dir ?? tempDir("fg-repo-");
    mkdirSync(this.dir, { recursive: true });
    this.git(["init", "-q", "-b", "main", ...initArgs]);
  }

  env(): NodeJS.ProcessEnv {
    const t = 1_700_000_000 + this.tick++ * 60;
    return {
      ...process.env,
      HOME: this.dir,
      GIT_CONFIG_NOSYSTEM: "1",
      GIT_AUTHOR_NAME: "Test Author",
      GIT_AUTHOR_EMAIL: "author@example.com",
      GIT_COMMITTER_NAME: "Test Committer",
      GIT_COMMITTER_EMAIL: "committer@example.com",
      GIT_AUTHOR_DATE: `@${t} +0000`,
      GIT_COMMITTER_DATE: `@${t} +0000`,
      LC_ALL: "C",
    };
  }

  git(args: string[], opts: { input?: string | Buffer; env?: NodeJS.ProcessEnv; allowFail?: boolean } = {}): { status: number; stdout: string; stderr: string } {
    const r = spawnSync("git", ["-C", this.dir, ...args], { env: opts.env ?? this.env(), input: opts.input, encoding: "utf8", maxBuffer: 1 << 28 });
    if (r.status !== 0 && !opts.allowFail) throw new Error(`git ${args.join(" ")} failed: ${r.stderr}`);
    return { status: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
  }

  signArgs(s: Signing): string[] {
    if (!s) return [];
    if (s.format === "openpgp") return ["-c", "gpg.format=openpgp", "-c", `gpg.program=${s.gpg.program(s.fakedTime)}`, "-c", `user.signingkey=${s.key}`];
    return ["-c", "gpg.format=ssh", "-c", `user.signingkey=${s.key.path}`];
  }

  /** Writes files, commits them (signed when asked) and returns the commit id. */
  commit(message: string, files: Record<string, string>, signing: Signing): string {
    for (const [p, content] of Object.entries(files)) {
      const abs = join(this.dir, p);
      execFileSync("mkdir", ["-p", join(abs, "..")]);
      writeFileSync(abs, content);
    }
    this.git(["add", "-A"]);
    this.git([...this.signArgs(signing), "commit", "-q", "--allow-empty", ...(signing ? ["-S"] : ["--no-gpg-sign"]), "-m", message]);
    return this.head();
  }

  merge(branch: string, message: string, signing: Signing): string {
    this.git([...this.signArgs(signing), "merge", "-q", "--no-ff", ...(signing ? ["-S"] : ["--no-gpg-sign"]), "-m", message, branch]);
    return this.head();
  }

  tag(name: string, signing: Signing | "annotated" | "lightweight", target = "HEAD"): void {
    if (signing === "lightweight") this.git(["tag", name, target]);
    else if (signing === "annotated") this.git(["tag", "-a", "-m", `release ${name}`, name, target]);
    else this.git([...this.signArgs(signing), "tag", "-s", "-m", `release ${name}`, name, target]);
  }

  head(): string {
    return this.git(["rev-parse", "HEAD"]).stdout.trim();
  }

  catFile(oid: string): string {
    return this.git(["cat-file", "commit", oid]).stdout;
  }

  /** Writes a raw commit object (no format checks) and returns its id. */
  writeCommit(raw: string | Buffer): string {
    return this.git(["hash-object", "-t", "commit", "-w", "--literally", "--stdin"], { input: raw }).stdout.trim();
  }

  setRef(ref: string, oid: string): void {
    this.git(["update-ref", ref, oid]);
  }

  /** `git verify-commit` / `git verify-tag` with the given trust: a GNUPGHOME and an allowed signers file. */
  gitVerify(kind: "commit" | "tag", rev: string, trust: { gnupgHome: string; allowedSigners: string }): boolean {
    const env = { ...this.env(), GNUPGHOME: trust.gnupgHome };
    const r = spawnSync("git", ["-C", this.dir, "-c", `gpg.ssh.allowedSignersFile=${trust.allowedSigners}`, `verify-${kind}`, rev], { env, encoding: "utf8" });
    return r.status === 0;
  }
}

/** Strips every user ID (and its certifications) from an OpenPGP public key: a key gpg cannot import. */
export function stripUserIds(binary: Buffer): Buffer {
  const out: Buffer[] = [];
  let at = 0;
  let skipping = false;
  while (at < binary.length) {
    const start = at;
    const ctb = binary[at++]!;
    let tag: number;
    let len: number;
    if ((ctb & 0x40) !== 0) {
      tag = ctb & 0x3f;
      const o = binary[at++]!;
      if (o < 192) len = o;
      else if (o < 224) len = ((o - 192) << 8) + binary[at++]! + 192;
      else {
        len = binary.readUInt32BE(at);
        at += 4;
      }
    } else {
      tag = (ctb >> 2) & 0x0f;
      const lt = ctb & 3;
      const n = lt === 0 ? 1 : lt === 1 ? 2 : 4;
      len = n === 1 ? binary[at]! : n === 2 ? binary.readUInt16BE(at) : binary.readUInt32BE(at);
      at += n;
    }
    at += len;
    if (tag === 13 || tag === 17) skipping = true;
    else if (tag !== 2) skipping = false;
    if (!skipping) out.push(binary.subarray(start, at));
  }
  return Buffer.concat(out);
}

export function listFiles(dir: string): string[] {
  return readdirSync(dir).sort();
}
