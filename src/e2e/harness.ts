/**
 * The end-to-end harness: drives test/e2e/cluster.sh (a real etcd, kube-apiserver and Flux
 * controllers as local processes on loopback), kubectl and git. Nothing here is faked; the
 * suite fails when a component does not behave the way the test says it does.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { REPO_ROOT } from "../testing/paths.js";
import { runCli, type CliResult } from "../testing/cli.js";
import type { TestRepo } from "../verify/testkit.js";

const CLUSTER_SH = join(REPO_ROOT, "test", "e2e", "cluster.sh");

/** What the suite builds and runs (helm is only built: the monitor test renders the chart); package.json's test:e2e builds the same list first. */
export const SUITE_COMPONENTS = "etcd kube-apiserver source-controller kustomize-controller helm-controller helm";

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], opts: { env: NodeJS.ProcessEnv; cwd?: string; input?: string; timeoutMs?: number }): RunResult {
  const r = spawnSync(cmd, args, {
    env: opts.env,
    cwd: opts.cwd,
    input: opts.input,
    encoding: "utf8",
    timeout: opts.timeoutMs ?? 120_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error) throw new Error(`${cmd} ${args.join(" ")}: ${r.error.message}`);
  return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

export interface ConditionState {
  status: string;
  reason: string;
  message: string;
}

/** A running control plane. Every method talks to the real processes. */
export class E2ECluster {
  readonly env: NodeJS.ProcessEnv;
  readonly gitUrl: string;
  readonly kubeconfig: string;
  readonly work: string;

  private constructor(
    readonly state: string,
    vars: Record<string, string>,
  ) {
    this.env = { ...process.env, ...vars, GIT_TERMINAL_PROMPT: "0" };
    this.gitUrl = vars["FLUXGUARD_E2E_GIT_URL"] ?? "";
    this.kubeconfig = vars["KUBECONFIG"] ?? "";
    this.work = join(dirname(state), "work");
    mkdirSync(this.work, { recursive: true });
  }

  /** Builds what is missing (a no-op when cached), then starts a fresh cluster in its own state directory. */
  static start(opts: { lockdown?: boolean } = {}): E2ECluster {
    const base = mkdtempSync(join(tmpdir(), "fluxguard-e2e-"));
    const state = join(base, "state");
    const env = { ...process.env, FLUXGUARD_E2E_STATE: state, FLUXGUARD_E2E_COMPONENTS: process.env["FLUXGUARD_E2E_COMPONENTS"] ?? SUITE_COMPONENTS };
    const build = run("bash", [CLUSTER_SH, "build"], { env, timeoutMs: 90 * 60_000 });
    if (build.code !== 0) throw new Error(`cluster.sh build failed (exit ${build.code}):\n${build.stderr.slice(-4000)}`);
    const up = run("bash", [CLUSTER_SH, "up", ...(opts.lockdown ? ["--lockdown"] : [])], { env, timeoutMs: 10 * 60_000 });
    if (up.code !== 0) {
      run("bash", [CLUSTER_SH, "down"], { env });
      throw new Error(`cluster.sh up failed (exit ${up.code}):\n${up.stderr.slice(-4000)}`);
    }
    const vars: Record<string, string> = {};
    for (const line of readFileSync(join(state, "env"), "utf8").split("\n")) {
      const m = /^export ([A-Z0-9_]+)='(.*)'$/.exec(line);
      if (m) vars[m[1]!] = m[2]!;
    }
    return new E2ECluster(state, vars);
  }

  /** Stops every process `up` started and removes the state; safe to call twice. */
  stop(): void {
    run("bash", [CLUSTER_SH, "down"], { env: this.env });
    rmSync(dirname(this.state), { recursive: true, force: true });
  }

  restartControllers(lockdown: boolean): void {
    const r = run("bash", [CLUSTER_SH, "restart-controllers", lockdown ? "--lockdown" : "--no-lockdown"], { env: this.env, timeoutMs: 5 * 60_000 });
    if (r.code !== 0) throw new Error(`restart-controllers failed:\n${r.stderr.slice(-3000)}`);
  }

  /** Stops kube-apiserver and starts it again on the same port and etcd data. */
  restartApiserver(): void {
    const r = run("bash", [CLUSTER_SH, "restart-apiserver"], { env: this.env, timeoutMs: 5 * 60_000 });
    if (r.code !== 0) throw new Error(`restart-apiserver failed:\n${r.stderr.slice(-3000)}`);
  }

  /** The path of a binary `cluster.sh build` made (e.g. `helm`), or null when it is not built. */
  static binary(component: string): string | null {
    const r = run("bash", [CLUSTER_SH, "bin", component], { env: process.env });
    return r.code === 0 ? r.stdout.trim() : null;
  }

  /** The controller and API server logs, for a failure message. */
  logsTail(lines = 20): string {
    const dir = join(this.state, "logs");
    let out = "";
    try {
      for (const f of readdirSync(dir)) {
        const text = readFileSync(join(dir, f), "utf8").split("\n");
        out += `--- ${f}\n${text.slice(-lines).join("\n")}\n`;
      }
    } catch {
      /* no logs */
    }
    return out;
  }

  kubectl(args: string[], input?: string): RunResult {
    return run("kubectl", args, { env: this.env, input });
  }

  /** kubectl that must succeed. */
  kc(args: string[], input?: string): string {
    const r = this.kubectl(args, input);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")} failed: ${r.stderr}`);
    return r.stdout;
  }

  apply(yaml: string): void {
    this.kc(["apply", "-f", "-"], yaml);
  }

  getJson(kind: string, namespace: string | null, name: string): Record<string, unknown> | null {
    const r = this.kubectl([...(namespace ? ["-n", namespace] : []), "get", `${kind}/${name}`, "-o", "json"]);
    if (r.code !== 0) return null;
    return JSON.parse(r.stdout) as Record<string, unknown>;
  }

  condition(kind: string, namespace: string, name: string, type: string): ConditionState | null {
    const o = this.getJson(kind, namespace, name);
    const conds = ((o?.["status"] as Record<string, unknown> | undefined)?.["conditions"] ?? []) as Array<Record<string, string>>;
    const c = conds.find((x) => x["type"] === type);
    return c ? { status: c["status"] ?? "", reason: c["reason"] ?? "", message: c["message"] ?? "" } : null;
  }

  /**
   * Asks the controller to reconcile now, as `flux reconcile` does. Returns the request's
   * token: `waitReconciled` waits until the controller has handled it.
   */
  requestReconcile(kind: string, namespace: string, name: string): string {
    const token = String(process.hrtime.bigint());
    this.kc(["-n", namespace, "annotate", "--overwrite", `${kind}/${name}`, `reconcile.fluxcd.io/requestedAt=${token}`]);
    return token;
  }

  /** Polls until the controller has handled the reconcile request `token` (status.lastHandledReconcileAt). */
  async waitReconciled(kind: string, namespace: string, name: string, token: string, timeoutMs = 120_000): Promise<void> {
    await until(`${kind} ${namespace}/${name} to handle reconcile request ${token}`, () => (this.getJson(kind, namespace, name)?.["status"] as { lastHandledReconcileAt?: string } | undefined)?.lastHandledReconcileAt === token, timeoutMs, 500);
  }

  /** Polls until the condition has the wanted status (and, when given, passes `also`). */
  async waitCondition(
    kind: string,
    namespace: string,
    name: string,
    type: string,
    status: string,
    also: (c: ConditionState) => boolean = () => true,
    timeoutMs = 120_000,
  ): Promise<ConditionState> {
    const deadline = Date.now() + timeoutMs;
    let last: ConditionState | null = null;
    while (Date.now() < deadline) {
      last = this.condition(kind, namespace, name, type);
      if (last && last.status === status && also(last)) return last;
      await sleep(1000);
    }
    throw new Error(`${kind} ${namespace}/${name}: ${type} never became ${status}; last: ${JSON.stringify(last)}\n${this.logsTail()}`);
  }

  /** Runs `fluxguard` in-process against this cluster. */
  fluxguard(args: string[], extraEnv: Record<string, string> = {}): Promise<CliResult> {
    return runCli(args, { env: { KUBECONFIG: this.kubeconfig, HOME: process.env["HOME"], ...extraEnv } });
  }

  /** A token-authenticated kubeconfig for a service account (created if missing). */
  kubeconfigFor(namespace: string, serviceAccount: string): string {
    const have = this.kubectl(["-n", namespace, "get", "serviceaccount", serviceAccount]);
    if (have.code !== 0) this.kc(["-n", namespace, "create", "serviceaccount", serviceAccount]);
    const token = this.kc(["-n", namespace, "create", "token", serviceAccount, "--duration=1h"]).trim();
    const server = this.env["FLUXGUARD_E2E_APISERVER"] ?? "";
    const file = join(this.work, `kubeconfig-${namespace}-${serviceAccount}`);
    writeFileSync(
      file,
      [
        "apiVersion: v1",
        "kind: Config",
        "clusters:",
        `- name: e2e\n  cluster:\n    server: ${server}\n    certificate-authority: ${join(this.state, "pki", "ca.crt")}`,
        "users:",
        `- name: ${serviceAccount}\n  user:\n    token: ${token}`,
        "contexts:",
        `- name: e2e-${serviceAccount}\n  context:\n    cluster: e2e\n    user: ${serviceAccount}`,
        `current-context: e2e-${serviceAccount}`,
        "",
      ].join("\n"),
      { mode: 0o600 },
    );
    return file;
  }
}

/** Polls `fn` until it returns a value that is not null/undefined/false; the error names `what` and the last error `fn` threw. */
export async function until<T>(what: string, fn: () => Promise<T | null | undefined | false> | T | null | undefined | false, timeoutMs = 120_000, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError = "";
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== null && v !== undefined && v !== false) return v;
    } catch (e) {
      lastError = (e as Error).message;
    }
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${lastError})` : ""}`);
}

/**
 * Asserts that `check` keeps passing for `forMs` (polled every `everyMs`): for "nothing more
 * happens" claims (no double count after a retry), which a single look after a fixed sleep
 * would check only once. Throws at the first failing look, with what it saw.
 */
export async function holds(what: string, check: () => Promise<boolean | string> | boolean | string, forMs: number, everyMs = 250): Promise<void> {
  const end = Date.now() + forMs;
  for (;;) {
    const r = await check();
    if (r !== true) throw new Error(`${what} stopped holding${typeof r === "string" ? `: ${r}` : ""}`);
    if (Date.now() >= end) return;
    await sleep(Math.min(everyMs, Math.max(0, end - Date.now())));
  }
}

/** Pushes a test repository's main branch to the cluster's loopback Git server. */
export function pushTo(repo: TestRepo, url: string): void {
  repo.git(["push", "-q", "--force", url, "main"]);
}

/** Copies a fixture tree, replacing ${NAME} placeholders. */
export function materialize(fromDir: string, toDir: string, vars: Record<string, string>): void {
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else {
        const out = join(toDir, relative(fromDir, p));
        mkdirSync(dirname(out), { recursive: true });
        let text = readFileSync(p, "utf8");
        for (const [k, v] of Object.entries(vars)) text = text.split(`\${${k}}`).join(v);
        writeFileSync(out, text);
      }
    }
  };
  walk(fromDir);
}
