/**
 * A pool of `fluxguard-kustomize` processes (tools/kustomize-server): kustomize builds over a
 * pipe instead of one `kustomize build` process per batch. The server links the kustomize API
 * at the version Flux's kustomize-controller uses and has every plugin disabled.
 *
 * Protocol (see tools/kustomize-server/main.go): write one line of JSON (the request); read
 * "ok <n>\n" or "err <n>\n" and n bytes of JSON objects or error text. One request per
 * process at a time.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { kustomizeEnv } from "./kustomize.js";

interface Pending {
  resolve: (yaml: string) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/** Pipes to a child are sockets, which can be (un)referenced. */
interface Refable {
  ref?: () => void;
  unref?: () => void;
}

/** One server process. */
class ServerProcess {
  private readonly child: ChildProcessWithoutNullStreams;
  private chunks: Buffer[] = [];
  private size = 0;
  private pending: Pending | null = null;
  private stderr = "";
  dead = false;
  /** Resolves when the process has exited. */
  readonly exited: Promise<void>;

  constructor(command: string) {
    this.child = spawn(command, [], {
      stdio: ["pipe", "pipe", "pipe"],
      env: kustomizeEnv(process.env),
    });
    this.child.stdout.on("data", (c: Buffer) => {
      this.chunks.push(c);
      this.size += c.length;
      this.drain();
    });
    this.child.stderr.on("data", (c: Buffer) => {
      this.stderr = (this.stderr + c.toString("utf8")).slice(-2000);
    });
    this.child.on("error", (e) => this.fail(new Error(`cannot run ${command}: ${e.message}`)));
    // A process that could not start emits 'error' and never 'exit'.
    this.exited = new Promise((resolve) => {
      this.child.once("exit", () => resolve());
      this.child.once("error", () => resolve());
    });
    this.child.on("exit", (code, signal) => this.fail(new Error(`${command} exited (${signal ?? `code ${code}`})${this.stderr ? `: ${this.stderr.trim().split("\n").pop()}` : ""}`)));
    this.child.stdin.on("error", () => {
      /* reported by 'exit' */
    });
    this.idle();
  }

  build(request: string, timeoutMs: number): Promise<string> {
    if (this.dead) return Promise.reject(new Error("kustomize server is not running"));
    if (this.pending) return Promise.reject(new Error("kustomize server is busy"));
    if (request.includes("\n")) return Promise.reject(new Error("a request must be one line"));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.fail(new Error(`kustomize build timed out after ${Math.round(timeoutMs / 1000)} s`));
        this.child.kill("SIGKILL");
      }, timeoutMs);
      this.pending = { resolve, reject, timer };
      this.busy();
      this.child.stdin.write(`${request}\n`);
    });
  }

  /** Ends stdin (the server exits on EOF); kills it if it has not gone within `graceMs`. */
  close(graceMs = 2000): Promise<void> {
    this.dead = true;
    this.child.stdin.end();
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.resolve();
    // Waiting for the exit must keep Node alive (an idle process is unreferenced).
    this.child.ref();
    const timer = setTimeout(() => this.child.kill("SIGKILL"), graceMs);
    return this.exited.then(() => clearTimeout(timer));
  }

  /** While idle, the process must not keep Node alive; while busy it must. */
  private idle(): void {
    this.child.unref();
    for (const s of [this.child.stdout, this.child.stderr, this.child.stdin]) (s as unknown as Refable).unref?.();
  }

  private busy(): void {
    this.child.ref();
    (this.child.stdout as unknown as Refable).ref?.();
  }

  private drain(): void {
    if (!this.pending) return;
    const buf = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.size);
    this.chunks = [buf];
    const nl = buf.indexOf(10);
    if (nl < 0) return;
    const m = /^(ok|err) (\d+)$/.exec(buf.subarray(0, nl).toString("latin1"));
    if (!m) {
      this.fail(new Error(`kustomize server protocol error: ${JSON.stringify(buf.subarray(0, Math.min(nl, 80)).toString("utf8"))}`));
      this.child.kill("SIGKILL");
      return;
    }
    const n = Number(m[2]);
    if (buf.length < nl + 1 + n) return;
    const body = buf.subarray(nl + 1, nl + 1 + n).toString("utf8");
    const rest = buf.subarray(nl + 1 + n);
    this.chunks = rest.length ? [rest] : [];
    this.size = rest.length;
    const p = this.pending;
    this.pending = null;
    clearTimeout(p.timer);
    this.idle();
    if (m[1] === "ok") p.resolve(body);
    // kustomize's messages span lines (a config block, then the reason): keep them, on one line.
    else p.reject(new Error(body.replace(/\s*\n\s*/g, " ").trim().slice(0, 8000) || "kustomize failed"));
  }

  private fail(e: Error): void {
    this.dead = true;
    const p = this.pending;
    this.pending = null;
    if (p) {
      clearTimeout(p.timer);
      p.reject(e);
    }
    this.idle();
  }
}

/** Up to `size` server processes, started on demand, each serving one build at a time. */
export class KustomizeServerPool {
  private readonly free: ServerProcess[] = [];
  private readonly all: ServerProcess[] = [];
  private readonly waiting: Array<(p: ServerProcess) => void> = [];

  constructor(
    private readonly command: string,
    private readonly size: number,
  ) {}

  /**
   * Starts up to `n` server processes now (never more than the pool's size), so their start-up
   * (the server warms kustomize up before it reads a request) overlaps what the caller does
   * before its first build.
   */
  prestart(n: number): void {
    while (this.all.filter((p) => !p.dead).length < Math.min(n, this.size)) {
      const p = new ServerProcess(this.command);
      this.all.push(p);
      this.free.push(p);
    }
  }

  /** Sends one request line (JSON, see the protocol above); resolves with the response body. */
  async build(request: string, timeoutMs = 60_000): Promise<string> {
    const proc = await this.acquire();
    try {
      return await proc.build(request, timeoutMs);
    } finally {
      this.release(proc);
    }
  }

  /** Ends every server process (they exit on EOF) and waits until they have gone. */
  async close(): Promise<void> {
    const all = this.all.splice(0);
    this.free.length = 0;
    await Promise.all(all.map((p) => p.close()));
  }

  private acquire(): Promise<ServerProcess> {
    for (let p = this.free.pop(); p; p = this.free.pop()) if (!p.dead) return Promise.resolve(p);
    const live = this.all.filter((p) => !p.dead);
    if (live.length < this.size) {
      const p = new ServerProcess(this.command);
      this.all.splice(0, this.all.length, ...live, p);
      return Promise.resolve(p);
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(p: ServerProcess): void {
    const proc = p.dead ? null : p;
    const next = this.waiting.shift();
    if (next) {
      if (proc) next(proc);
      else void this.acquire().then(next);
      return;
    }
    if (proc) this.free.push(proc);
  }
}
