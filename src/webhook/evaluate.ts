/**
 * The admission decision: the audit's own rules (src/rules, run by src/engine) over the live
 * model with the candidate object in place, compared with the same model without it.
 *
 * What a change introduces is what it is judged by: a finding present with the candidate and
 * absent from the model as it stands (same rule, object and pointer), or one whose severity
 * the change raised. So a
 * RoleBinding is denied for the finding it creates on the binding, a Kustomization for the
 * finding it creates on the GitRepository it starts applying, and an update that leaves an
 * old finding as it was is not blamed for it (the audit reports those).
 *
 * New findings at or above `denyAt` deny (in `enforce` mode); the others become
 * AdmissionReview warnings. A rule that throws denies with one line naming it: the webhook
 * fails closed for what it is registered for, and the process never crashes on a rule.
 */
import type { FleetConfig } from "../core/config.js";
import type { FleetModel } from "../core/model.js";
import type { Rule } from "../core/rule.js";
import { severityRank, type K8sObject, type Severity } from "../core/types.js";
import { evaluateRules, ruleApplies } from "../engine/audit.js";
import type { Finding } from "../engine/report.js";
import { modelFromObjects } from "../loader/cluster.js";
import type { Snapshot } from "./objects.js";
import { objectSlot } from "./objects.js";

export type WebhookMode = "enforce" | "audit";

export interface EvaluatorOptions {
  config: FleetConfig;
  rules: readonly Rule[];
  /** New findings at or above this severity deny; below, they warn. */
  denyAt: Severity;
  /** `audit`: record and warn, never deny. */
  mode: WebhookMode;
  /** The cluster id findings carry (e.g. `context admission`). */
  clusterId?: string;
}

/** What the webhook answers, before it becomes an AdmissionResponse. */
export interface Decision {
  allowed: boolean;
  /** New findings that deny (empty in audit mode). */
  denials: Finding[];
  /** New findings below the threshold, or every new finding in audit mode. */
  warnings: Finding[];
  /** Rules that threw, with a one-line reason each. */
  errors: Array<{ ruleId: string; reason: string }>;
}

/** The candidate of an AdmissionRequest, as the evaluator needs it. */
export interface Candidate {
  operation: "CREATE" | "UPDATE" | "DELETE" | "CONNECT";
  /** The object after the change (null for DELETE). */
  object: K8sObject | null;
  oldObject: K8sObject | null;
}

/**
 * A finding's place: rule, object and field (not its message, which may count things). For a
 * rule about the cluster as a whole (`meta.aggregate`), the rule alone.
 */
function findingKey(f: Finding, aggregate: ReadonlySet<string>): string {
  if (aggregate.has(f.ruleId)) return f.ruleId;
  const r = f.resource;
  return [f.ruleId, r ? `${r.kind}/${r.namespace ?? ""}/${r.name}` : f.message, f.pointer ?? ""].join("\u0000");
}

/** One line, bounded: errors from a rule may carry anything. */
export function oneLine(text: string, max = 200): string {
  const t = text.replace(/\s+/g, " ").trim();
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

export class AdmissionEvaluator {
  private baseline: { version: number; keys: Map<string, number> } | null = null;
  private readonly rules: readonly Rule[];
  private readonly aggregate: ReadonlySet<string>;

  constructor(private readonly opts: EvaluatorOptions) {
    this.rules = opts.rules.filter((r) => ruleApplies(r, "admission"));
    this.aggregate = new Set(this.rules.filter((r) => r.meta.aggregate).map((r) => r.meta.id));
  }

  /** The model the rules see: the snapshot's objects, with `replace` in place of its slot. */
  model(objects: readonly K8sObject[]): FleetModel {
    return modelFromObjects(objects, { config: this.opts.config, id: this.opts.clusterId ?? "context admission", root: "admission", mode: "admission" });
  }

  private run(objects: readonly K8sObject[]): { findings: Finding[]; errors: Array<{ ruleId: string; reason: string }> } {
    const errors: Array<{ ruleId: string; reason: string }> = [];
    const findings = evaluateRules(this.model(objects), this.opts.config, this.rules, (rule, e) =>
      errors.push({ ruleId: rule.meta.id, reason: oneLine(e instanceof Error ? `${e.name}: ${e.message}` : String(e)) }),
    );
    return { findings: findings.filter((f) => !f.suppressed), errors };
  }

  /** The findings of the cluster as it stands: their place, and the highest severity there. */
  private baselineFor(snapshot: Snapshot): Map<string, number> {
    if (this.baseline?.version === snapshot.version) return this.baseline.keys;
    const { findings } = this.run(snapshot.objects);
    const keys = new Map<string, number>();
    for (const f of findings) {
      const k = findingKey(f, this.aggregate);
      keys.set(k, Math.max(keys.get(k) ?? 0, severityRank(f.severity)));
    }
    this.baseline = { version: snapshot.version, keys };
    return keys;
  }

  /** Judges one change against a snapshot of the cluster. Never throws for a rule's sake. */
  review(candidate: Candidate, snapshot: Snapshot): Decision {
    if (candidate.operation === "DELETE" || candidate.operation === "CONNECT" || !candidate.object) return { allowed: true, denials: [], warnings: [], errors: [] };
    const base = this.baselineFor(snapshot);
    const slot = objectSlot(candidate.object);
    const oldSlot = candidate.oldObject ? objectSlot(candidate.oldObject) : slot;
    const objects = snapshot.objects.filter((o) => {
      const s = objectSlot(o);
      return s !== slot && s !== oldSlot;
    });
    objects.push(candidate.object);
    const { findings, errors } = this.run(objects);
    // New: a finding in a place that had none, or one whose severity the change raised (a
    // source that was merely unverified becomes unverified and applied).
    const fresh = findings.filter((f) => severityRank(f.severity) > (base.get(findingKey(f, this.aggregate)) ?? 0));
    const threshold = severityRank(this.opts.denyAt);
    const enforce = this.opts.mode === "enforce";
    const denials = enforce ? fresh.filter((f) => severityRank(f.severity) >= threshold) : [];
    const warnings = fresh.filter((f) => !denials.includes(f));
    return { allowed: denials.length === 0 && (!enforce || errors.length === 0), denials, warnings, errors };
  }
}
