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
 * Speed without changing that definition (src/webhook/evaluate-equivalence.test.ts holds it to
 * two full runs over a random walk of changes):
 * - each rule's findings on the snapshot (its baseline) are kept across snapshots until an
 *   object of a kind the rule reads (`meta.reads`) changes, and brought up to date between
 *   requests (`prepare`, called by the server after watch events);
 * - a change runs only the rules that read its kind: the others find the same with and
 *   without it, so nothing new; their errors still count, from the baseline;
 * - findings are compared in admission's cheap shape (src/engine/audit.ts
 *   `admissionFindings`); only the new ones become full findings.
 * - the model with the candidate is an overlay on the snapshot's model (src/loader/cluster.ts
 *   `overlayModel`): the objects that stay keep their model objects and only the views the
 *   change feeds are derived again; a change to a reconciler, a controller or what Flux applied
 *   builds it in full.
 *
 * New findings at or above `denyAt` deny (in `enforce` mode); the others become
 * AdmissionReview warnings. A rule that throws denies with one line naming it: the webhook
 * fails closed for what it is registered for, and the process never crashes on a rule.
 */
import type { FleetConfig } from "../core/config.js";
import type { FleetModel } from "../core/model.js";
import { readsKind, type Rule } from "../core/rule.js";
import { severityRank, type K8sObject, type Severity } from "../core/types.js";
import { admissionFindings, admissionFindingsToFindings, ruleApplies, type AdmissionFinding } from "../engine/audit.js";
import type { Finding } from "../engine/report.js";
import { modelFromObjects, overlayModel } from "../loader/cluster.js";
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
function findingKey(f: Pick<Finding, "ruleId" | "resource" | "pointer" | "message">, aggregate: ReadonlySet<string>): string {
  if (aggregate.has(f.ruleId)) return f.ruleId;
  const r = f.resource;
  return [f.ruleId, r ? `${r.kind}/${r.namespace ?? ""}/${r.name}` : f.message, f.pointer ?? ""].join("\u0000");
}

/** One line, bounded: errors from a rule may carry anything. */
export function oneLine(text: string, max = 200): string {
  const t = text.replace(/\s+/g, " ").trim();
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

/** What one rule found on the snapshot as it stands: the highest severity per place, and whether it threw. */
interface RuleBaseline {
  keys: Map<string, number>;
  error: { ruleId: string; reason: string } | null;
}

/** The snapshot the baselines belong to: its objects by slot (to see what the next one changed) and its model, built once. */
interface BaseState {
  version: number;
  objects: readonly K8sObject[];
  bySlot: Map<string, K8sObject>;
  model: FleetModel | null;
}

/**
 * The rules a change to objects of these kinds can affect: those that read one of the kinds
 * (`meta.reads`, src/core/rule.ts `readsKind`), and every rule that does not say what it reads.
 */
export function rulesAffectedBy(rules: readonly Rule[], kinds: ReadonlySet<string>): Rule[] {
  return rules.filter((r) => [...kinds].some((k) => readsKind(r.meta, k)));
}

export class AdmissionEvaluator {
  private readonly rules: readonly Rule[];
  private readonly aggregate: ReadonlySet<string>;
  private state: BaseState | null = null;
  /**
   * Each rule's findings on `state`'s snapshot. A rule's entry survives a new snapshot when no
   * object of a kind it reads changed (the rule's findings are a function of those objects),
   * so a stream of changes to one kind recomputes only the rules that read it.
   */
  private readonly baselines = new Map<Rule, RuleBaseline>();

  constructor(private readonly opts: EvaluatorOptions) {
    this.rules = opts.rules.filter((r) => ruleApplies(r, "admission") && opts.config.rules[r.meta.id]?.enabled !== false);
    this.aggregate = new Set(this.rules.filter((r) => r.meta.aggregate).map((r) => r.meta.id));
  }

  /** The model the rules see for a list of objects. */
  model(objects: readonly K8sObject[]): FleetModel {
    return modelFromObjects(objects, { config: this.opts.config, id: this.opts.clusterId ?? "context admission", root: "admission", mode: "admission" });
  }

  private run(model: FleetModel, rules: readonly Rule[]): { findings: AdmissionFinding[]; errors: Map<string, { ruleId: string; reason: string }> } {
    const errors = new Map<string, { ruleId: string; reason: string }>();
    const findings = admissionFindings(model, this.opts.config, rules, (rule, e) =>
      errors.set(rule.meta.id, { ruleId: rule.meta.id, reason: oneLine(e instanceof Error ? `${e.name}: ${e.message}` : String(e)) }),
    );
    return { findings, errors };
  }

  /** Moves to `snapshot`: drops the baselines of rules that read a kind whose objects changed. */
  private sync(snapshot: Snapshot): BaseState {
    if (this.state?.version === snapshot.version) return this.state;
    const bySlot = new Map<string, K8sObject>();
    for (const o of snapshot.objects) bySlot.set(objectSlot(o), o);
    const prev = this.state;
    if (!prev) this.baselines.clear();
    else {
      const changed = new Set<string>();
      for (const [slot, o] of bySlot) {
        const before = prev.bySlot.get(slot);
        if (before === o) continue;
        changed.add(o.kind);
        if (before) changed.add(before.kind);
      }
      for (const [slot, o] of prev.bySlot) if (!bySlot.has(slot)) changed.add(o.kind);
      for (const rule of rulesAffectedBy([...this.baselines.keys()], changed)) this.baselines.delete(rule);
    }
    this.state = { version: snapshot.version, objects: snapshot.objects, bySlot, model: null };
    return this.state;
  }

  /** The baselines of `rules` on the current snapshot, computing the missing ones in one pass. */
  private baselinesOf(state: BaseState, rules: readonly Rule[]): void {
    const missing = rules.filter((r) => !this.baselines.has(r));
    if (!missing.length) return;
    state.model ??= this.model(state.objects);
    const { findings, errors } = this.run(state.model, missing);
    const entries = new Map<string, RuleBaseline>(missing.map((r) => [r.meta.id, { keys: new Map(), error: errors.get(r.meta.id) ?? null }]));
    for (const f of findings) {
      const keys = entries.get(f.ruleId)!.keys;
      const k = findingKey(f, this.aggregate);
      keys.set(k, Math.max(keys.get(k) ?? 0, severityRank(f.severity)));
    }
    for (const r of missing) this.baselines.set(r, entries.get(r.meta.id)!);
  }

  /**
   * Brings every rule's baseline up to `snapshot`, off the request path (the server calls it
   * after the watches change). A review computes whatever is still missing itself, so this
   * only moves work; it never changes a decision.
   */
  prepare(snapshot: Snapshot): void {
    const state = this.sync(snapshot);
    this.baselinesOf(state, this.rules);
    state.model ??= this.model(state.objects);
  }

  /**
   * The model with `object` in place of whatever holds its slot and `oldObject`'s: an overlay on
   * the snapshot's model when it is built (src/loader/cluster.ts `overlayModel`; `prepare` builds
   * it off the request path), else, or when the change reaches the views the overlay does not
   * re-derive, built in full.
   */
  private candidateModel(state: BaseState, object: K8sObject, oldObject: K8sObject | null): FleetModel {
    const slots = new Set([objectSlot(object), ...(oldObject ? [objectSlot(oldObject)] : [])]);
    if (state.model && state.bySlot.size === state.objects.length) {
      const removed = new Set<K8sObject>();
      for (const slot of slots) {
        const o = state.bySlot.get(slot);
        if (o) removed.add(o);
      }
      const overlay = overlayModel(state.model, removed, object);
      if (overlay) return overlay;
    }
    const objects = state.objects.filter((o) => !slots.has(objectSlot(o)));
    objects.push(object);
    return this.model(objects);
  }

  /** Judges one change against a snapshot of the cluster. Never throws for a rule's sake. */
  review(candidate: Candidate, snapshot: Snapshot): Decision {
    if (candidate.operation === "DELETE" || candidate.operation === "CONNECT" || !candidate.object) return { allowed: true, denials: [], warnings: [], errors: [] };
    const state = this.sync(snapshot);
    // The rules that read neither the new nor the old object's kind find the same on the
    // snapshot and on the snapshot with the change: nothing new. Their errors (a rule that
    // throws on this cluster) still count, from the baseline, as if they had run again.
    const kinds = new Set([candidate.object.kind, ...(candidate.oldObject ? [candidate.oldObject.kind] : [])]);
    const affected = rulesAffectedBy(this.rules, kinds);
    this.baselinesOf(state, this.rules);
    const model = this.candidateModel(state, candidate.object, candidate.oldObject);
    const { findings, errors } = this.run(model, affected);
    // New: a finding in a place that had none, or one whose severity the change raised (a
    // source that was merely unverified becomes unverified and applied).
    const byRule = new Map(this.rules.map((r) => [r.meta.id, r]));
    const fresh = findings.filter((f) => severityRank(f.severity) > (this.baselines.get(byRule.get(f.ruleId)!)!.keys.get(findingKey(f, this.aggregate)) ?? 0));
    const freshFindings = admissionFindingsToFindings(fresh, model, this.opts.config);
    const affectedIds = new Set(affected.map((r) => r.meta.id));
    const allErrors = this.rules.flatMap((r) => {
      const e = affectedIds.has(r.meta.id) ? errors.get(r.meta.id) : this.baselines.get(r)!.error;
      return e ? [e] : [];
    });
    const threshold = severityRank(this.opts.denyAt);
    const enforce = this.opts.mode === "enforce";
    const denials = enforce ? freshFindings.filter((f) => severityRank(f.severity) >= threshold) : [];
    const warnings = freshFindings.filter((f) => !denials.includes(f));
    return { allowed: denials.length === 0 && (!enforce || allErrors.length === 0), denials, warnings, errors: allErrors };
  }
}
