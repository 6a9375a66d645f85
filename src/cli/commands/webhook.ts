import { resolve } from "node:path";
import { parseAllDocuments, stringify } from "yaml";
import type { K8sObject } from "../../core/types.js";
import { StaticObjects, WatchCache, type ObjectSource } from "../../webhook/objects.js";
import { UsageError } from "../../core/errors.js";
import { isSeverity } from "../../core/types.js";
import { loadConfig } from "../../loader/config.js";
import { ALL_RULES } from "../../rules/index.js";
import { bootstrapCertificates } from "../../webhook/certs.js";
import { AdmissionEvaluator, type WebhookMode } from "../../webhook/evaluate.js";
import { webhookConfiguration } from "../../webhook/manifests.js";
import { WebhookMetrics } from "../../webhook/metrics.js";
import { WebhookServer } from "../../webhook/server.js";
import type { parse } from "../args.js";
import { commandArgs, type Command } from "../command.js";
import type { CliIO } from "../io.js";
import { readFileSync } from "node:fs";

const USAGE = [
  "fluxguard webhook serve --tls-cert FILE --tls-key FILE [--port 8443] [--host 0.0.0.0] [--deny-at SEVERITY] [--mode enforce|audit] [--config FILE] [--kubeconfig FILE] [--context NAME | --objects FILE]",
  "       fluxguard webhook manifest --namespace NS [--service NAME] [--url URL] [--ca-file FILE | --cert-manager NS/CERT] [--timeout SECONDS] [--rbac-failure-policy Fail|Ignore]",
  "       fluxguard webhook certs --dir DIR --host NAME... [--days N]",
].join("\n");

const OPTIONS = {
  help: { type: "boolean", short: "h" },
  config: { type: "string" },
  "tls-cert": { type: "string" },
  "tls-key": { type: "string" },
  port: { type: "string" },
  host: { type: "string", multiple: true },
  "deny-at": { type: "string" },
  mode: { type: "string" },
  kubeconfig: { type: "string" },
  context: { type: "string" },
  namespace: { type: "string" },
  "service-account": { type: "string" },
  service: { type: "string" },
  url: { type: "string" },
  "ca-file": { type: "string" },
  "cert-manager": { type: "string" },
  timeout: { type: "string" },
  "rbac-failure-policy": { type: "string" },
  dir: { type: "string" },
  days: { type: "string" },
  objects: { type: "string" },
} as const;

const HELP = `usage: ${USAGE}

serve     A validating admission webhook that runs fluxguard's own rules on every change to a
          Flux object or RBAC binding, against the cluster as its watches see it with the
          change in place. Findings the change introduces at or above --deny-at (default
          high) deny it with the rule id and message; the others come back as warnings
          (kubectl prints them). --mode audit never denies, it only warns and logs.
          /validate, /healthz, /readyz (watch caches synced), /metrics (Prometheus).
          Certificates are reloaded from disk when they change, without dropping connections.
          --objects FILE judges against the objects in a YAML file instead of a cluster's
          watches (dry runs, benchmarks).
manifest  Prints the ValidatingWebhookConfiguration (Flux kinds fail-closed with a short
          timeout; RBAC bindings; never kube-system, the webhook's namespace, Leases or Events).
certs     Writes a self-signed CA and serving certificate (ca.crt, tls.crt, tls.key) with openssl;
          run again to rotate the leaf under the same CA. In a cluster, use cert-manager.
`;

export const webhookCommand: Command = {
  name: "webhook",
  summary: "admission webhook enforcing fluxguard's rules on Flux objects and RBAC (serve, manifest, certs)",
  usage: USAGE,
  async run(argv, io) {
    const args = commandArgs(argv, io, { options: OPTIONS, usage: USAGE, help: HELP });
    if (!args) return 0;
    const { values, positionals } = args;
    const [sub] = positionals;
    if (sub === "manifest") return manifest(values, io);
    if (sub === "certs") {
      if (!values.dir) throw new UsageError("webhook certs needs --dir DIR");
      const days = values.days === undefined ? 365 : Number(values.days);
      if (!Number.isInteger(days) || days < 1) throw new UsageError(`--days must be a positive whole number, got '${values.days}'`);
      const r = bootstrapCertificates({ dir: resolve(io.cwd, values.dir), hosts: values.host ?? [], days });
      io.stdout(`wrote ${r.certFile}, ${r.keyFile} (CA ${r.caFile})\n`);
      return 0;
    }
    if (sub === "serve") return serve(values, io);
    throw new UsageError(sub === undefined ? "webhook needs a subcommand: serve, manifest or certs" : `unknown webhook subcommand '${sub}'`, `usage: ${USAGE}`);
  },
};

type Values = ReturnType<typeof parse<typeof OPTIONS>>["values"];

function manifest(values: Values, io: CliIO): number {
  if (!values.namespace) throw new UsageError("webhook manifest needs --namespace (the webhook's own namespace, which it never sees)");
  const timeout = values.timeout === undefined ? 5 : Number(values.timeout);
  if (!Number.isInteger(timeout) || timeout < 1 || timeout > 30) throw new UsageError(`--timeout must be 1 to 30 seconds, got '${values.timeout}'`);
  const rbac = values["rbac-failure-policy"];
  if (rbac !== undefined && rbac !== "Fail" && rbac !== "Ignore") throw new UsageError(`--rbac-failure-policy must be Fail or Ignore, got '${rbac}'`);
  if (values["ca-file"] && values["cert-manager"]) throw new UsageError("--ca-file and --cert-manager are alternatives");
  const doc = webhookConfiguration({
    namespace: values.namespace,
    serviceAccount: values["service-account"] ?? "fluxguard-webhook",
    ...(values.service ? { service: { name: values.service, port: 443 } } : {}),
    ...(values.url ? { url: values.url } : {}),
    ...(values["ca-file"] ? { caBundle: readFileSync(resolve(io.cwd, values["ca-file"]), "utf8") } : {}),
    ...(values["cert-manager"] ? { certManagerCertificate: values["cert-manager"] } : {}),
    timeoutSeconds: timeout,
    ...(rbac ? { rbacFailurePolicy: rbac } : {}),
  });
  io.stdout(stringify(doc));
  return 0;
}

async function serve(values: Values, io: CliIO): Promise<number> {
  const cert = values["tls-cert"];
  const key = values["tls-key"];
  if (!cert || !key) throw new UsageError("webhook serve needs --tls-cert and --tls-key (create a pair with `fluxguard webhook certs`, or mount cert-manager's Secret)");
  const denyAt = values["deny-at"] ?? "high";
  if (!isSeverity(denyAt)) throw new UsageError(`unknown severity '${denyAt}' for --deny-at`, "expected one of: critical, high, medium, low, info");
  const mode = (values.mode ?? "enforce") as WebhookMode;
  if (mode !== "enforce" && mode !== "audit") throw new UsageError(`--mode must be enforce or audit, got '${values.mode}'`);
  const port = values.port === undefined ? 8443 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be a port number, got '${values.port}'`);
  const config = loadConfig(null, values.config ? resolve(io.cwd, values.config) : undefined, ALL_RULES.map((r) => r.meta.id));
  if (values.objects && (values.kubeconfig || values.context)) throw new UsageError("--objects replaces the cluster: no --kubeconfig or --context with it");
  const log = (line: string): void => io.stderr(`${line}\n`);
  const metrics = new WebhookMetrics();
  let source: ObjectSource & { status?(): Array<{ objects: number }> };
  let target: string;
  let closeSource: () => Promise<void>;
  if (values.objects) {
    source = new StaticObjects(readObjects(resolve(io.cwd, values.objects)));
    target = values.objects;
    closeSource = async () => undefined;
  } else {
    const { connect } = await import("../../loader/cluster.js");
    const live = await connect({ config, env: io.env, inCluster: true, ...(values.kubeconfig ? { kubeconfig: resolve(io.cwd, values.kubeconfig) } : {}), ...(values.context ? { context: values.context } : {}) });
    const cache = new WatchCache(await live.kubeConfig(), (l) => log(JSON.stringify({ event: "watch", message: l })));
    await cache.start();
    source = cache;
    target = live.server;
    closeSource = async () => {
      await cache.stop();
      await live.close();
    };
  }
  const evaluator = new AdmissionEvaluator({ config, rules: ALL_RULES, denyAt, mode, clusterId: `context ${target}` });
  const server = new WebhookServer({ certFile: resolve(io.cwd, cert), keyFile: resolve(io.cwd, key), port, host: values.host?.[0] ?? "0.0.0.0", evaluator, source, metrics, denyAt, log });
  let bound: number;
  try {
    bound = await server.start();
  } catch (e) {
    await closeSource();
    const err = e as NodeJS.ErrnoException;
    if (err.code === "EADDRINUSE" || err.code === "EACCES") throw new UsageError(`cannot listen on port ${port}: ${err.code}`);
    throw new UsageError(`cannot serve TLS with ${cert} and ${key}: ${err.message}`, "give a certificate and its private key in PEM (fluxguard webhook certs writes a pair)");
  }
  log(JSON.stringify({ event: "listening", port: bound, mode, denyAt, cluster: target }));
  const gauge = setInterval(() => {
    metrics.synced.set(source.ready() ? 1 : 0);
    metrics.watchedObjects.set(source.status ? source.status().reduce((n, s) => n + s.objects, 0) : source.snapshot().objects.length);
  }, 1000);
  gauge.unref();
  await new Promise<void>((done) => {
    const stop = (): void => done();
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
  });
  log(JSON.stringify({ event: "stopping" }));
  clearInterval(gauge);
  await server.close();
  await closeSource();
  return 0;
}

/** The Kubernetes objects in a YAML file (every document with a kind and a name). */
function readObjects(file: string): K8sObject[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new UsageError(`cannot read ${file}: ${(e as Error).message}`);
  }
  const out: K8sObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length) throw new UsageError(`${file}: invalid YAML: ${doc.errors[0]!.message}`);
    const o = doc.toJS() as Partial<K8sObject> | null;
    if (o && typeof o.kind === "string" && typeof o.apiVersion === "string" && typeof o.metadata?.name === "string") out.push(o as K8sObject);
  }
  return out;
}
