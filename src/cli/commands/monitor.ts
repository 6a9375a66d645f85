import { hostname } from "node:os";
import { resolve } from "node:path";
import { UsageError } from "../../core/errors.js";
import { defaultConfig } from "../../core/config.js";
import { commandArgs, type Command } from "../command.js";

const USAGE =
  "fluxguard monitor [--context NAME] [--kubeconfig FILE] [--listen HOST:PORT] [--namespace NS] [--flux-namespace NS] [--lease-name NAME] [--state-name NAME] [--identity NAME] [--no-state] [--no-watch-list] [--posture-interval S] [--keys-interval S] [--warn-days N]";

const HELP = `usage: ${USAGE}

Watches Flux objects and their Warning Events and serves Prometheus metrics on /metrics
(fluxguard_verification_failures_total, fluxguard_fetch_failures_total,
fluxguard_reconcile_denied_total, fluxguard_resource_ready, fluxguard_resource_not_ready_seconds,
fluxguard_signing_key_expiry_seconds, posture gauges; README "Monitoring"), /healthz and /readyz
(ready = the ledger is loaded and every resource is listed). Runs until SIGTERM or SIGINT.

In a Pod it uses the in-cluster config; elsewhere --kubeconfig, $KUBECONFIG or ~/.kube/config.
Replicas elect a leader with the Lease --lease-name in --namespace; the leader persists the
failure ledger in the ConfigMap --state-name, so a restart neither loses nor re-counts a failure.
--no-state runs one process without Lease or ConfigMap (counters start empty on restart).

  --listen HOST:PORT        where to serve (default 127.0.0.1:8080; 0.0.0.0:8080 in a Pod)
  --namespace NS            Lease and ledger namespace (default: the Pod's, else flux-system)
  --posture-interval S      seconds between posture analyses, 0 = off (default 300)
  --keys-interval S         seconds between verification Secret reads, 0 = off (default 300)
  --warn-days N             a key expiring within N days has status "expiring" (default 14)
  --no-watch-list           read the initial state with lists, not watch-lists (sendInitialEvents);
                            the monitor falls back to lists by itself when the API server refuses them
`;

const OPTIONS = {
  help: { type: "boolean", short: "h" },
  context: { type: "string" },
  kubeconfig: { type: "string" },
  listen: { type: "string" },
  namespace: { type: "string" },
  "flux-namespace": { type: "string" },
  "lease-name": { type: "string" },
  "state-name": { type: "string" },
  identity: { type: "string" },
  "no-state": { type: "boolean" },
  "no-watch-list": { type: "boolean" },
  "posture-interval": { type: "string" },
  "keys-interval": { type: "string" },
  "warn-days": { type: "string" },
  "persist-interval-ms": { type: "string" },
  "lease-seconds": { type: "string" },
} as const;

function whole(name: string, v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  if (!/^\d+$/.test(v)) throw new UsageError(`--${name} must be a whole number, got '${v}'`);
  return Number(v);
}

export const monitorCommand: Command = {
  name: "monitor",
  summary: "serve Prometheus metrics on verification failures, fetch failures, readiness, RBAC denials, key expiry, posture",
  usage: USAGE,
  async run(argv, io) {
    const args = commandArgs(argv, io, { options: OPTIONS, usage: USAGE, help: HELP });
    if (!args) return 0;
    const { values, positionals } = args;
    if (positionals.length) throw new UsageError(`monitor takes no arguments, got '${positionals[0]}'`, `usage: ${USAGE}`);
    const listen = values.listen ?? "127.0.0.1:8080";
    const m = /^(.*):(\d+)$/.exec(listen);
    if (!m || Number(m[2]) > 65535) throw new UsageError(`--listen must be HOST:PORT, got '${listen}'`);
    const host = m[1]!.replace(/^\[|\]$/g, "") || "0.0.0.0";
    // In a Pod (no --kubeconfig, no $KUBECONFIG): the service account's own API server.
    const { connect } = await import("../../loader/cluster.js");
    const { proxyForDisplay } = await import("../../loader/kubeconfig.js");
    const live = await connect({
      config: defaultConfig(),
      env: io.env,
      inCluster: !values.context,
      ...(values.kubeconfig ? { kubeconfig: resolve(io.cwd, values.kubeconfig) } : {}),
      ...(values.context ? { context: values.context } : {}),
    });
    const fluxNamespace = values["flux-namespace"] ?? "flux-system";
    const log = (msg: string): void => io.stderr(`${JSON.stringify({ ts: new Date().toISOString(), component: "monitor", msg })}\n`);
    const { Monitor } = await import("../../monitor/monitor.js");
    const monitor = new Monitor({
      api: live.api,
      fluxNamespace,
      stateNamespace: values["no-state"] ? null : (values.namespace ?? io.env["POD_NAMESPACE"] ?? fluxNamespace),
      leaseName: values["lease-name"] ?? "fluxguard-monitor",
      stateName: values["state-name"] ?? "fluxguard-monitor-state",
      identity: values.identity ?? io.env["POD_NAME"] ?? `${hostname()}-${process.pid}`,
      postureInterval: whole("posture-interval", values["posture-interval"], 300),
      keysInterval: whole("keys-interval", values["keys-interval"], 300),
      warnDays: whole("warn-days", values["warn-days"], 14),
      persistIntervalMs: whole("persist-interval-ms", values["persist-interval-ms"], 2000),
      leaseSeconds: whole("lease-seconds", values["lease-seconds"], 15),
      watchList: !values["no-watch-list"],
      log,
    });
    await monitor.start();
    let addr;
    try {
      addr = await monitor.listen(host, Number(m[2]));
    } catch (e) {
      await monitor.stop();
      throw new UsageError(`cannot listen on ${listen}: ${(e as Error).message}`);
    }
    log(`serving /metrics, /healthz, /readyz on ${addr.address}:${addr.port} (${live.context === "in-cluster" ? "in-cluster" : `context ${live.context}`}${live.api.proxy ? `, through the proxy ${proxyForDisplay(live.api.proxy)}` : ""})`);
    for (const n of live.notices) log(`${n.file}: ${n.reason}`);
    await new Promise<void>((done) => {
      process.once("SIGTERM", () => done());
      process.once("SIGINT", () => done());
    });
    log("stopping");
    await monitor.stop();
    await live.close();
    return 0;
  },
};
