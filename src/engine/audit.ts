/**
 * The audit: load a model, run every enabled rule, apply configuration and suppressions,
 * resolve locations, and produce a deterministic report.
 */
import { createHash } from "node:crypto";
import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import type { FleetConfig } from "../core/config.js";
import { UsageError } from "../core/errors.js";
import type { FleetModel, ModelObject } from "../core/model.js";
import { clusterOf } from "../core/model.js";
import type { Report, Rule } from "../core/rule.js";
import { severityRank, SEVERITIES, type Severity } from "../core/types.js";
import { VERSION } from "../core/version.js";
import { loadConfig } from "../loader/config.js";
import { loadRepository, type LoadOptions, type LoadResult } from "../loader/repository.js";
import { ALL_RULES } from "../rules/index.js";
import { evaluatePosture } from "./posture.js";
import { redactMessage } from "../core/redact.js";
import { rootCauses } from "./root-causes.js";
import { IGNORE_ANNOTATION, parseSuppressions } from "../core/suppressions.js";
import { REPORT_SCHEMA_VERSION, type AuditReport, type Finding } from "./report.js";

export interface AuditOptions {
  root: string;
  configPath?: string;
  failOn?: Severity;
  env?: Record<string, string | undefined>;
  /**
   * Untrusted mode (a pull request): `configPath` is the trusted config; the repository's own
   * `.fluxguard.yaml` can only tighten rules, and in-source suppressions do not keep the run
   * from failing (they are still reported as suppressed).
   */
  untrusted?: boolean;
  rules?: readonly Rule[];
  /** Passed through to the loader (tests force the built-in resolver with `null`). */
  kustomize?: LoadOptions["kustomize"];
  maxFileBytes?: number;
}


export async function runAudit(opts: AuditOptions): Promise<AuditReport> {
  const root = resolve(opts.root);
  if (!existsSync(root)) throw new UsageError(`no such directory: ${opts.root}`);
  if (!statSync(root).isDirectory()) throw new UsageError(`not a directory: ${opts.root}`, "fluxguard audit scans a directory of manifests");
  const rules = opts.rules ?? ALL_RULES;
  const severityOf = new Map(rules.map((r) => [r.meta.id, r.meta.severity]));
  const config = loadConfig(root, opts.configPath, rules.map((r) => r.meta.id), { untrusted: opts.untrusted ?? false, severityOf: (id) => severityOf.get(id) });
  const loadOpts: LoadOptions = { root, config, env: opts.env ?? process.env };
  if (opts.kustomize !== undefined) loadOpts.kustomize = opts.kustomize;
  if (opts.maxFileBytes !== undefined) loadOpts.maxFileBytes = opts.maxFileBytes;
  const loaded = await loadRepository(loadOpts);
  return buildReport(loaded, config, rules, opts.failOn ?? "high", { kind: "directory", path: opts.root });
}

export interface ClusterAuditOptions {
  kubeconfig?: string;
  context?: string;
  configPath?: string;
  failOn?: Severity;
  rules?: readonly Rule[];
  /** Where KUBECONFIG and HOME come from (the CLI's environment; process.env by default). */
  env?: Record<string, string | undefined>;
}

/** `audit --cluster`: the same rules over the live cluster, plus the live-only analysis. */
export async function runClusterAudit(opts: ClusterAuditOptions): Promise<AuditReport> {
  const rules = opts.rules ?? ALL_RULES;
  const config = loadConfig(null, opts.configPath, rules.map((r) => r.meta.id));
  const { loadCluster } = await import("../loader/cluster.js");
  const { analyzeLive } = await import("./live.js");
  const { model, live } = await loadCluster({ config, env: opts.env ?? process.env, ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}), ...(opts.context ? { context: opts.context } : {}) });
  let analysis;
  try {
    analysis = await analyzeLive(model, live);
  } finally {
    await live.close();
  }
  const report = buildReport(
    { model, parseErrors: [], skipped: live.notices, kustomize: null, filesScanned: 0, nonObjects: [] },
    config,
    rules,
    opts.failOn ?? "high",
    { kind: "cluster", path: live.context },
  );
  report.live = analysis;
  return report;
}

/** Runs the rules over a loaded model; shared by file, cluster and admission modes. */
export function buildReport(
  loaded: Pick<LoadResult, "model" | "parseErrors" | "skipped" | "kustomize" | "filesScanned" | "nonObjects"> & { unassessed?: LoadResult["unassessed"] } & Pick<Partial<LoadResult>, "fluxOperator">,
  config: FleetConfig,
  rules: readonly Rule[],
  failOn: Severity,
  target: AuditReport["target"],
): AuditReport {
  const { model } = loaded;
  const unassessed = dedupeNotices(loaded.unassessed ?? []);
  const raw = runRules(model, config, rules, loaded.parseErrors, unassessed);
  // Messages quote scanned content: URL credentials are masked here, once, for every format.
  for (const r of raw) r.message = redactMessage(r.message);
  const findings = finalize(raw, model, config);
  const active = findings.filter((f) => !f.suppressed);
  const bySeverity = Object.fromEntries(SEVERITIES.map((s) => [s, active.filter((f) => f.severity === s).length])) as Record<Severity, number>;
  const enabled = new Set(rules.filter((r) => config.rules[r.meta.id]?.enabled !== false).map((r) => r.meta.id));
  const causes = rootCauses(findings, rules);
  const causeOf = new Map(causes.flatMap((c) => c.findings.map((fp) => [fp, c.id] as const)));
  for (const f of findings) f.rootCause = f.suppressed ? null : (causeOf.get(f.fingerprint) ?? null);
  return {
    schemaVersion: REPORT_SCHEMA_VERSION,
    tool: { name: "fluxguard", version: VERSION },
    target,
    summary: {
      findings: active.length,
      suppressed: findings.length - active.length,
      bySeverity,
      objects: model.objects.length,
      files: loaded.filesScanned,
      clusters: model.clusters.map((c) => c.id),
      failOn,
      // In untrusted mode a suppression written in the scanned content does not pass the run.
      failed: (config.untrusted ? findings : active).some((f) => severityRank(f.severity) >= severityRank(failOn)),
      ...(config.untrusted ? { untrusted: { repositoryConfig: config.untrusted.repositoryConfig, ignored: [...config.untrusted.ignored], suppressionsCount: false } } : {}),
      assumptions: assumptions(model),
    },
    findings,
    rootCauses: causes,
    posture: evaluatePosture(model, findings, enabled),
    rendering: {
      kustomize: loaded.kustomize,
      ...(model.resourceSets?.length ? { fluxOperator: loaded.fluxOperator ?? null } : {}),
      ...(model.fluxInstances?.length
        ? {
            fluxInstances: model.fluxInstances.map((f) => ({
              instance: `${f.instance.object.metadata.namespace ?? "flux-system"}/${f.instance.object.metadata.name}`,
              file: f.instance.origin.file ?? null,
              renderedBy: f.tool,
              problem: f.problem === null ? null : redactMessage(f.problem),
            })),
          }
        : {}),
      reconcilers: [...model.renderNotes].map((n) => ({ ...n, problems: n.problems.map(redactMessage) })).sort((a, b) => a.reconciler.localeCompare(b.reconciler)),
    },
    notices: [
      ...loaded.skipped.map((n) => ({ ...n, reason: redactMessage(n.reason), level: /Helm chart/.test(n.reason) ? ("verbose" as const) : ("warn" as const) })),
      ...loaded.nonObjects.map((n) => ({ ...n, level: "verbose" as const })),
    ].sort((a, b) => a.file.localeCompare(b.file) || a.reason.localeCompare(b.reason)),
    empty: model.objects.length === 0 && model.kustomizeFiles.length === 0 && loaded.parseErrors.length === 0 && unassessed.length === 0,
  };
}

interface RawFinding extends Report {
  rule: Rule;
}

function dedupeNotices(list: LoadResult["unassessed"]): LoadResult["unassessed"] {
  const seen = new Set<string>();
  return list.filter((n) => {
    const k = `${n.file}\0${n.reason}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/**
 * Whether a rule runs on a model of this mode. An admission model is a live cluster with one
 * object in place, so rules meant for clusters run on it too.
 */
export function ruleApplies(rule: Rule, mode: FleetModel["mode"]): boolean {
  const modes = rule.meta.modes;
  return !modes || modes.includes(mode) || (mode === "admission" && modes.includes("cluster"));
}

/**
 * The findings of the given rules over a model, with configuration (severity overrides,
 * disabled rules) and suppression annotations applied; what the admission webhook asks.
 * A rule that throws is passed to `onError` (when given) and the others still run.
 */
export function evaluateRules(model: FleetModel, config: FleetConfig, rules: readonly Rule[], onError?: (rule: Rule, error: unknown) => void): Finding[] {
  return finalize(runRules(model, config, rules, [], [], onError), model, config);
}

/**
 * A finding as admission compares it: the rule, the object and field, the message and the
 * severity after configuration, de-duplicated and with suppressed ones dropped exactly as
 * {@link evaluateRules} does, but without what only reports need (locations resolved,
 * fingerprints, root causes, sorting). {@link admissionFindingsToFindings} turns the few an
 * admission answer quotes into full findings.
 */
export interface AdmissionFinding {
  ruleId: string;
  severity: Severity;
  resource: ModelObject["ref"] | null;
  /** JSON pointer into `resource`; null without one. */
  pointer: string | null;
  message: string;
  /** What the rules reported (several when they de-duplicate to one finding). */
  readonly raw: readonly unknown[];
}

/**
 * The unsuppressed findings of the given rules over a model, as {@link evaluateRules} would
 * return them (same de-duplication, severities, suppressions), in the cheap shape admission
 * compares. A rule that throws is passed to `onError` and the others still run.
 */
export function admissionFindings(model: FleetModel, config: FleetConfig, rules: readonly Rule[], onError: (rule: Rule, error: unknown) => void): AdmissionFinding[] {
  const byKey = new Map<string, { f: AdmissionFinding & { raw: RawFinding[] }; suppressed: boolean }>();
  const suppressions = new Map<ModelObject, ReturnType<typeof parseSuppressions>["ok"]>();
  for (const r of runRules(model, config, rules, [], [], onError)) {
    const obj = r.object ?? null;
    // finalize's location, message and de-duplication key (locations of live objects are null).
    const loc = r.location ?? (r.file && r.pointer !== undefined ? r.file.locate(r.pointer) : r.file ? r.file.locate("") : obj ? obj.locate(r.pointer ?? "") : null);
    const patch = obj && !r.location && r.pointer !== undefined ? (obj.patchOf?.(r.pointer) ?? null) : null;
    const base = patch && !(loc && patch.file === loc.file && patch.line === loc.line) ? `${r.message} (set by the patch at ${patch.file}:${patch.line})` : r.message;
    const message = obj?.origin.resourceSet ? `${base} ${resourceSetNote(obj)}` : base;
    const ruleId = r.rule.meta.id;
    let sups = obj ? suppressions.get(obj) : undefined;
    if (obj && !sups) suppressions.set(obj, (sups = parseSuppressions(obj.object.metadata.annotations?.[IGNORE_ANNOTATION]).ok));
    const suppressed = sups ? sups.some((s) => s.ruleId === ruleId || s.ruleId === "all") : false;
    const severity = config.rules[ruleId]?.severity ?? r.severity ?? r.rule.meta.severity;
    const resource = obj ? obj.ref : null;
    const refText = resource ? `${resource.kind}/${resource.namespace ?? ""}/${resource.name}` : "";
    const key = [ruleId, loc ? `${loc.file}:${loc.line}:${loc.column}` : refText, message, resource?.namespace ?? ""].join("|");
    const prev = byKey.get(key);
    if (prev) {
      if (severityRank(severity) > severityRank(prev.f.severity)) prev.f.severity = severity;
      prev.suppressed = prev.suppressed && suppressed;
      prev.f.raw.push(r);
    } else byKey.set(key, { f: { ruleId, severity, resource, pointer: obj ? (r.pointer ?? null) : null, message, raw: [r] }, suppressed });
  }
  const out: AdmissionFinding[] = [];
  for (const { f, suppressed } of byKey.values()) if (!suppressed) out.push(f);
  return out;
}

/** Full findings (as {@link evaluateRules} returns them, sorted) for admission findings of the same model. */
export function admissionFindingsToFindings(found: readonly AdmissionFinding[], model: FleetModel, config: FleetConfig): Finding[] {
  return finalize(found.flatMap((f) => f.raw as RawFinding[]), model, config);
}

function runRules(model: FleetModel, config: FleetConfig, rules: readonly Rule[], parseErrors: LoadResult["parseErrors"], unassessed: LoadResult["unassessed"], onError?: (rule: Rule, error: unknown) => void): RawFinding[] {
  const out: RawFinding[] = [];
  for (const rule of rules) {
    const setting = config.rules[rule.meta.id];
    if (setting?.enabled === false) continue;
    if (!ruleApplies(rule, model.mode)) continue;
    if (rule.meta.id === "parse-error") {
      for (const e of parseErrors) out.push({ rule, location: { file: e.file, line: e.line, column: e.column }, message: `malformed YAML: ${e.message}` });
      continue;
    }
    if (rule.meta.id === "input-not-assessed") {
      for (const n of unassessed) out.push({ rule, location: { file: n.file, line: 1, column: 1 }, message: `not assessed: ${n.reason}` });
      continue;
    }
    if (!onError) {
      rule.check({ model, config, report: (r) => out.push({ ...r, rule }) });
      continue;
    }
    const mine: RawFinding[] = [];
    try {
      rule.check({ model, config, report: (r) => mine.push({ ...r, rule }) });
      out.push(...mine);
    } catch (e) {
      onError(rule, e);
    }
  }
  return out;
}

function finalize(raw: RawFinding[], model: FleetModel, config: FleetConfig): Finding[] {
  const byKey = new Map<string, Finding>();
  for (const r of raw) {
    const obj = r.object ?? null;
    const loc = r.location ?? (r.file && r.pointer !== undefined ? r.file.locate(r.pointer) : r.file ? r.file.locate("") : obj ? obj.locate(r.pointer ?? "") : null);
    // The object's own line, and the patch that changed the field when one did.
    const patch = obj && !r.location && r.pointer !== undefined ? (obj.patchOf?.(r.pointer) ?? null) : null;
    const message = patch && !(loc && patch.file === loc.file && patch.line === loc.line) ? `${r.message} (set by the patch at ${patch.file}:${patch.line})` : r.message;
    const sup = obj ? suppressionFor(obj, r.rule.meta.id) : null;
    const severity = config.rules[r.rule.meta.id]?.severity ?? r.severity ?? r.rule.meta.severity;
    const cluster = obj ? clusterOf(model, obj) : undefined;
    const f: Finding = {
      ruleId: r.rule.meta.id,
      severity,
      title: r.rule.meta.title,
      message: obj?.origin.resourceSet ? `${message} ${resourceSetNote(obj)}` : message,
      resource: obj ? obj.ref : null,
      location: loc,
      pointer: obj ? (r.pointer ?? null) : null,
      threats: [...r.rule.meta.threats],
      remediation: r.rule.meta.remediation.text,
      suppressed: sup !== null,
      suppression: sup ? { kind: "annotation", reason: sup } : null,
      fingerprint: "",
      context: { clusters: cluster ? [cluster.id] : [], renderedBy: obj?.origin.renderedBy ? [obj.origin.renderedBy] : [] },
      // The rule's hint (src/engine/root-causes.ts replaces it with the root cause's id).
      rootCause: r.cause ?? null,
    };
    f.fingerprint = fingerprint(f);
    const key = [f.ruleId, f.location ? `${f.location.file}:${f.location.line}:${f.location.column}` : refKey(f), f.message, f.resource?.namespace ?? ""].join("|");
    const prev = byKey.get(key);
    if (prev) {
      prev.context.clusters = [...new Set([...prev.context.clusters, ...f.context.clusters])].sort();
      prev.context.renderedBy = [...new Set([...prev.context.renderedBy, ...f.context.renderedBy])].sort();
      if (severityRank(f.severity) > severityRank(prev.severity)) prev.severity = f.severity;
      prev.suppressed = prev.suppressed && f.suppressed;
      if (!prev.suppressed) prev.suppression = null;
    } else byKey.set(key, f);
  }
  return [...byKey.values()].sort(compareFindings);
}

/** Names the ResourceSet and input set an expanded object came from: `[ResourceSet flux-system/tenants, input set team-a]`. */
export function resourceSetNote(obj: ModelObject): string {
  const rs = (obj.origin.resourceSet ?? "").replace(/^ResourceSet\//, "");
  return `[ResourceSet ${rs}${obj.origin.inputSet !== undefined ? `, input set ${obj.origin.inputSet}` : ""}]`;
}

/**
 * What the audit assumed because the input did not say: stated once in the summary, not as an
 * aside on every finding it touches.
 */
function assumptions(model: FleetModel): string[] {
  const out: string[] = [];
  for (const c of model.clusters) {
    const unseen = (["kustomize-controller", "helm-controller"] as const).filter((k) => c.lockdown[k].evidence === "none");
    if (!unseen.length) continue;
    if (c.id.startsWith("(")) {
      if (c.reconcilers.length) out.push(`${c.id}: ${c.reconcilers.length} Flux reconciler(s) that no cluster's sync reaches are audited as if Flux's default controllers applied them: no multi-tenancy lockdown.`);
      continue;
    }
    out.push(
      model.mode === "cluster"
        ? `${c.id}: no Flux controller Deployment was found (label app.kubernetes.io/part-of=flux), so Flux's defaults are assumed for ${unseen.join(" and ")}: no --default-service-account, no --no-cross-namespace-refs. Declare platform.defaultServiceAccount in .fluxguard.yaml if the controllers run with it.`
        : `${c.id}: the Flux controllers are not in this repository, so Flux's defaults are assumed for ${unseen.join(" and ")}: no --default-service-account, no --no-cross-namespace-refs. Declare platform.defaultServiceAccount in .fluxguard.yaml if your cluster sets it.`,
    );
  }
  return out;
}

function refKey(f: Finding): string {
  return f.resource ? `${f.resource.kind}/${f.resource.namespace ?? ""}/${f.resource.name}` : "";
}

function suppressionFor(obj: ModelObject, ruleId: string): string | null {
  const { ok } = parseSuppressions(obj.object.metadata.annotations?.[IGNORE_ANNOTATION]);
  return ok.find((s) => s.ruleId === ruleId || s.ruleId === "all")?.reason ?? null;
}

function fingerprint(f: Finding): string {
  const h = createHash("sha256");
  h.update([f.ruleId, refKey(f), f.pointer ?? "", f.location?.file ?? "", f.resource ? "" : f.message].join("\0"));
  return h.digest("hex").slice(0, 32);
}

export function compareFindings(a: Finding, b: Finding): number {
  return (
    severityRank(b.severity) - severityRank(a.severity) ||
    (a.location?.file ?? "\uffff").localeCompare(b.location?.file ?? "\uffff") ||
    (a.location?.line ?? 0) - (b.location?.line ?? 0) ||
    (a.location?.column ?? 0) - (b.location?.column ?? 0) ||
    a.ruleId.localeCompare(b.ruleId) ||
    refKey(a).localeCompare(refKey(b)) ||
    a.message.localeCompare(b.message)
  );
}
