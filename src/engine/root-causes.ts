/**
 * Root causes: findings that follow from one fact, stated once. A fleet without the
 * `--default-service-account` lockdown gets one "missing service account" finding per
 * Kustomization and HelmRelease; the fact behind all of them is the controller's missing flag,
 * and the one change that removes them is the lockdown. The report keeps every finding (JSON,
 * SARIF); root causes are how a person reads them: ranked by severity, then by how many
 * objects each exposes, each with the one change that fixes it.
 *
 * Grouping, in order:
 * - findings whose rule names the lockdown as their cause (`Report.cause`), per cluster: the
 *   controllers run without the multi-tenancy lockdown (`--default-service-account` ...);
 * - `flux-api-removed`, per removed apiVersion;
 * - any other rule: one cause per rule (its title is the fact, its remediation the change).
 */
import type { Rule } from "../core/rule.js";
import { severityRank, type ResourceRef, type Severity } from "../core/types.js";
import type { Finding } from "./report.js";

/** One fact behind one or more findings, and the change that removes them. */
export interface RootCause {
  /** Stable id: `lockdown:<clusters>`, `api:<apiVersion>` or `rule:<ruleId>`. */
  id: string;
  /** The most severe of its findings. */
  severity: Severity;
  /** The fact, in one sentence. */
  title: string;
  /** The one change that fixes it. */
  fix: string;
  /** `fluxguard explain <rule>` gives the YAML for the fix. */
  explain: string;
  /** Rule ids behind it, with how many findings each (sorted by id). */
  rules: Array<{ ruleId: string; findings: number }>;
  /** Every affected object, sorted (kind, namespace, name), no duplicates. */
  objects: ResourceRef[];
  /** Files named by findings that have no object (parse errors, kustomization files). */
  files: string[];
  /** Clusters its findings belong to. */
  clusters: string[];
  /** Fingerprints of its findings, in report order. */
  findings: string[];
}


interface CauseKey {
  id: string;
  title: string;
  fix: string;
  explain: string;
}

function keyOf(f: Finding, rules: ReadonlyMap<string, Rule>): CauseKey {
  const clusters = f.context.clusters.length ? f.context.clusters.join(", ") : "(no cluster)";
  if (f.rootCause === "lockdown") {
    if (!f.context.clusters.some((c) => !c.startsWith("("))) {
      return {
        id: `lockdown:${clusters}`,
        title: `${clusters}: no cluster in the repository applies these objects, so Flux's defaults are assumed for the controller that would: no multi-tenancy lockdown`,
        fix: "Give each reconciler a least-privilege serviceAccountName, or declare platform.defaultServiceAccount in .fluxguard.yaml if the cluster that applies them runs the lockdown",
        explain: f.ruleId,
      };
    }
    return {
      id: `lockdown:${clusters}`,
      title: `${clusters}: the Flux controllers run without the multi-tenancy lockdown`,
      fix: `Enable the multi-tenancy lockdown on ${clusters} (--default-service-account, --no-cross-namespace-refs, --no-remote-bases; with the Flux Operator, spec.cluster.multitenant: true), and give each tenant's reconciler a least-privilege serviceAccountName`,
      explain: "multitenancy-lockdown-missing",
    };
  }
  const rule = rules.get(f.ruleId);
  const title = rule?.meta.title ?? f.title;
  const fix = rule?.meta.remediation.text ?? f.remediation;
  if (f.ruleId === "flux-api-removed" && f.resource) {
    const target = /Migrate to (\S+)/.exec(f.message)?.[1];
    return {
      id: `api:${f.resource.apiVersion}`,
      title: `${f.resource.apiVersion} is no longer served by Flux`,
      fix: target ? `Change apiVersion ${f.resource.apiVersion} to ${target} (\`flux migrate\` or \`fluxguard fix\` rewrites it)` : fix,
      explain: f.ruleId,
    };
  }
  return { id: `rule:${f.ruleId}`, title, fix, explain: f.ruleId };
}

function refKey(r: ResourceRef): string {
  return `${r.kind}\0${r.namespace ?? ""}\0${r.name}`;
}

/**
 * Groups the findings that are not suppressed into root causes, most severe first, then the
 * widest (most objects, then most findings), then by id. Deterministic.
 */
export function rootCauses(findings: readonly Finding[], rules: readonly Rule[]): RootCause[] {
  const byRule = new Map(rules.map((r) => [r.meta.id, r]));
  const causes = new Map<string, RootCause & { refs: Map<string, ResourceRef>; fileSet: Set<string>; clusterSet: Set<string>; ruleCount: Map<string, number> }>();
  for (const f of findings) {
    if (f.suppressed) continue;
    const k = keyOf(f, byRule);
    let c = causes.get(k.id);
    if (!c) {
      c = { ...k, severity: f.severity, rules: [], objects: [], files: [], clusters: [], findings: [], refs: new Map(), fileSet: new Set(), clusterSet: new Set(), ruleCount: new Map() };
      causes.set(k.id, c);
    }
    if (severityRank(f.severity) > severityRank(c.severity)) c.severity = f.severity;
    if (f.resource) c.refs.set(refKey(f.resource), f.resource);
    else if (f.location) c.fileSet.add(f.location.file);
    for (const cl of f.context.clusters) c.clusterSet.add(cl);
    c.ruleCount.set(f.ruleId, (c.ruleCount.get(f.ruleId) ?? 0) + 1);
    c.findings.push(f.fingerprint);
  }
  const out: RootCause[] = [...causes.values()].map((c) => ({
    id: c.id,
    severity: c.severity,
    title: c.id.startsWith("lockdown:") ? lockdownTitle(c.title, c.ruleCount) : c.title,
    fix: c.fix,
    explain: c.explain,
    rules: [...c.ruleCount.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([ruleId, n]) => ({ ruleId, findings: n })),
    objects: [...c.refs.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, r]) => r),
    files: [...c.fileSet].sort(),
    clusters: [...c.clusterSet].sort(),
    findings: c.findings,
  }));
  return out.sort(
    (a, b) =>
      severityRank(b.severity) - severityRank(a.severity) ||
      b.objects.length + b.files.length - (a.objects.length + a.files.length) ||
      b.findings.length - a.findings.length ||
      a.id.localeCompare(b.id),
  );
}

/** The lockdown cause says what the missing flag does to the reconcilers it counted. */
function lockdownTitle(title: string, counts: ReadonlyMap<string, number>): string {
  const ks = counts.get("kustomization-missing-service-account") ?? 0;
  const hr = counts.get("helmrelease-missing-service-account") ?? 0;
  if (!ks && !hr) return title;
  const who = [ks ? `${ks} Kustomization${ks === 1 ? "" : "s"}` : "", hr ? `${hr} HelmRelease${hr === 1 ? "" : "s"}` : ""].filter(Boolean).join(" and ");
  const ctrl = [ks ? "kustomize-controller" : "", hr ? "helm-controller" : ""].filter(Boolean).join(" and ");
  return `${title} (${ctrl} without --default-service-account): ${who} without spec.serviceAccountName ${ks + hr === 1 ? "is" : "are"} applied as the controller, which Flux binds to cluster-admin`;
}

/** How many objects (or, for object-less findings, files) a cause exposes. */
export function exposure(c: RootCause): number {
  return c.objects.length + c.files.length;
}
