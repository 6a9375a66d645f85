/**
 * `meta.reads`: a rule that lists the kinds it reads promises that its findings on a live or
 * admission model depend on objects of those kinds only (src/webhook/evaluate.ts skips it for
 * changes to other kinds, and keeps its findings while they do not change). Checked here by
 * difference: over models built from every rule fixture's objects and from random clusters of
 * the webhook's test objects, removing any object of a kind the rule does not list, or adding
 * one, must leave the rule's findings exactly as they were.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parseAllDocuments } from "yaml";
import { defaultConfig } from "../core/config.js";
import type { Rule } from "../core/rule.js";
import type { K8sObject } from "../core/types.js";
import { admissionFindings, ruleApplies } from "../engine/audit.js";
import { modelFromObjects } from "../loader/cluster.js";
import { rng } from "../testing/fuzz.js";
import { REPO_ROOT } from "../testing/paths.js";
import { admissionObjectVariants, baselineCluster } from "../webhook/testdata.js";
import { objectSlot } from "../webhook/objects.js";
import { ALL_RULES } from "./index.js";

const config = defaultConfig();
const declared = ALL_RULES.filter((r) => r.meta.reads && ruleApplies(r, "admission"));

/** Every Kubernetes object in a fixture case's YAML files (kustomize's own config files are not cluster objects). */
function fixtureObjects(dir: string): K8sObject[] {
  const out: K8sObject[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.ya?ml$/.test(name)) {
        for (const doc of parseAllDocuments(readFileSync(p, "utf8"))) {
          let o: Partial<K8sObject> | null = null;
          try {
            o = doc.errors.length ? null : (doc.toJS() as Partial<K8sObject> | null);
          } catch {
            continue; // a hostile fixture (alias bombs): not a cluster object
          }
          if (!o || typeof o !== "object" || typeof o.apiVersion !== "string" || typeof o.kind !== "string" || typeof o.metadata?.name !== "string") continue;
          if (o.apiVersion.startsWith("kustomize.config.k8s.io/")) continue;
          out.push(o as K8sObject);
        }
      }
    }
  };
  walk(dir);
  // One object per slot, as a cluster holds them.
  return [...new Map(out.map((o) => [objectSlot(o), o])).values()];
}

function fixtureClusters(): Array<{ name: string; objects: K8sObject[] }> {
  const out: Array<{ name: string; objects: K8sObject[] }> = [];
  const rules = join(REPO_ROOT, "src", "rules");
  for (const domain of readdirSync(rules)) {
    const fx = join(rules, domain, "fixtures");
    if (!statSync(join(rules, domain)).isDirectory() || !readdirSync(join(rules, domain)).includes("fixtures")) continue;
    for (const rule of readdirSync(fx)) {
      for (const verdict of ["valid", "invalid"]) {
        let cases: string[] = [];
        try {
          cases = readdirSync(join(fx, rule, verdict));
        } catch {
          continue;
        }
        for (const c of cases) {
          const objects = fixtureObjects(join(fx, rule, verdict, c));
          if (objects.length) out.push({ name: `${rule}/${verdict}/${c}`, objects });
        }
      }
    }
  }
  return out;
}

function randomClusters(n: number): Array<{ name: string; objects: K8sObject[] }> {
  const rand = rng(7);
  const pool = [...baselineCluster(), ...admissionObjectVariants()];
  return Array.from({ length: n }, (_, i) => {
    const chosen = pool.filter(() => rand() < 0.6);
    return { name: `random cluster #${i}`, objects: [...new Map(chosen.map((o) => [objectSlot(o), o])).values()] };
  });
}

function findingsOf(objects: readonly K8sObject[], rules: readonly Rule[]): Map<string, string> {
  const model = modelFromObjects(objects, { config, id: "context admission", root: "admission", mode: "admission" });
  const byRule = new Map<string, string[]>(rules.map((r) => [r.meta.id, []]));
  const found = admissionFindings(model, config, rules, (rule, e) => byRule.get(rule.meta.id)!.push(`threw ${String(e)}`));
  for (const f of found) byRule.get(f.ruleId)!.push(JSON.stringify([f.severity, f.resource, f.pointer, f.message]));
  return new Map([...byRule].map(([id, list]) => [id, list.sort().join("\n")]));
}

test("meta.reads: every declared kind list names only kinds the rule reads, and every rule that reads a kind lists it (removing or adding an object of an unlisted kind changes nothing)", { timeout: 300_000 }, () => {
  assert.ok(declared.length > 0, "no rule declares meta.reads");
  const clusters = [...fixtureClusters(), ...randomClusters(40)];
  const extras = admissionObjectVariants();
  const problems: string[] = [];
  let checks = 0;
  for (const { name, objects } of clusters) {
    const before = findingsOf(objects, declared);
    const compare = (what: string, after: Map<string, string>, kind: string): void => {
      for (const r of declared) {
        if (r.meta.reads!.includes(kind)) continue;
        checks++;
        if (after.get(r.meta.id) !== before.get(r.meta.id)) problems.push(`${r.meta.id} (reads ${r.meta.reads!.join(", ")}) changed when ${what} in ${name}`);
      }
    };
    for (const o of objects) {
      if (declared.every((r) => r.meta.reads!.includes(o.kind))) continue;
      compare(`${o.kind} ${o.metadata.namespace ?? ""}/${o.metadata.name} was removed`, findingsOf(objects.filter((x) => x !== o), declared), o.kind);
    }
    if (!name.startsWith("random")) continue;
    for (const extra of extras) {
      if (declared.every((r) => r.meta.reads!.includes(extra.kind))) continue;
      const slot = objectSlot(extra);
      compare(`${extra.kind} ${extra.metadata.namespace ?? ""}/${extra.metadata.name} was added`, findingsOf([...objects.filter((x) => objectSlot(x) !== slot), extra], declared), extra.kind);
    }
  }
  assert.deepEqual([...new Set(problems)].slice(0, 10), []);
  assert.ok(checks > 1000, `only ${checks} checks`);
});
