/**
 * Git access for `fluxguard verify`: one long-lived `git cat-file --batch` process for every
 * object, one `git rev-list` for a range and one `git diff-tree --stdin` for changed paths.
 * Never a process per commit.
 *
 * Every git call runs with `--no-replace-objects` (refs/replace must not substitute what is
 * verified; go-git, which Flux uses, ignores replace refs too), `LC_ALL=C` and no prompts.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { UsageError } from "../core/errors.js";

export type ObjectType = "commit" | "tag" | "tree" | "blob";

export interface GitObject {
  oid: string;
  type: ObjectType;
  data: Buffer;
}

/** An error about the repository (missing ref, corrupt object, shallow history): exit 2. */
export class GitError extends UsageError {}

const OID_RE = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

export function gitEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, LC_ALL: "C", GIT_TERMINAL_PROMPT: "0", GIT_NO_REPLACE_OBJECTS: "1", ...extra };
  // The repository named on the command line wins over an inherited GIT_DIR (e.g. inside hooks
  // the caller passes --repo explicitly).
  delete env["GIT_DIR"];
  delete env["GIT_WORK_TREE"];
  delete env["GIT_INDEX_FILE"];
  return env;
}

function firstLine(s: string): string {
  return (
    s
      .split("\n")
      .map((l) => l.trim())
      .filter(Boolean)
      .find((l) => l.startsWith("fatal:") || l.startsWith("error:")) ??
    s.split("\n")[0]?.trim() ??
    ""
  );
}

export class GitRepo {
  readonly dir: string;
  /** The repository's .git directory (absolute). */
  readonly gitDir: string;
  private batch: CatFileBatch | null = null;

  private constructor(dir: string, gitDir: string) {
    this.dir = dir;
    this.gitDir = gitDir;
  }

  /** Opens a repository; a directory that is not a git repository is a usage error. */
  static open(dir: string, shown = dir): GitRepo {
    if (!existsSync(dir)) throw new GitError(`no such directory: ${shown}`, "pass the repository with --repo DIR");
    const r = spawnSync("git", ["--no-replace-objects", "-C", dir, "rev-parse", "--absolute-git-dir"], { env: gitEnv(), encoding: "utf8" });
    if (r.error) throw new GitError(`cannot run git: ${r.error.message}`, "install git (2.25 or newer) and make sure it is on PATH");
    if (r.status !== 0) throw new GitError(`not a git repository: ${shown}`, firstLine(r.stderr) || "pass the repository with --repo DIR");
    return new GitRepo(dir, r.stdout.trim());
  }

  /** Runs git synchronously for small answers (refs, config). */
  run(args: string[], input?: string): { status: number; stdout: string; stderr: string } {
    const r = spawnSync("git", ["--no-replace-objects", "-C", this.dir, ...args], {
      env: gitEnv(),
      encoding: "utf8",
      input,
      maxBuffer: 1 << 30,
    });
    if (r.error) throw new GitError(`cannot run git: ${r.error.message}`);
    return { status: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
  }

  /** Resolves a revision to an object id, peeling as asked; a missing ref is a clear error. */
  resolve(rev: string, peel: "" | "commit" | "tag" = ""): string {
    if (rev.startsWith("-") || rev.includes("\n") || rev === "") throw new GitError(`invalid revision '${rev}'`);
    const spec = peel ? `${rev}^{${peel}}` : rev;
    const r = this.run(["rev-parse", "--verify", "--end-of-options", spec]);
    const oid = r.stdout.trim();
    if (r.status !== 0 && CORRUPT_RE.test(r.stderr)) throw gitFailure("rev-parse", r.stderr);
    if (r.status !== 0 || !OID_RE.test(oid)) {
      const exists = this.run(["rev-parse", "--verify", "--quiet", "--end-of-options", rev]);
      if (exists.status === 0 && this.run(["cat-file", "-e", exists.stdout.trim()]).status !== 0) {
        throw new GitError(
          `'${rev}' names object ${exists.stdout.trim().slice(0, 12)}, which is missing from the repository${this.isShallow() ? " (this is a shallow clone)" : ""}`,
          "fetch the whole history (`git fetch --unshallow`, or `fetch-depth: 0` in actions/checkout)",
        );
      }
      if (exists.status === 0 && peel) {
        throw new GitError(`'${rev}' does not point to a ${peel}`, `\`git cat-file -t ${rev}\` shows what it is`);
      }
      throw new GitError(`unknown revision '${rev}'`, "fetch the ref first (CI checkouts often fetch one branch only; use fetch-depth: 0 and fetch tags)");
    }
    return oid;
  }

  /** The full ref name a revision resolves through (`refs/tags/v1`), or null for a bare id. */
  symbolicFullName(rev: string): string | null {
    const r = this.run(["rev-parse", "--verify", "--quiet", "--symbolic-full-name", "--end-of-options", rev]);
    const name = r.stdout.trim();
    return r.status === 0 && name.startsWith("refs/") ? name : null;
  }

  isShallow(): boolean {
    return this.shallowCommits().size > 0;
  }

  /** The boundary commits of a shallow clone: their parents are not in the repository. */
  shallowCommits(): Set<string> {
    const file = join(this.gitDir, "shallow");
    if (!existsSync(file)) return new Set();
    return new Set(
      readFileSync(file, "utf8")
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => OID_RE.test(l)),
    );
  }

  /**
   * Every commit reachable from `tip` and not from `base` (null: all history), merges included,
   * with parents, in `git rev-list` order (newest first). One process.
   */
  async revList(tip: string, base: string | null): Promise<{ oid: string; parents: string[] }[]> {
    const args = ["rev-list", "--parents", tip];
    if (base) args.push(`^${base}`);
    const out = await this.runAsync(args);
    const commits: { oid: string; parents: string[] }[] = [];
    for (const line of out.toString("latin1").split("\n")) {
      if (!line) continue;
      const [oid, ...parents] = line.split(" ");
      commits.push({ oid: oid!, parents });
    }
    const shallow = this.shallowCommits();
    if (shallow.size) {
      const cut = commits.find((c) => shallow.has(c.oid));
      if (cut) {
        throw new GitError(
          `shallow clone: the history below commit ${cut.oid.slice(0, 12)} is missing, so the range cannot be verified completely`,
          "fetch the whole history (`git fetch --unshallow`, or `fetch-depth: 0` in actions/checkout)",
        );
      }
    }
    return commits;
  }

  /**
   * Paths changed by each commit against each of its parents (a root commit against the empty
   * tree). One `git diff-tree --stdin` process for all of them. Returns, per commit, one entry
   * per parent in order.
   */
  async changedPaths(commits: { oid: string; parents: string[] }[]): Promise<Map<string, { parent: string | null; paths: string[] }[]>> {
    const lines: { oid: string; parent: string | null }[] = [];
    for (const c of commits) {
      if (c.parents.length === 0) lines.push({ oid: c.oid, parent: null });
      for (const p of c.parents) lines.push({ oid: c.oid, parent: p });
    }
    const result = new Map<string, { parent: string | null; paths: string[] }[]>();
    if (lines.length === 0) return result;
    const input = lines.map((l) => (l.parent ? `${l.oid} ${l.parent}` : l.oid)).join("\n") + "\n";
    // Raw output, NUL-separated: a header `<oid>\0` per input line (--always), then for every
    // change `:<modes> <ids> <status>\0<path>\0`. Paths are never mistaken for headers.
    const out = await this.runAsync(["diff-tree", "--stdin", "-r", "-z", "--root", "--no-renames", "--always", "--no-ext-diff"], input);
    const tokens = out.toString("utf8").split("\0");
    let i = 0;
    let current: { parent: string | null; paths: string[] } | null = null;
    let lineIndex = 0;
    while (i < tokens.length) {
      const t = tokens[i]!;
      if (t === "" && i === tokens.length - 1) break;
      if (t.startsWith(":")) {
        const path = tokens[i + 1];
        if (current === null || path === undefined) throw new GitError("unexpected output from git diff-tree");
        current.paths.push(path);
        i += 2;
        continue;
      }
      const header = t.replace(/^\n/, "");
      const expected = lines[lineIndex];
      if (!expected || header !== expected.oid) throw new GitError(`unexpected output from git diff-tree (got '${header.slice(0, 40)}')`);
      current = { parent: expected.parent, paths: [] };
      const list = result.get(expected.oid) ?? [];
      list.push(current);
      result.set(expected.oid, list);
      lineIndex++;
      i++;
    }
    if (lineIndex !== lines.length) throw new GitError(`git diff-tree answered for ${lineIndex} of ${lines.length} commits`);
    return result;
  }

  /** Reads one object through the shared `git cat-file --batch` process. */
  readObject(oid: string): Promise<GitObject> {
    this.batch ??= new CatFileBatch(this);
    return this.batch.read(oid);
  }

  close(): void {
    this.batch?.close();
    this.batch = null;
  }

  runAsync(args: string[], input?: string): Promise<Buffer> {
    return new Promise((resolveP, reject) => {
      const child = spawn("git", ["--no-replace-objects", "-C", this.dir, ...args], { env: gitEnv(), stdio: ["pipe", "pipe", "pipe"] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on("data", (b: Buffer) => out.push(b));
      child.stderr.on("data", (b: Buffer) => err.push(b));
      child.on("error", (e) => reject(new GitError(`cannot run git: ${e.message}`)));
      child.on("close", (code) => {
        if (code === 0) resolveP(Buffer.concat(out));
        else reject(gitFailure(args[0]!, Buffer.concat(err).toString("utf8")));
      });
      child.stdin.on("error", () => undefined);
      child.stdin.end(input ?? "");
    });
  }
}

const CORRUPT_RE = /corrupt|inflate|bad object|invalid object|unable to parse|hash mismatch|loose object|unable to unpack/i;

function gitFailure(cmd: string, stderr: string): GitError {
  const line = firstLine(stderr);
  if (CORRUPT_RE.test(stderr)) {
    return new GitError(`corrupt repository: git ${cmd}: ${line}`, "run `git fsck` to find the damaged objects, then re-clone");
  }
  if (/shallow|grafted/i.test(stderr)) {
    return new GitError(`git ${cmd}: ${line}`, "fetch the whole history (`git fetch --unshallow`)");
  }
  return new GitError(`git ${cmd} failed: ${line || "no message"}`);
}

interface Pending {
  oid: string;
  resolve: (o: GitObject) => void;
  reject: (e: Error) => void;
}

/** A `git cat-file --batch` process; requests are pipelined and answered in order. */
class CatFileBatch {
  private child: ChildProcessWithoutNullStreams;
  private queue: Pending[] = [];
  private chunks: Buffer[] = [];
  private buffered = 0;
  private stderr = "";
  private failed: Error | null = null;

  constructor(repo: GitRepo) {
    this.child = spawn("git", ["--no-replace-objects", "-C", repo.dir, "cat-file", "--batch"], { env: gitEnv(), stdio: ["pipe", "pipe", "pipe"] });
    this.child.stdout.on("data", (b: Buffer) => {
      this.chunks.push(b);
      this.buffered += b.length;
      this.drain();
    });
    this.child.stderr.on("data", (b: Buffer) => {
      this.stderr += b.toString("utf8");
    });
    this.child.on("error", (e) => this.fail(new GitError(`cannot run git cat-file: ${e.message}`)));
    this.child.on("close", (code) => {
      if (this.queue.length) this.fail(code === 0 ? new GitError("git cat-file ended early") : gitFailure("cat-file", this.stderr));
    });
    this.child.stdin.on("error", () => undefined);
  }

  read(oid: string): Promise<GitObject> {
    if (this.failed) return Promise.reject(this.failed);
    if (!OID_RE.test(oid)) return Promise.reject(new GitError(`not an object id: '${oid}'`));
    return new Promise((resolve, reject) => {
      this.queue.push({ oid, resolve, reject });
      this.child.stdin.write(`${oid}\n`);
    });
  }

  close(): void {
    this.child.stdin.end();
    if (this.queue.length === 0) this.child.kill();
  }

  private fail(e: Error): void {
    this.failed = e;
    for (const p of this.queue.splice(0)) p.reject(e);
  }

  private buffer(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks, this.buffered)];
    return this.chunks[0] ?? Buffer.alloc(0);
  }

  /** Header of the answer being received, once read: body bytes are awaited without copying. */
  private current: { header: string; start: number; size: number } | null = null;

  private drain(): void {
    while (this.queue.length) {
      if (this.current && this.buffered < this.current.start + this.current.size + 1) return;
      const buf = this.buffer();
      if (!this.current) {
        const nl = buf.indexOf(10);
        if (nl < 0) return;
        const header = buf.subarray(0, nl).toString("latin1");
        const parts = header.split(" ");
        if (parts[1] === "missing" || parts[1] === "ambiguous") {
          this.consume(nl + 1);
          const p = this.queue.shift()!;
          p.reject(new GitError(`object ${p.oid} is missing from the repository`, "the clone may be shallow or incomplete; fetch the whole history, or run `git fsck`"));
          continue;
        }
        const size = Number(parts[2]);
        if (parts.length !== 3 || !Number.isSafeInteger(size)) {
          this.fail(new GitError(`unexpected output from git cat-file: '${header.slice(0, 80)}'`));
          return;
        }
        this.current = { header, start: nl + 1, size };
        if (buf.length < nl + 1 + size + 1) return;
      }
      const { header, start, size } = this.current;
      const parts = header.split(" ");
      const data = Buffer.from(buf.subarray(start, start + size));
      this.consume(start + size + 1);
      this.current = null;
      const p = this.queue.shift()!;
      p.resolve({ oid: parts[0]!, type: parts[1] as ObjectType, data });
    }
  }

  private consume(n: number): void {
    const buf = this.buffer();
    const rest = buf.subarray(n);
    this.chunks = rest.length ? [rest] : [];
    this.buffered = rest.length;
  }
}
