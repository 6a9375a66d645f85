/**
 * `fluxguard webhook serve` as a real process next to an e2e cluster: started from the built
 * CLI with the cluster's admin kubeconfig, served over TLS from certificates the real openssl
 * made, registered with the real API server by URL (the API server calls it on loopback).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { openSync, closeSync, readFileSync } from "node:fs";
import { request } from "node:https";
import { createServer } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { stringify } from "yaml";
import { REPO_ROOT } from "../testing/paths.js";
import { bootstrapCertificates } from "../webhook/certs.js";
import { webhookConfiguration } from "../webhook/manifests.js";
import type { E2ECluster } from "./harness.js";

/** A free loopback port (bound, read, released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export class WebhookProcess {
  private child: ChildProcess | null = null;
  readonly certDir: string;
  readonly log: string;
  readonly ca: string;

  constructor(
    readonly cluster: E2ECluster,
    readonly port: number,
    readonly args: string[] = [],
  ) {
    this.certDir = join(cluster.work, "webhook-pki");
    this.log = join(cluster.work, "webhook.log");
    this.ca = bootstrapCertificates({ dir: this.certDir, hosts: ["127.0.0.1", "localhost"] }).caPem;
  }

  /** The process id while it runs (the benchmark reads its CPU time). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  get url(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  /** Starts the process and waits until /readyz answers 200 (its watch caches have listed). */
  async start(timeoutMs = 60_000): Promise<void> {
    const out = openSync(this.log, "a");
    this.child = spawn(
      process.execPath,
      [
        join(REPO_ROOT, "dist", "src", "bin", "fluxguard.js"),
        "webhook",
        "serve",
        "--tls-cert",
        join(this.certDir, "tls.crt"),
        "--tls-key",
        join(this.certDir, "tls.key"),
        "--host",
        "127.0.0.1",
        "--port",
        String(this.port),
        "--kubeconfig",
        this.cluster.kubeconfig,
        ...this.args,
      ],
      { stdio: ["ignore", out, out], env: { ...process.env, KUBECONFIG: this.cluster.kubeconfig } },
    );
    closeSync(out);
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null) throw new Error(`webhook exited ${this.child.exitCode}:\n${this.logTail()}`);
      if ((await this.get("/readyz").catch(() => ({ status: 0, body: "" }))).status === 200) return;
      await sleep(250);
    }
    throw new Error(`webhook never became ready:\n${this.logTail()}`);
  }

  /** SIGTERM, and waits for the process to exit. */
  async stop(): Promise<void> {
    const c = this.child;
    this.child = null;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise<void>((r) => c.once("exit", () => r()));
    c.kill("SIGTERM");
    await Promise.race([exited, sleep(10_000).then(() => c.kill("SIGKILL"))]);
    await exited;
  }

  get(path: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = request({ host: "127.0.0.1", port: this.port, path, method: "GET", ca: this.ca, agent: false, timeout: 5000 }, (res) => {
        let body = "";
        res.on("data", (c: Buffer) => (body += c.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on("timeout", () => req.destroy(new Error("timeout")));
      req.on("error", reject);
      req.end();
    });
  }

  /** Rotates the serving certificate on disk (same CA): the process must pick it up unaided. */
  rotate(): void {
    bootstrapCertificates({ dir: this.certDir, hosts: ["127.0.0.1", "localhost"] });
  }

  logTail(lines = 40): string {
    try {
      return readFileSync(this.log, "utf8").split("\n").slice(-lines).join("\n");
    } catch {
      return "";
    }
  }

  /** The ValidatingWebhookConfiguration that points the API server at this process. */
  configuration(namespace: string): string {
    return stringify(webhookConfiguration({ namespace, serviceAccount: "fluxguard-webhook", url: `${this.url}/validate`, caBundle: this.ca, timeoutSeconds: 5 }));
  }
}
