/**
 * Real Prometheus and Alertmanager (Debian's prometheus and prometheus-alertmanager packages)
 * as local processes on loopback, a webhook receiver that records what Alertmanager delivers,
 * and `fluxguard monitor` processes, for the monitor's end-to-end test. Every process is
 * started here, tracked by pid and stopped by pid.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, mkdirSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { createServer as createNetServer } from "node:net";
import { join } from "node:path";
import { until } from "./harness.js";
import { stringify } from "yaml";
import { REPO_ROOT } from "../testing/paths.js";

/** A free loopback TCP port. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export { until } from "./harness.js";

/** A process this test started; stopped by its own pid only. */
export class Proc {
  readonly child: ChildProcess;
  constructor(
    readonly name: string,
    cmd: string,
    args: string[],
    logFile: string,
    env: NodeJS.ProcessEnv = process.env,
  ) {
    const log = createWriteStream(logFile, { flags: "a" });
    this.child = spawn(cmd, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    this.child.stdout?.pipe(log);
    this.child.stderr?.pipe(log);
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async stop(signal: NodeJS.Signals = "SIGTERM", timeoutMs = 10_000): Promise<void> {
    if (!this.alive) return;
    const exited = new Promise<void>((r) => this.child.once("exit", () => r()));
    this.child.kill(signal);
    const t = setTimeout(() => this.child.kill("SIGKILL"), timeoutMs);
    await exited;
    clearTimeout(t);
  }
}

export interface Delivery {
  receivedAt: number;
  receiver: string;
  status: string;
  alerts: Array<{ status: string; labels: Record<string, string>; annotations: Record<string, string>; startsAt: string }>;
}

/** The webhook Alertmanager delivers to; keeps every delivery with its arrival time. */
export class WebhookReceiver {
  readonly deliveries: Delivery[] = [];
  private server: Server | null = null;
  port = 0;

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Omit<Delivery, "receivedAt">;
          this.deliveries.push({ receivedAt: Date.now(), receiver: body.receiver, status: body.status, alerts: body.alerts ?? [] });
        } catch {
          /* not JSON: ignored */
        }
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, "127.0.0.1", () => r()));
    this.port = (this.server.address() as { port: number }).port;
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}/${path}`;
  }

  /** The first firing alert delivered after `since` whose labels include `labels`. */
  find(alertname: string, labels: Record<string, string>, since = 0): { delivery: Delivery; alert: Delivery["alerts"][number] } | null {
    for (const d of this.deliveries) {
      if (d.receivedAt < since) continue;
      for (const a of d.alerts) {
        if (a.status !== "firing" || a.labels["alertname"] !== alertname) continue;
        if (Object.entries(labels).every(([k, v]) => a.labels[k] === v)) return { delivery: d, alert: a };
      }
    }
    return null;
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    this.server?.closeAllConnections();
  }
}

/** Prometheus scraping the monitor replicas with the given rule groups, sending to Alertmanager. */
export async function startPrometheus(dir: string, opts: { targets: string[]; ruleGroups: unknown; alertmanager: string; interval: string }): Promise<{ proc: Proc; url: string }> {
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  writeFileSync(join(dir, "rules.yaml"), stringify({ groups: opts.ruleGroups }));
  writeFileSync(
    join(dir, "prometheus.yml"),
    stringify({
      global: { scrape_interval: opts.interval, evaluation_interval: opts.interval, scrape_timeout: opts.interval },
      rule_files: [join(dir, "rules.yaml")],
      alerting: { alertmanagers: [{ static_configs: [{ targets: [opts.alertmanager] }] }] },
      // honor_labels, as the generated PodMonitor sets: the metrics' `namespace` label is the Flux object's.
      scrape_configs: [{ job_name: "fluxguard-monitor", honor_labels: true, static_configs: [{ targets: opts.targets }] }],
    }),
  );
  const proc = new Proc(
    "prometheus",
    "prometheus",
    [`--config.file=${join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${join(dir, "data")}`, `--web.listen-address=127.0.0.1:${port}`, "--rules.alert.resend-delay=1s", "--log.level=warn"],
    join(dir, "prometheus.log"),
  );
  const url = `http://127.0.0.1:${port}`;
  await until("Prometheus ready", async () => (await fetch(`${url}/-/ready`)).ok, 60_000);
  return { proc, url };
}

export async function startAlertmanager(dir: string, config: unknown): Promise<{ proc: Proc; address: string }> {
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  writeFileSync(join(dir, "alertmanager.yml"), stringify(config));
  const proc = new Proc(
    "alertmanager",
    "prometheus-alertmanager",
    [`--config.file=${join(dir, "alertmanager.yml")}`, `--storage.path=${join(dir, "data")}`, `--web.listen-address=127.0.0.1:${port}`, "--cluster.listen-address=", "--log.level=warn"],
    join(dir, "alertmanager.log"),
  );
  const address = `127.0.0.1:${port}`;
  await until("Alertmanager ready", async () => (await fetch(`http://${address}/-/ready`)).ok, 60_000);
  return { proc, address };
}

/** An instant PromQL query; the value of each series by its labels. */
export async function promQuery(url: string, query: string): Promise<Array<{ labels: Record<string, string>; value: number }>> {
  const r = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(query)}`);
  const body = (await r.json()) as { status: string; data?: { result?: Array<{ metric: Record<string, string>; value: [number, string] }> }; error?: string };
  if (body.status !== "success") throw new Error(`query ${query}: ${body.error ?? r.status}`);
  return (body.data?.result ?? []).map((x) => ({ labels: x.metric, value: Number(x.value[1]) }));
}

/** One `fluxguard monitor` replica as its own process, the way a Pod runs it. */
export class MonitorReplica {
  proc: Proc | null = null;
  port = 0;

  constructor(
    readonly identity: string,
    private readonly dir: string,
    private readonly args: string[],
  ) {}

  async start(): Promise<void> {
    if (!this.port) this.port = await freePort();
    mkdirSync(this.dir, { recursive: true });
    this.proc = new Proc(
      `monitor-${this.identity}`,
      process.execPath,
      [join(REPO_ROOT, "dist", "src", "bin", "fluxguard.js"), "monitor", `--listen=127.0.0.1:${this.port}`, `--identity=${this.identity}`, ...this.args],
      join(this.dir, `monitor-${this.identity}.log`),
      { ...process.env, KUBERNETES_SERVICE_HOST: "" },
    );
  }

  get target(): string {
    return `127.0.0.1:${this.port}`;
  }

  async ready(timeoutMs = 60_000): Promise<number> {
    const t0 = Date.now();
    await until(`monitor ${this.identity} /readyz`, async () => (await fetch(`http://${this.target}/readyz`)).ok, timeoutMs, 50);
    return Date.now() - t0;
  }

  /** The monitor's own /metrics, parsed to `name{labels} -> value`. */
  async metrics(): Promise<Map<string, number>> {
    const text = await (await fetch(`http://${this.target}/metrics`)).text();
    const out = new Map<string, number>();
    for (const line of text.split("\n")) {
      if (!line || line.startsWith("#")) continue;
      const i = line.lastIndexOf(" ");
      out.set(line.slice(0, i), Number(line.slice(i + 1)));
    }
    return out;
  }

  /** Sum of a metric's series whose label text contains every fragment. */
  async value(metric: string, ...fragments: string[]): Promise<number> {
    let n = 0;
    for (const [k, v] of await this.metrics()) if ((k === metric || k.startsWith(`${metric}{`)) && fragments.every((f) => k.includes(f))) n += v;
    return n;
  }
}
