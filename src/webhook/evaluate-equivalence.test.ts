/**
 * The admission evaluator's shortcuts (baselines kept per rule across snapshots, rules run only
 * for changes to kinds they read, findings compared without finalising them) against the plain
 * definition: every rule over the snapshot, every rule over the snapshot with the change, and
 * what is new between the two. A fixed-seed random walk of cluster changes and admission
 * requests; every decision must be identical.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { defaultConfig, type FleetConfig } from "../core/config.js";
import { defineRule, type Rule } from "../core/rule.js";
import { severityRank, type K8sObject } from "../core/types.js";
import { evaluateRules, ruleApplies } from "../engine/audit.js";
import type { Finding } from "../engine/report.js";
import { modelFromObjects } from "../loader/cluster.js";
import { ALL_RULES } from "../rules/index.js";
import { rng } from "../testing/fuzz.js";
import { AdmissionEvaluator, oneLine, type Candidate, type Decision } from "./evaluate.js";
import { objectSlot, StaticObjects, type Snapshot } from "./objects.js";
import { admissionObjectVariants, baselineCluster, liveObjects } from "../testing/admission.js";

/** The decision by definition (the evaluator as first written): two full runs, nothing cached. */
function reference(candidate: Candidate, snapshot: Snapshot, config: FleetConfig, rules: readonly Rule[]): Decision {
  if (candidate.operation === "DELETE" || candidate.operation === "CONNECT" || !candidate.object) return { allowed: true, denials: [], warnings: [], errors: [] };
  const applicable = rules.filter((r) => ruleApplies(r, "admission"));
  const aggregate = new Set(applicable.filter((r) => r.meta.aggregate).map((r) => r.meta.id));
  const key = (f: Finding): string => (aggregate.has(f.ruleId) ? f.ruleId : [f.ruleId, f.resource ? `${f.resource.kind}/${f.resource.namespace ?? ""}/${f.resource.name}` : f.message, f.pointer ?? ""].join("\u0000"));
  const run = (objects: readonly K8sObject[]) => {
    const errors: Decision["errors"] = [];
    const model = modelFromObjects(objects, { config, id: "context admission", root: "admission", mode: "admission" });
    const findings = evaluateRules(model, config, applicable, (rule, e) => errors.push({ ruleId: rule.meta.id, reason: oneLine(e instanceof Error ? `${e.name}: ${e.message}` : String(e)) }));
    return { findings: findings.filter((f) => !f.suppressed), errors };
  };
  const base = new Map<string, number>();
  for (const f of run(snapshot.objects).findings) base.set(key(f), Math.max(base.get(key(f)) ?? 0, severityRank(f.severity)));
  const slot = objectSlot(candidate.object);
  const oldSlot = candidate.oldObject ? objectSlot(candidate.oldObject) : slot;
  const objects = snapshot.objects.filter((o) => objectSlot(o) !== slot && objectSlot(o) !== oldSlot);
  objects.push(candidate.object);
  const { findings, errors } = run(objects);
  const fresh = findings.filter((f) => severityRank(f.severity) > (base.get(key(f)) ?? 0));
  const denials = fresh.filter((f) => severityRank(f.severity) >= severityRank("high"));
  return { allowed: denials.length === 0 && errors.length === 0, denials, warnings: fresh.filter((f) => !denials.includes(f)), errors };
}

const shape = (d: Decision) => ({
  allowed: d.allowed,
  denials: d.denials.map((f) => [f.ruleId, f.severity, f.message, f.pointer, f.resource]),
  warnings: d.warnings.map((f) => [f.ruleId, f.severity, f.message, f.pointer, f.resource]),
  errors: d.errors,
});

/** A rule that throws while an ImagePolicy named `boom` exists (it reads only ImagePolicies). */
const boom = defineRule({
  meta: { ...ALL_RULES[0]!.meta, id: "boom-on-image-policy", modes: ["cluster"], reads: ["ImagePolicy"] },
  check({ model }) {
    if (model.objects.some((m) => m.object.kind === "ImagePolicy" && m.object.metadata.name === "boom")) throw new Error("boom");
  },
});

test("webhook: cached baselines and rules chosen by the kinds they read decide exactly as two full runs would, over a random walk of changes", { timeout: 300_000 }, () => {
  const rand = rng(20261129);
  const config = defaultConfig();
  const rules = [...ALL_RULES, boom];
  const pool = [...admissionObjectVariants(), ...liveObjects()];
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const source = new StaticObjects(baselineCluster());
  const evaluator = new AdmissionEvaluator({ config, rules, denyAt: "high", mode: "enforce" });
  let compared = 0;
  let denied = 0;
  let erred = 0;
  const steps = Number(process.env["FLUXGUARD_EQUIVALENCE_STEPS"] ?? 400);
  for (let step = 0; step < steps; step++) {
    // The cluster changes (a watch event): an object arrives, changes or goes.
    const r = rand();
    const current = source.snapshot().objects;
    if (r < 0.55) source.put(structuredClone(pick(pool)));
    else if (r < 0.75 && current.length > 0) source.remove(pick(current));
    if (rand() < 0.3) evaluator.prepare(source.snapshot()); // the server's off-path refresh, sometimes
    // Requests against the cluster as it now stands.
    for (let i = 0; i < 2; i++) {
      const object = structuredClone(pick(pool));
      const existing = source.snapshot().objects.find((o) => objectSlot(o) === objectSlot(object)) ?? null;
      const candidate: Candidate = existing && rand() < 0.7 ? { operation: "UPDATE", object, oldObject: existing } : { operation: "CREATE", object, oldObject: null };
      const snapshot = source.snapshot();
      const got = evaluator.review(candidate, snapshot);
      const want = reference(candidate, snapshot, config, rules);
      assert.deepEqual(shape(got), shape(want), `step ${step}: ${candidate.operation} ${objectSlot(object)}`);
      compared++;
      if (want.denials.length) denied++;
      if (want.errors.length) erred++;
    }
  }
  // The walk must exercise what it claims to: denials, internal errors, and plain admissions.
  assert.ok(denied > 10 && erred > 2 && compared - denied > 10, JSON.stringify({ compared, denied, erred }));
});
