/**
 * `npm run bench -- verify`: verification of a 10,000-commit range of OpenPGP-signed commits
 * (merges included), against `git log --show-signature` and a `git verify-commit` loop over the
 * same range, in the same run.
 *
 * The repository is built once and cached under ~/.cache/fluxguard-bench/ (delete it to rebuild):
 * history through `git fast-import`, then every commit signed with an ed25519 key that gpg
 * generated, exactly as `git commit -S` would lay it out (a `gpgsig` header over the commit
 * without it), and written as objects.
 *
 * Environment: FLUXGUARD_BENCH_COMMITS (default 10000), FLUXGUARD_BENCH_VERIFY_COMMIT (how many
 * commits the verify-commit loop covers; default all of them), FLUXGUARD_BENCH_GIT=0 (skip the
 * git baselines, for a quick look at fluxguard alone).
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { deflateSync } from "node:zlib";
import { createMessage, readPrivateKey, sign } from "openpgp";
import { GitRepo } from "../src/verify/git.js";
import { loadKeyRing } from "../src/verify/keys.js";
import { runVerify } from "../src/verify/verify.js";

const COMMITS = Number(process.env["FLUXGUARD_BENCH_COMMITS"] ?? 10_000);
const CACHE = join(homedir(), ".cache", "fluxguard-bench", `verify-${COMMITS}-v1`);
const here = dirname(fileURLToPath(import.meta.url));
const CLI = join(here, "..", "src", "bin", "fluxguard.js");

interface Meta {
  base: string;
  tip: string;
  commits: number;
  merges: number;
}

function sh(cmd: string, args: string[], opts: { cwd?: string; input?: string | Buffer; env?: NodeJS.ProcessEnv } = {}): string {
  const r = spawnSync(cmd, args, { cwd: opts.cwd, input: opts.input, env: opts.env ?? process.env, encoding: "utf8", maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.slice(0, 3).join(" ")} failed: ${r.stderr}`);
  return r.stdout;
}

/** git with no system or user configuration: an empty global config file beside the gnupg home. */
function gitEnv(gnupg: string): NodeJS.ProcessEnv {
  const globalConfig = join(gnupg, "..", "gitconfig");
  if (!existsSync(globalConfig)) writeFileSync(globalConfig, "");
  return { ...process.env, GNUPGHOME: gnupg, GIT_CONFIG_NOSYSTEM: "1", GIT_CONFIG_GLOBAL: globalConfig, LC_ALL: "C" };
}

async function build(): Promise<Meta> {
  const tmp = `${CACHE}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  const gnupg = join(tmp, "gnupg");
  const repo = join(tmp, "repo");
  mkdirSync(gnupg, { recursive: true, mode: 0o700 });
  mkdirSync(repo, { recursive: true });
  const gpg = (args: string[], input?: string): string => sh("gpg", ["--homedir", gnupg, "--batch", "--no-tty", "--quiet", "--pinentry-mode", "loopback", "--passphrase", "", ...args], { ...(input ? { input } : {}) });
  console.log(`building a ${COMMITS}-commit signed repository in ${CACHE} (once)…`);
  gpg(["--quick-gen-key", "Bench Signer <bench@example.com>", "ed25519", "sign", "never"]);
  const fpr = /^fpr:+([0-9A-F]{40}):/m.exec(gpg(["--with-colons", "--list-keys", "bench@example.com"]))![1]!;
  writeFileSync(join(tmp, "signer.asc"), gpg(["--armor", "--export", fpr]));
  const secret = await readPrivateKey({ armoredKey: gpg(["--armor", "--export-secret-keys", fpr]) });
  spawnSync("gpgconf", ["--homedir", gnupg, "--kill", "all"]);

  // History: a main line with a side-branch merge every 100 commits. COMMITS + 1 commits, so
  // that root..tip holds exactly COMMITS.
  const env = gitEnv(gnupg);
  sh("git", ["init", "-q", "-b", "main", repo], { env });
  const parts: string[] = [];
  let mark = 0;
  let prevMain = 0;
  let merges = 0;
  let made = 0;
  const data = (s: string): string => `data ${Buffer.byteLength(s)}\n${s}\n`;
  const commit = (ref: string, msg: string, from: number, merge: number | null, file: string | null): number => {
    mark++;
    made++;
    const t = 1_700_000_000 + made * 60;
    parts.push(`commit ${ref}\nmark :${mark}\nauthor Bench Author <author@example.com> ${t} +0000\ncommitter Bench Signer <bench@example.com> ${t} +0000\n${data(msg)}`);
    if (from) parts.push(`from :${from}\n`);
    if (merge) parts.push(`merge :${merge}\n`);
    if (file) parts.push(`M 100644 inline ${file}\n${data(`replicas: ${made}\nimage: app:${made}\n`)}`);
    parts.push("\n");
    return mark;
  };
  prevMain = commit("refs/heads/main", "root", 0, null, "README.md");
  while (made < COMMITS + 1) {
    if (made % 100 === 99 && made + 2 <= COMMITS + 1) {
      const side = commit("refs/heads/side", `side change ${made}`, prevMain, null, `apps/side/s${made % 7}.yaml`);
      prevMain = commit("refs/heads/main", `Merge side ${made}`, prevMain, side, null);
      merges++;
    } else {
      prevMain = commit("refs/heads/main", `change ${made}\n\nA realistic body line or two.`, prevMain, null, `apps/app-${made % 50}/deploy.yaml`);
    }
  }
  sh("git", ["-C", repo, "fast-import", "--quiet"], { input: parts.join(""), env });

  // Sign every commit, oldest first, rewriting parent ids as we go.
  const g = GitRepo.open(repo);
  const order = sh("git", ["-C", repo, "rev-list", "--reverse", "--topo-order", "main"], { env }).trim().split("\n");
  const map = new Map<string, string>();
  const objects = join(repo, ".git", "objects");
  let i = 0;
  for (const oid of order) {
    const raw = (await g.readObject(oid)).data.toString("utf8");
    const rewritten = raw.replace(/^parent ([0-9a-f]{40})$/gm, (_m, p: string) => `parent ${map.get(p)!}`);
    const sig = (await sign({ message: await createMessage({ binary: Buffer.from(rewritten, "utf8") }), signingKeys: secret, detached: true, format: "armored" })) as string;
    const headerEnd = rewritten.indexOf("\n\n");
    const gpgsig = `gpgsig ${sig.trimEnd().split("\n").join("\n ")}\n`;
    const signed = Buffer.from(`${rewritten.slice(0, headerEnd + 1)}${gpgsig}${rewritten.slice(headerEnd + 1)}`, "utf8");
    const full = Buffer.concat([Buffer.from(`commit ${signed.length}\0`), signed]);
    const id = createHash("sha1").update(full).digest("hex");
    mkdirSync(join(objects, id.slice(0, 2)), { recursive: true });
    writeFileSync(join(objects, id.slice(0, 2), id.slice(2)), deflateSync(full));
    map.set(oid, id);
    if (++i % 1000 === 0) process.stdout.write(`  signed ${i}/${order.length}\n`);
  }
  g.close();
  const tip = map.get(order[order.length - 1]!)!;
  const base = map.get(order[0]!)!;
  sh("git", ["-C", repo, "update-ref", "refs/heads/main", tip], { env });
  sh("git", ["-C", repo, "update-ref", "-d", "refs/heads/side"], { env });
  sh("git", ["-C", repo, "reflog", "expire", "--expire=now", "--all"], { env });
  sh("git", ["-C", repo, "gc", "-q", "--prune=now"], { env });
  const meta: Meta = { base, tip, commits: COMMITS, merges };
  writeFileSync(join(tmp, "meta.json"), JSON.stringify(meta, null, 2));
  rmSync(CACHE, { recursive: true, force: true });
  mkdirSync(dirname(CACHE), { recursive: true });
  renameSync(tmp, CACHE);
  return meta;
}

function time<T>(f: () => T): { ms: number; value: T } {
  const t = process.hrtime.bigint();
  const value = f();
  return { ms: Number(process.hrtime.bigint() - t) / 1e6, value };
}

async function timeAsync<T>(f: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t = process.hrtime.bigint();
  const value = await f();
  return { ms: Number(process.hrtime.bigint() - t) / 1e6, value };
}

const fmt = (ms: number): string => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(0)} ms`);

export async function run(): Promise<void> {
  for (const tool of ["git", "gpg"]) {
    if (spawnSync(tool, ["--version"]).status !== 0) {
      console.log(`skipped: ${tool} is not installed`);
      return;
    }
  }
  const meta: Meta = existsSync(join(CACHE, "meta.json")) ? (JSON.parse(readFileSync(join(CACHE, "meta.json"), "utf8")) as Meta) : await build();
  const repo = join(CACHE, "repo");
  const gnupg = join(CACHE, "gnupg");
  const env = gitEnv(gnupg);
  const range = `${meta.base}..${meta.tip}`;
  console.log(`range: ${meta.commits} signed commits (${meta.merges} merges), ed25519 OpenPGP key, ${CACHE}`);

  // fluxguard, in process (the library), then as a CLI process (startup included).
  const ring = await loadKeyRing({ paths: [join(CACHE, "signer.asc")], secrets: [], cwd: CACHE });
  const lib = await timeAsync(() => runVerify({ repoDir: repo, repoShown: repo, keyring: ring, keySources: [], mode: "HEAD", ref: null, range, policy: null }));
  if (lib.value.result !== "pass" || lib.value.summary.commits !== meta.commits) throw new Error(`unexpected verdict: ${lib.value.message}`);
  const cli = time(() => spawnSync(process.execPath, [CLI, "verify", "--repo", repo, "--keys", join(CACHE, "signer.asc"), "--range", range, "--quiet"], { encoding: "utf8" }));
  if (cli.value.status !== 0) throw new Error(`fluxguard verify failed: ${cli.value.stdout}${cli.value.stderr}`);

  // With a signer policy: adds one git diff-tree for the changed paths of every commit.
  const policyFile = join(CACHE, "signers.yaml");
  writeFileSync(policyFile, "version: 1\ngroups:\n  bench: [bench@example.com]\nrules:\n  - paths: [apps/]\n    groups: [bench]\ndefault: {groups: [bench]}\n");
  const withPolicy = time(() =>
    spawnSync(process.execPath, [CLI, "verify", "--repo", repo, "--keys", join(CACHE, "signer.asc"), "--range", range, "--policy", policyFile, "--quiet"], { encoding: "utf8" }),
  );
  if (withPolicy.value.status !== 0) throw new Error(`fluxguard verify --policy failed: ${withPolicy.value.stdout}${withPolicy.value.stderr}`);
  if (process.env["FLUXGUARD_BENCH_GIT"] === "0") {
    console.log(`fluxguard verify: library ${fmt(lib.ms)}, CLI ${fmt(cli.ms)}, CLI with --policy ${fmt(withPolicy.ms)} (git baselines skipped: FLUXGUARD_BENCH_GIT=0)`);
    return;
  }

  // git log --show-signature over the same range (one gpg process per commit).
  const log = time(() => sh("git", ["-C", repo, "log", "--show-signature", "--format=%H", range], { env }));
  const good = (log.value.match(/Good signature/g) ?? []).length;
  if (good !== meta.commits) throw new Error(`git log --show-signature found ${good} good signatures, expected ${meta.commits}`);

  // A git verify-commit loop (one git + one gpg process per commit).
  const oids = sh("git", ["-C", repo, "rev-list", range], { env }).trim().split("\n");
  const n = Math.min(oids.length, Number(process.env["FLUXGUARD_BENCH_VERIFY_COMMIT"] ?? oids.length));
  let retries = 0;
  const loop = time(() => {
    for (const oid of oids.slice(0, n)) {
      // gpg now and then fails on a trustdb lock when other gpg processes run: retry once.
      for (let attempt = 0; ; attempt++) {
        const r = spawnSync("git", ["-C", repo, "verify-commit", oid], { env, encoding: "utf8" });
        if (r.status === 0) break;
        if (attempt === 1) throw new Error(`git verify-commit ${oid} failed: ${r.stderr}`);
        retries++;
      }
    }
  });
  const loopMs = (loop.ms * oids.length) / n;

  const rows: [string, number, string][] = [
    ["fluxguard verify (library)", lib.ms, ""],
    ["fluxguard verify (CLI process)", cli.ms, ""],
    ["fluxguard verify --policy (CLI)", withPolicy.ms, ""],
    ["git log --show-signature", log.ms, ""],
    ["git verify-commit loop", loopMs, `${n < oids.length ? ` (${n} commits timed, extrapolated)` : ""}${retries ? ` (${retries} retried)` : ""}`],
  ];
  console.log("");
  console.log(`${"what".padEnd(32)}  ${"time".padStart(9)}  ${"commits/s".padStart(10)}  vs fluxguard CLI`);
  for (const [name, ms, note] of rows) {
    console.log(`${name.padEnd(32)}  ${fmt(ms).padStart(9)}  ${((meta.commits * 1000) / ms).toFixed(0).padStart(10)}  ${(ms / cli.ms).toFixed(2).padStart(6)}×${note}`);
  }
  console.log("");
  console.log(`ratio: fluxguard verify is ${(log.ms / cli.ms).toFixed(1)}× faster than git log --show-signature (goal ≥ 5×), ${(loopMs / cli.ms).toFixed(1)}× faster than a git verify-commit loop`);
}
