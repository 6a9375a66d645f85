/**
 * The fleet spec: one small YAML file that `fluxguard generate` turns into a hardened fleet.
 * Parsing validates everything (unknown keys, names, ranges, scopes) and reports each
 * problem with its line, before anything is written. schemas/fleet-spec.schema.json
 * describes the same format for editors.
 */
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { UsageError } from "../core/errors.js";
import { pointer } from "../core/pointer.js";
import type { JsonObject, JsonValue } from "../core/types.js";
import { parseYamlFile, type ParsedDocument } from "../loader/yaml.js";
import { DEFAULT_ALLOWED_KINDS, isClusterScopedResource, parseAllowedKind, type AllowedKind } from "./kinds.js";
import { checkBoundedRange, isAnchored } from "./semver.js";
import { ADMISSION_ACTIONS, nativeRuleIds, type AdmissionAction } from "./rule-policies.js";

export const SPEC_API_VERSION = "fluxguard.io/v1alpha1";
export const SPEC_KIND = "FleetSpec";

export type Installer = "bootstrap" | "operator";
export const PROVIDER_TYPES = [
  "alertmanager",
  "azuredevops",
  "azureeventhub",
  "bitbucket",
  "bitbucketserver",
  "datadog",
  "discord",
  "generic",
  "generic-hmac",
  "gitea",
  "github",
  "githubdispatch",
  "gitlab",
  "googlechat",
  "googlepubsub",
  "grafana",
  "incident.io",
  "lark",
  "matrix",
  "msteams",
  "nats",
  "opsgenie",
  "otel",
  "pagerduty",
  "rocket",
  "sentry",
  "slack",
  "telegram",
  "webex",
  "zoom",
  "zulip",
] as const;

export interface SigningKey {
  name: string;
  type: "pgp" | "ssh";
  fingerprint: string | null;
  /** As written (relative to the spec file). */
  file: string | null;
}

export interface AlertReceiver {
  type: string;
  channel: string | null;
  /** The Secret (in the receiver's namespace) holding the webhook address or token. */
  secretName: string;
}

export interface ClusterSpec {
  name: string;
  environment: string;
  path: string;
  branch: string;
  installer: Installer;
}

export interface ChartSpec {
  name: string;
  /** https:// (HelmRepository) or oci:// (OCIRepository). */
  repository: string;
  chart: string;
  version: string;
  namespace: string;
  verify: ChartVerify | null;
}

export interface ChartVerify {
  provider: "cosign" | "notation";
  /** Public keys (cosign) or certificates and trust policy (notation), in the chart's namespace. */
  secretName: string | null;
  /** Keyless cosign: the signer's OIDC issuer and subject (regular expressions). */
  issuer: string | null;
  subject: string | null;
}

export interface ImageSpec {
  name: string;
  image: string;
  range: string;
  tagPattern: string;
  extract: string;
}

export interface TenantSpec {
  name: string;
  namespaces: string[];
  repository: string;
  branch: string;
  path: string;
  allowedKinds: AllowedKind[];
  /** Kinds added because the spec needs them (e.g. Secrets for Helm's release storage). */
  addedKinds: string[];
  allowedRegistries: string[];
  signingKeys: SigningKey[];
  clusters: string[];
  charts: ChartSpec[];
  images: ImageSpec[];
  alerts: AlertReceiver;
}

export interface FleetSpec {
  platform: {
    namespace: string;
    repository: string;
    branch: string;
    signingKeys: SigningKey[];
    installer: Installer;
    fluxVersion: string;
    alerts: AlertReceiver;
    network: { sourceCIDRs: string[]; sourceExceptCIDRs: string[]; sourcePorts: number[]; apiServerCIDRs: string[] };
    monitoring: {
      prometheus: boolean;
      namespace: string;
      ruleLabels: Record<string, string>;
      /** fluxguard monitor runs: alerts on its metrics instead of gotk_resource_info. */
      monitor: boolean;
      /** Namespace of the fluxguard chart (the monitor's Pods). */
      monitorNamespace: string;
      /** Seconds a Flux object may be not Ready before the readiness alert fires. */
      notReadyAfter: number;
    };
    /** What each natively enforced rule's ValidatingAdmissionPolicy does: `default`, or per rule id. */
    admission: { default: AdmissionAction; rules: Record<string, AdmissionAction> };
  };
  clusters: ClusterSpec[];
  tenants: TenantSpec[];
}

export interface SpecProblem {
  line: number;
  column: number;
  /** Dotted path, e.g. tenants[0].allowedKinds[2]. */
  path: string;
  message: string;
}

/** Every problem in a spec; the CLI prints one line each. */
export class SpecError extends UsageError {
  readonly problems: SpecProblem[];
  readonly file: string;
  constructor(file: string, problems: SpecProblem[]) {
    const first = problems[0]!;
    super(`${file}:${first.line}:${first.column}: ${first.path ? `${first.path}: ` : ""}${first.message}`, "see docs/generate.md and schemas/fleet-spec.schema.json for the spec format");
    this.name = "SpecError";
    this.problems = problems;
    this.file = file;
  }

  lines(): string[] {
    return this.problems.map((p) => `${this.file}:${p.line}:${p.column}: ${p.path ? `${p.path}: ` : ""}${p.message}`);
  }
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const KEY_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$|^[0-9a-fA-F:]+\/\d{1,3}$/;
const REGISTRY = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]+)?(\/[a-z0-9._-]+)*\/?$/;
const PGP_FPR = /^(?:[0-9A-Fa-f]{16}|[0-9A-Fa-f]{40}|[0-9A-Fa-f]{64})$/;
const SSH_FPR = /^SHA256:[A-Za-z0-9+/]{43}=?$/;
/** Namespaces a tenant can never own. */
const RESERVED_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease"];

export const DEFAULT_TAG_PATTERN = "^v?(?P<version>[0-9]+\\.[0-9]+\\.[0-9]+)$";
export const DEFAULT_TAG_EXTRACT = "$version";

/** The keys each mapping accepts; the JSON Schema test checks the schema agrees. */
export const SPEC_KEYS = {
  top: ["apiVersion", "kind", "platform", "defaults", "clusters", "tenants"],
  platform: ["namespace", "repository", "branch", "signingKeys", "installer", "fluxVersion", "alerts", "network", "monitoring", "admission"],
  admission: ["default", "rules"],
  defaults: ["allowedKinds", "allowedRegistries", "alerts"],
  network: ["sourceCIDRs", "sourceExceptCIDRs", "sourcePorts", "apiServerCIDRs"],
  monitoring: ["prometheus", "namespace", "ruleLabels", "monitor", "monitorNamespace", "notReadyAfter"],
  alerts: ["type", "channel", "secretName"],
  signingKey: ["name", "fingerprint", "file", "type"],
  cluster: ["name", "environment", "path", "branch", "installer"],
  tenant: [
    "name",
    "namespaces",
    "repository",
    "branch",
    "path",
    "allowedKinds",
    "allowedRegistries",
    "signingKeys",
    "clusters",
    "charts",
    "images",
    "alerts",
  ],
  chart: ["name", "repository", "chart", "version", "namespace", "verify"],
  chartVerify: ["provider", "secretName", "issuer", "subject"],
  image: ["name", "image", "range", "tagPattern", "extract"],
} as const;

class Ctx {
  readonly problems: SpecProblem[] = [];
  constructor(private readonly doc: ParsedDocument | null) {}

  error(p: string, message: string): void {
    const at = this.doc ? this.doc.locate(p) : { line: 1, column: 1 };
    this.problems.push({ line: at.line, column: at.column, path: dotted(p), message });
  }

  mapping(p: string, v: JsonValue | undefined, keys: readonly string[], what: string): JsonObject | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "object" || Array.isArray(v)) {
      this.error(p, `${what} must be a mapping`);
      return undefined;
    }
    for (const k of Object.keys(v)) {
      if (!keys.includes(k)) this.error(p === "" ? pointer(k) : `${p}/${escape(k)}`, `unknown key '${k}' in ${what} (expected one of: ${keys.join(", ")})`);
    }
    return v;
  }

  string(p: string, v: JsonValue | undefined, opts: { required?: boolean; pattern?: RegExp; patternHint?: string; max?: number } = {}): string | undefined {
    if (v === undefined || v === null) {
      if (opts.required) this.error(p, "is required");
      return undefined;
    }
    if (typeof v !== "string" || v === "") {
      this.error(p, "must be a non-empty string");
      return undefined;
    }
    if (opts.pattern && !opts.pattern.test(v)) {
      this.error(p, `'${v}' ${opts.patternHint ?? `must match ${opts.pattern.source}`}`);
      return undefined;
    }
    if (opts.max !== undefined && v.length > opts.max) {
      this.error(p, `'${v}' is longer than ${opts.max} characters`);
      return undefined;
    }
    return v;
  }

  list(p: string, v: JsonValue | undefined, what: string): JsonValue[] | undefined {
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v)) {
      this.error(p, `${what} must be a list`);
      return undefined;
    }
    return v;
  }

  strings(p: string, v: JsonValue | undefined, what: string, opts: { pattern?: RegExp; patternHint?: string } = {}): string[] | undefined {
    const l = this.list(p, v, what);
    if (!l) return undefined;
    const out: string[] = [];
    l.forEach((x, i) => {
      const s = this.string(`${p}/${i}`, x, { required: true, ...opts });
      if (s !== undefined) out.push(s);
    });
    return out;
  }

  bool(p: string, v: JsonValue | undefined): boolean | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "boolean") {
      this.error(p, "must be true or false");
      return undefined;
    }
    return v;
  }
}

function escape(k: string): string {
  return k.replace(/~/g, "~0").replace(/\//g, "~1");
}

function dotted(p: string): string {
  if (p === "") return "";
  return p
    .slice(1)
    .split("/")
    .map((t) => t.replace(/~1/g, "/").replace(/~0/g, "~"))
    .reduce((acc, t) => (/^\d+$/.test(t) ? `${acc}[${t}]` : acc === "" ? t : `${acc}.${t}`), "");
}

/** Reads and validates a spec file. Throws SpecError (exit 2) listing every problem. */
export function loadSpec(file: string): FleetSpec {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(code === "ENOENT" ? `no such spec file: ${file}` : `cannot read ${file}: ${(e as Error).message}`, "create one with `fluxguard init > fleet.yaml`");
  }
  return parseSpec(text, file);
}

export function parseSpec(text: string, file: string): FleetSpec {
  const parsed = parseYamlFile(file, text);
  const yamlErr = parsed.errors[0];
  if (yamlErr) throw new SpecError(file, [{ line: yamlErr.line, column: yamlErr.column, path: "", message: `invalid YAML: ${yamlErr.message}` }]);
  if (parsed.documents.length > 1) throw new SpecError(file, [{ line: 1, column: 1, path: "", message: "a fleet spec is one YAML document" }]);
  const doc = parsed.documents[0] ?? null;
  const ctx = new Ctx(doc);
  const spec = build(ctx, doc?.value ?? null, dirname(resolve(file)));
  if (ctx.problems.length > 0 || spec === null) {
    const problems = ctx.problems.length ? ctx.problems : [{ line: 1, column: 1, path: "", message: "the spec is empty" }];
    problems.sort((a, b) => a.line - b.line || a.column - b.column);
    throw new SpecError(file, problems);
  }
  return spec;
}

function build(ctx: Ctx, root: JsonValue, _baseDir: string): FleetSpec | null {
  if (root === null) {
    ctx.error("", "the spec is empty; start from `fluxguard init`");
    return null;
  }
  const top = ctx.mapping("", root, SPEC_KEYS.top, "the spec");
  if (!top) return null;
  if (top["apiVersion"] !== undefined && top["apiVersion"] !== SPEC_API_VERSION) ctx.error("/apiVersion", `must be ${SPEC_API_VERSION}`);
  if (top["kind"] !== undefined && top["kind"] !== SPEC_KIND) ctx.error("/kind", `must be ${SPEC_KIND}`);

  // --- platform ---------------------------------------------------------------------
  const pl = ctx.mapping("/platform", top["platform"], SPEC_KEYS.platform, "platform");
  if (!pl) ctx.error(top["platform"] === undefined ? "" : "/platform", "platform is required (at least platform.repository)");
  const p = pl ?? {};
  const namespace = ctx.string("/platform/namespace", p["namespace"], { pattern: DNS_LABEL, patternHint: "is not a valid namespace name" }) ?? "flux-system";
  const repository = sshUrl(ctx, "/platform/repository", p["repository"], true) ?? "ssh://git@example.invalid/fleet";
  const branch = ctx.string("/platform/branch", p["branch"], { pattern: BRANCH, patternHint: "is not a valid branch name" }) ?? "main";
  const signingKeys = keys(ctx, "/platform/signingKeys", p["signingKeys"]) ?? [];
  const installer = installerOf(ctx, "/platform/installer", p["installer"]) ?? "bootstrap";
  const fluxVersion = ctx.string("/platform/fluxVersion", p["fluxVersion"], { pattern: /^\d+\.\d+(\.(\d+|x))?$/, patternHint: "must be a Flux version such as 2.9.x" }) ?? "2.9.x";
  const platformAlerts = alerts(ctx, "/platform/alerts", p["alerts"], { type: "slack", channel: "flux-platform", secretName: "platform-alerts" });
  const net = ctx.mapping("/platform/network", p["network"], SPEC_KEYS.network, "platform.network") ?? {};
  const network = {
    sourceCIDRs: ctx.strings("/platform/network/sourceCIDRs", net["sourceCIDRs"], "sourceCIDRs", { pattern: CIDR, patternHint: "is not a CIDR" }) ?? ["0.0.0.0/0"],
    sourceExceptCIDRs: ctx.strings("/platform/network/sourceExceptCIDRs", net["sourceExceptCIDRs"], "sourceExceptCIDRs", { pattern: CIDR, patternHint: "is not a CIDR" }) ?? [
      "10.0.0.0/8",
      "100.64.0.0/10",
      "169.254.0.0/16",
      "172.16.0.0/12",
      "192.168.0.0/16",
    ],
    sourcePorts: ports(ctx, "/platform/network/sourcePorts", net["sourcePorts"]) ?? [22, 443],
    apiServerCIDRs: ctx.strings("/platform/network/apiServerCIDRs", net["apiServerCIDRs"], "apiServerCIDRs", { pattern: CIDR, patternHint: "is not a CIDR" }) ?? [
      "10.0.0.0/8",
      "172.16.0.0/12",
      "192.168.0.0/16",
    ],
  };
  const mon = ctx.mapping("/platform/monitoring", p["monitoring"], SPEC_KEYS.monitoring, "platform.monitoring") ?? {};
  const monitoring = {
    prometheus: ctx.bool("/platform/monitoring/prometheus", mon["prometheus"]) ?? true,
    namespace: ctx.string("/platform/monitoring/namespace", mon["namespace"], { pattern: DNS_LABEL, patternHint: "is not a valid namespace name" }) ?? "monitoring",
    ruleLabels: labels(ctx, "/platform/monitoring/ruleLabels", mon["ruleLabels"]) ?? { release: "kube-prometheus-stack" },
    monitor: ctx.bool("/platform/monitoring/monitor", mon["monitor"]) ?? false,
    monitorNamespace: ctx.string("/platform/monitoring/monitorNamespace", mon["monitorNamespace"], { pattern: DNS_LABEL, patternHint: "is not a valid namespace name" }) ?? "fluxguard-system",
    notReadyAfter: durationSeconds(ctx.string("/platform/monitoring/notReadyAfter", mon["notReadyAfter"], { pattern: /^[0-9]+(s|m|h)$/, patternHint: "is not a duration like 10m, 600s or 1h" }) ?? "10m"),
  };

  const adm = ctx.mapping("/platform/admission", p["admission"], SPEC_KEYS.admission, "platform.admission") ?? {};
  const action = (at: string, v: JsonValue | undefined): AdmissionAction | undefined => {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "string" || !(ADMISSION_ACTIONS as readonly string[]).includes(v)) {
      ctx.error(at, `must be one of ${ADMISSION_ACTIONS.join(", ")}`);
      return undefined;
    }
    return v as AdmissionAction;
  };
  const admissionRules: Record<string, AdmissionAction> = {};
  const ruleMap = ctx.mapping("/platform/admission/rules", adm["rules"], nativeRuleIds(), "platform.admission.rules");
  for (const [id, v] of Object.entries(ruleMap ?? {})) {
    const a = action(`/platform/admission/rules/${escape(id)}`, v);
    if (a) admissionRules[id] = a;
  }
  const admission = { default: action("/platform/admission/default", adm["default"]) ?? ("Deny" as AdmissionAction), rules: admissionRules };

  // --- defaults for tenants --------------------------------------------------------------
  const d = ctx.mapping("/defaults", top["defaults"], SPEC_KEYS.defaults, "defaults") ?? {};
  const defaultKinds = kindList(ctx, "/defaults/allowedKinds", d["allowedKinds"], "defaults") ?? null;
  const defaultRegistries = registries(ctx, "/defaults/allowedRegistries", d["allowedRegistries"]) ?? null;
  const defaultAlerts = d["alerts"] !== undefined ? alerts(ctx, "/defaults/alerts", d["alerts"], platformAlerts) : null;

  // --- clusters ------------------------------------------------------------------------------
  const clusters: ClusterSpec[] = [];
  const clusterList = ctx.list("/clusters", top["clusters"], "clusters");
  if (clusterList === undefined) {
    clusters.push({ name: "production", environment: "production", path: "clusters/production", branch, installer });
  } else {
    if (clusterList.length === 0) ctx.error("/clusters", "lists no cluster; omit it for a single 'production' cluster");
    const names = new Map<string, number>();
    const paths = new Map<string, number>();
    clusterList.forEach((raw, i) => {
      const cp = `/clusters/${i}`;
      const c = ctx.mapping(cp, raw, SPEC_KEYS.cluster, `clusters[${i}]`);
      if (!c) {
        if (raw !== null) return;
        ctx.error(cp, "a cluster needs at least a name");
        return;
      }
      const name = ctx.string(`${cp}/name`, c["name"], { required: true, pattern: DNS_LABEL, patternHint: "must be a lowercase DNS label" });
      if (!name) return;
      if (names.has(name)) ctx.error(`${cp}/name`, `duplicate cluster '${name}' (also clusters[${names.get(name)}])`);
      names.set(name, i);
      const path = ctx.string(`${cp}/path`, c["path"], { pattern: REL_PATH, patternHint: "must be a relative path inside the fleet repository" });
      const cpath = normalizePath(path ?? `clusters/${name}`);
      if (paths.has(cpath)) ctx.error(`${cp}/path`, `cluster '${name}' shares its path '${cpath}' with clusters[${paths.get(cpath)}]: one Flux instance per environment (Weakness 5)`);
      paths.set(cpath, i);
      clusters.push({
        name,
        environment: ctx.string(`${cp}/environment`, c["environment"], { pattern: DNS_LABEL, patternHint: "must be a lowercase DNS label" }) ?? name,
        path: cpath,
        branch: ctx.string(`${cp}/branch`, c["branch"], { pattern: BRANCH, patternHint: "is not a valid branch name" }) ?? branch,
        installer: installerOf(ctx, `${cp}/installer`, c["installer"]) ?? installer,
      });
    });
  }
  const clusterNames = clusters.map((c) => c.name);

  // --- tenants ---------------------------------------------------------------------------------
  const tenants: TenantSpec[] = [];
  const tenantList = ctx.list("/tenants", top["tenants"], "tenants") ?? [];
  const tenantNames = new Map<string, number>();
  const owners = new Map<string, string>();
  owners.set(namespace, "the platform (Flux namespace)");
  if (monitoring.prometheus) owners.set(monitoring.namespace, "the platform (monitoring namespace)");
  if (monitoring.monitor) owners.set(monitoring.monitorNamespace, "the platform (fluxguard monitor namespace)");
  tenantList.forEach((raw, i) => {
    const tp = `/tenants/${i}`;
    const t = ctx.mapping(tp, raw, SPEC_KEYS.tenant, `tenants[${i}]`);
    if (!t) {
      if (raw === null) ctx.error(tp, "a tenant needs at least a name and a repository");
      return;
    }
    const name = ctx.string(`${tp}/name`, t["name"], { required: true, pattern: DNS_LABEL, patternHint: "must be a lowercase DNS label", max: 40 });
    if (!name) return;
    if (tenantNames.has(name)) ctx.error(`${tp}/name`, `duplicate tenant '${name}' (also tenants[${tenantNames.get(name)}])`);
    tenantNames.set(name, i);
    const nsList = ctx.strings(`${tp}/namespaces`, t["namespaces"], "namespaces", { pattern: DNS_LABEL, patternHint: "is not a valid namespace name" }) ?? [name];
    if (t["namespaces"] !== undefined && nsList.length === 0) ctx.error(`${tp}/namespaces`, "lists no namespace");
    nsList.forEach((ns, j) => {
      const np = t["namespaces"] === undefined ? `${tp}/name` : `${tp}/namespaces/${j}`;
      if (RESERVED_NAMESPACES.includes(ns)) ctx.error(np, `namespace '${ns}' is reserved for the cluster and cannot belong to a tenant`);
      else if (owners.has(ns)) ctx.error(np, `duplicate namespace '${ns}': already owned by ${owners.get(ns)}`);
      else owners.set(ns, `tenant '${name}'`);
    });
    const home = nsList[0] ?? name;

    const kindsRaw = t["allowedKinds"] !== undefined ? kindList(ctx, `${tp}/allowedKinds`, t["allowedKinds"], `tenant '${name}'`) : (defaultKinds ?? DEFAULT_ALLOWED_KINDS.map((k) => parseAllowedKind(k)).flatMap((r) => (r.ok ? [r.kind] : [])));
    const kinds = [...(kindsRaw ?? [])];
    const addedKinds: string[] = [];

    const regs = t["allowedRegistries"] !== undefined ? registries(ctx, `${tp}/allowedRegistries`, t["allowedRegistries"]) : defaultRegistries;
    if (!regs || regs.length === 0) {
      if (t["allowedRegistries"] === undefined) {
        ctx.error(tp, `tenant '${name}' has no allowed registries: set tenants[${i}].allowedRegistries or defaults.allowedRegistries (Adversary 5: images must come from registries you trust)`);
      } else if (regs) ctx.error(`${tp}/allowedRegistries`, "lists no registry");
    }

    const tenantClusters = t["clusters"] !== undefined ? (ctx.strings(`${tp}/clusters`, t["clusters"], "clusters") ?? []) : clusterNames;
    tenantClusters.forEach((c, j) => {
      if (!clusterNames.includes(c)) ctx.error(`${tp}/clusters/${j}`, `unknown cluster '${c}' (clusters: ${clusterNames.join(", ")})`);
    });

    const charts: ChartSpec[] = [];
    const chartNames = new Set<string>();
    (ctx.list(`${tp}/charts`, t["charts"], "charts") ?? []).forEach((rc, j) => {
      const cp = `${tp}/charts/${j}`;
      const c = ctx.mapping(cp, rc, SPEC_KEYS.chart, `tenants[${i}].charts[${j}]`);
      if (!c) return;
      const cname = ctx.string(`${cp}/name`, c["name"], { required: true, pattern: DNS_LABEL, patternHint: "must be a lowercase DNS label" });
      const repo = ctx.string(`${cp}/repository`, c["repository"], { required: true, pattern: /^(https|oci):\/\/\S+$/, patternHint: "must be an https:// Helm repository or an oci:// registry URL (never plain http)" });
      const version = ctx.string(`${cp}/version`, c["version"], { required: true });
      if (version !== undefined) {
        const r = checkBoundedRange(version);
        if (!r.ok) ctx.error(`${cp}/version`, `chart version ${r.message}: pin a bounded range such as ">=1.0.0 <2.0.0"`);
      }
      const cns = ctx.string(`${cp}/namespace`, c["namespace"], { pattern: DNS_LABEL }) ?? home;
      if (!nsList.includes(cns)) ctx.error(`${cp}/namespace`, `'${cns}' is not one of tenant '${name}'s namespaces`);
      const verify = chartVerify(ctx, `${cp}/verify`, c["verify"]);
      if (c["verify"] !== undefined && repo && !repo.startsWith("oci://")) ctx.error(`${cp}/verify`, "chart signatures can be verified only for oci:// charts");
      if (cname && chartNames.has(cname)) ctx.error(`${cp}/name`, `duplicate chart '${cname}'`);
      if (cname) chartNames.add(cname);
      if (cname && repo && version) {
        charts.push({
          name: cname,
          repository: repo.replace(/\/+$/, ""),
          chart: ctx.string(`${cp}/chart`, c["chart"], { pattern: /^[a-z0-9][a-z0-9._-]*$/ }) ?? cname,
          version,
          namespace: cns,
          verify: verify ?? null,
        });
      }
    });
    if (charts.length > 0 && !kinds.some((k) => k.group === "" && k.resource === "secrets")) {
      kinds.push({ text: "core/secrets", group: "", resource: "secrets" });
      addedKinds.push("core/secrets");
    }

    const images: ImageSpec[] = [];
    const imageNames = new Set<string>();
    (ctx.list(`${tp}/images`, t["images"], "images") ?? []).forEach((ri, j) => {
      const ip = `${tp}/images/${j}`;
      const im = ctx.mapping(ip, ri, SPEC_KEYS.image, `tenants[${i}].images[${j}]`);
      if (!im) return;
      const iname = ctx.string(`${ip}/name`, im["name"], { required: true, pattern: DNS_LABEL, patternHint: "must be a lowercase DNS label" });
      const image = ctx.string(`${ip}/image`, im["image"], { required: true, pattern: /^[a-z0-9][a-z0-9.:/_-]*[a-z0-9]$/, patternHint: "must be an image repository without tag or digest, e.g. ghcr.io/example/web" });
      if (image && regs && !regs.some((r) => image.startsWith(registryPrefix(r)))) {
        ctx.error(`${ip}/image`, `'${image}' is not in tenant '${name}'s allowed registries (${regs.join(", ")}) (Adversary 5)`);
      }
      const range = ctx.string(`${ip}/range`, im["range"], { required: true });
      if (range !== undefined) {
        const r = checkBoundedRange(range);
        if (!r.ok) ctx.error(`${ip}/range`, `semver range ${r.message} (Adversary 5: a floating policy follows any tag an attacker pushes)`);
      }
      const tagPattern = ctx.string(`${ip}/tagPattern`, im["tagPattern"]) ?? DEFAULT_TAG_PATTERN;
      if (im["tagPattern"] !== undefined && !isAnchored(tagPattern)) ctx.error(`${ip}/tagPattern`, `'${tagPattern}' must be anchored with ^ and $ (Adversary 5: an unanchored pattern matches 'v1.2.3-evil')`);
      const extract = ctx.string(`${ip}/extract`, im["extract"]) ?? (im["tagPattern"] === undefined ? DEFAULT_TAG_EXTRACT : "");
      if (iname && imageNames.has(iname)) ctx.error(`${ip}/name`, `duplicate image policy '${iname}'`);
      if (iname) imageNames.add(iname);
      if (iname && image && range) images.push({ name: iname, image, range, tagPattern, extract });
    });

    const repoUrl = sshUrl(ctx, `${tp}/repository`, t["repository"], true);
    const path = ctx.string(`${tp}/path`, t["path"], { pattern: REL_PATH_PLACEHOLDERS, patternHint: "must be a relative path in the tenant repository ({cluster} and {environment} are replaced)" }) ?? "./";
    const tbranch = ctx.string(`${tp}/branch`, t["branch"], { pattern: BRANCH_PLACEHOLDERS, patternHint: "is not a valid branch name" }) ?? "main";
    const tenantKeys = t["signingKeys"] !== undefined ? (keys(ctx, `${tp}/signingKeys`, t["signingKeys"]) ?? []) : signingKeys;
    const tenantAlerts = alerts(ctx, `${tp}/alerts`, t["alerts"], {
      type: (defaultAlerts ?? platformAlerts).type,
      channel: (defaultAlerts ?? platformAlerts).channel,
      secretName: `${name}-alerts`,
    });
    if (kindsRaw && repoUrl) {
      tenants.push({
        name,
        namespaces: nsList,
        repository: repoUrl,
        branch: tbranch,
        path: normalizeTenantPath(path),
        allowedKinds: kinds,
        addedKinds,
        allowedRegistries: regs ?? [],
        signingKeys: tenantKeys,
        clusters: tenantClusters.filter((c) => clusterNames.includes(c)),
        charts,
        images,
        alerts: tenantAlerts,
      });
    }
  });

  return {
    platform: { namespace, repository, branch, signingKeys, installer, fluxVersion, alerts: platformAlerts, network, monitoring, admission },
    clusters,
    tenants,
  };
}

const BRANCH = /^(?!\/|.*\.\.|.*\/\/|.*\/$|.*\.lock$)[A-Za-z0-9._/-]+$/;
const BRANCH_PLACEHOLDERS = /^(?!\/|.*\.\.|.*\/\/|.*\/$)[A-Za-z0-9._/{}-]+$/;
const REL_PATH = /^(?!\/)(?!.*(^|\/)\.\.(\/|$))[A-Za-z0-9._/-]+$/;
const REL_PATH_PLACEHOLDERS = /^(?!\/)(?!.*(^|\/)\.\.(\/|$))[A-Za-z0-9._/{}-]+$/;

function normalizePath(p: string): string {
  return p.replace(/^\.\//, "").replace(/\/+$/, "");
}

function normalizeTenantPath(p: string): string {
  const trimmed = p.replace(/\/+$/, "");
  if (trimmed === "" || trimmed === ".") return "./";
  return trimmed.startsWith("./") ? trimmed : `./${trimmed}`;
}

/** `ghcr.io/example` allows `ghcr.io/example/web`, never `ghcr.io/example-evil/web`. */
export function registryPrefix(r: string): string {
  return r.endsWith("/") ? r : `${r}/`;
}

function sshUrl(ctx: Ctx, p: string, v: JsonValue | undefined, required: boolean): string | undefined {
  const s = ctx.string(p, v, { required });
  if (s === undefined) return undefined;
  if (/^https?:\/\//.test(s)) {
    ctx.error(p, `'${s}' is an HTTP(S) URL: use an SSH URL with a read-only deploy key (ssh://git@host/org/repo) (Weakness 3)`);
    return undefined;
  }
  const scp = /^([A-Za-z0-9._-]+)@([A-Za-z0-9.-]+):(?!\/\/)(.+)$/.exec(s);
  if (scp) {
    ctx.error(p, `'${s}' is scp-like syntax, which Flux does not accept: write ssh://${scp[1]}@${scp[2]}/${scp[3]}`);
    return undefined;
  }
  if (!/^ssh:\/\/[A-Za-z0-9._-]+@[A-Za-z0-9.-]+(:\d+)?\/\S+$/.test(s)) {
    ctx.error(p, `'${s}' must be an SSH URL such as ssh://git@github.com/org/repo`);
    return undefined;
  }
  return s;
}

/** The host (and port) of an ssh:// URL, for known_hosts. */
export function sshHost(url: string): { host: string; port: number | null } {
  const m = /^ssh:\/\/[^@]+@([^/:]+)(?::(\d+))?\//.exec(url);
  return { host: m?.[1] ?? "", port: m?.[2] ? Number(m[2]) : null };
}

function installerOf(ctx: Ctx, p: string, v: JsonValue | undefined): Installer | undefined {
  if (v === undefined || v === null) return undefined;
  if (v === "bootstrap" || v === "operator") return v;
  ctx.error(p, "must be bootstrap (flux bootstrap) or operator (Flux Operator FluxInstance)");
  return undefined;
}

function keys(ctx: Ctx, p: string, v: JsonValue | undefined): SigningKey[] | undefined {
  const l = ctx.list(p, v, "signingKeys");
  if (!l) return undefined;
  const out: SigningKey[] = [];
  const seen = new Set<string>();
  l.forEach((raw, i) => {
    const kp = `${p}/${i}`;
    const k = ctx.mapping(kp, raw, SPEC_KEYS.signingKey, "a signing key");
    if (!k) return;
    const name = ctx.string(`${kp}/name`, k["name"], { required: true, pattern: KEY_NAME, patternHint: "may hold only letters, digits, '.', '_' and '-'" });
    const fingerprint = ctx.string(`${kp}/fingerprint`, k["fingerprint"]);
    const file = ctx.string(`${kp}/file`, k["file"]);
    const typ = k["type"];
    if (typ !== undefined && typ !== "pgp" && typ !== "ssh") ctx.error(`${kp}/type`, "must be pgp or ssh");
    if ((fingerprint === undefined) === (file === undefined)) {
      ctx.error(kp, "a signing key has exactly one of fingerprint (PGP fingerprint or SSH SHA256:...) or file (a public key file)");
      return;
    }
    let type: "pgp" | "ssh" | undefined = typ === "pgp" || typ === "ssh" ? typ : undefined;
    if (fingerprint !== undefined) {
      const inferred = PGP_FPR.test(fingerprint) ? "pgp" : SSH_FPR.test(fingerprint) ? "ssh" : undefined;
      if (!inferred) {
        ctx.error(`${kp}/fingerprint`, `'${fingerprint}' is neither a PGP fingerprint (40 hex digits) nor an SSH fingerprint (SHA256:...)`);
        return;
      }
      if (type && type !== inferred) ctx.error(`${kp}/type`, `the fingerprint is ${inferred}, not ${type}`);
      type = inferred;
    } else if (file !== undefined) {
      const inferred = /\.(asc|gpg|pgp)$/.test(file) ? "pgp" : /\.(pub|sshpub)$/.test(file) ? "ssh" : undefined;
      if (!type && !inferred) {
        ctx.error(`${kp}/file`, `cannot tell the key type of '${file}': name it *.asc (PGP) or *.pub (SSH), or set type`);
        return;
      }
      type = type ?? inferred;
    }
    if (!name || !type) return;
    if (seen.has(name)) ctx.error(`${kp}/name`, `duplicate signing key '${name}'`);
    seen.add(name);
    out.push({ name, type, fingerprint: fingerprint ?? null, file: file ?? null });
  });
  return out;
}

function alerts(ctx: Ctx, p: string, v: JsonValue | undefined, dflt: AlertReceiver): AlertReceiver {
  const a = ctx.mapping(p, v, SPEC_KEYS.alerts, p.slice(1).replace(/\/(\d+)\//g, "[$1].").replace(/\//g, ".")) ?? {};
  const type = ctx.string(`${p}/type`, a["type"]);
  if (type !== undefined && !(PROVIDER_TYPES as readonly string[]).includes(type)) ctx.error(`${p}/type`, `'${type}' is not a notification Provider type (e.g. slack, msteams, generic, pagerduty)`);
  const channel = ctx.string(`${p}/channel`, a["channel"]);
  const secretName = ctx.string(`${p}/secretName`, a["secretName"], { pattern: DNS_SUBDOMAIN, patternHint: "is not a valid Secret name" });
  return {
    type: type ?? dflt.type,
    channel: channel ?? (a["type"] !== undefined && a["type"] !== dflt.type ? null : dflt.channel),
    secretName: secretName ?? dflt.secretName,
  };
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function kindList(ctx: Ctx, p: string, v: JsonValue | undefined, owner: string): AllowedKind[] | undefined {
  const l = ctx.list(p, v, "allowedKinds");
  if (!l) return undefined;
  if (l.length === 0) ctx.error(p, "lists no kind");
  const out: AllowedKind[] = [];
  const seen = new Set<string>();
  let ok = true;
  l.forEach((raw, i) => {
    const s = ctx.string(`${p}/${i}`, raw, { required: true });
    if (s === undefined) return;
    const r = parseAllowedKind(s);
    if (!r.ok) {
      ctx.error(`${p}/${i}`, r.message);
      ok = false;
      return;
    }
    if (isClusterScopedResource(r.kind)) {
      ctx.error(`${p}/${i}`, `${owner} would own the cluster-scoped kind '${s}'; tenants get namespaced kinds only (Adversary 3); the platform tier manages cluster-scoped objects`);
      ok = false;
      return;
    }
    const key = `${r.kind.group}/${r.kind.resource}`;
    if (seen.has(key)) ctx.error(`${p}/${i}`, `duplicate kind '${s}'`);
    seen.add(key);
    out.push(r.kind);
  });
  return ok ? out : undefined;
}

function registries(ctx: Ctx, p: string, v: JsonValue | undefined): string[] | undefined {
  const l = ctx.strings(p, v, "allowedRegistries", {
    pattern: REGISTRY,
    patternHint: "must be a registry host with an optional path, without scheme, tag or wildcard (e.g. ghcr.io/example)",
  });
  if (!l) return undefined;
  return [...new Set(l.map((r) => r.replace(/\/+$/, "")))].sort();
}

/** `10m` -> 600; the pattern was checked by the caller (an invalid value reads as 10m). */
function durationSeconds(v: string): number {
  const m = /^([0-9]+)(s|m|h)$/.exec(v);
  if (!m) return 600;
  return Number(m[1]) * (m[2] === "h" ? 3600 : m[2] === "m" ? 60 : 1);
}

function ports(ctx: Ctx, p: string, v: JsonValue | undefined): number[] | undefined {
  const l = ctx.list(p, v, "sourcePorts");
  if (!l) return undefined;
  const out: number[] = [];
  l.forEach((x, i) => {
    if (typeof x !== "number" || !Number.isInteger(x) || x < 1 || x > 65535) ctx.error(`${p}/${i}`, "must be a port number");
    else out.push(x);
  });
  return [...new Set(out)].sort((a, b) => a - b);
}

function labels(ctx: Ctx, p: string, v: JsonValue | undefined): Record<string, string> | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "object" || Array.isArray(v)) {
    ctx.error(p, "must be a mapping of label to value");
    return undefined;
  }
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) {
    if (typeof val !== "string") ctx.error(`${p}/${escape(k)}`, "label values are strings");
    else out[k] = val;
  }
  return out;
}

function chartVerify(ctx: Ctx, p: string, v: JsonValue | undefined): ChartVerify | undefined {
  const m = ctx.mapping(p, v, SPEC_KEYS.chartVerify, "verify");
  if (!m) return undefined;
  const provider = m["provider"] ?? "cosign";
  if (provider !== "cosign" && provider !== "notation") {
    ctx.error(`${p}/provider`, "must be cosign or notation");
    return undefined;
  }
  const secretName = ctx.string(`${p}/secretName`, m["secretName"], { pattern: DNS_SUBDOMAIN, patternHint: "is not a valid Secret name" }) ?? null;
  const issuer = ctx.string(`${p}/issuer`, m["issuer"]) ?? null;
  const subject = ctx.string(`${p}/subject`, m["subject"]) ?? null;
  if ((issuer === null) !== (subject === null)) ctx.error(p, "keyless verification needs both issuer and subject");
  if (provider === "notation" && secretName === null) ctx.error(p, "notation verification needs secretName (CA certificates and trustpolicy.json)");
  if (provider === "cosign" && secretName === null && issuer === null) {
    ctx.error(p, "keyless cosign verification needs issuer and subject (the signer's OIDC identity), or secretName for public keys; without them any Sigstore identity is accepted");
  }
  return { provider, secretName, issuer, subject };
}
