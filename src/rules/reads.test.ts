/**
 * `meta.reads`: a rule that lists the kinds it reads promises that its findings on a live or
 * admission model depend on objects of those kinds only (src/webhook/evaluate.ts skips it for
 * changes to other kinds, and keeps its findings while they do not change). Every rule that
 * runs in admission must declare it. Checked here by difference: over models built from every
 * rule fixture's objects (with the case's `.fluxguard.yaml`) and from random clusters of the
 * webhook's test objects, removing an object of a kind the rule does not read, changing it
 * (labelled as applied by a Kustomization and a HelmRelease of the cluster, annotated to
 * suppress every rule), adding a copy of it under another name, or adding one of the webhook's
 * test objects, must leave the rule's findings exactly as they were.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parseAllDocuments } from "yaml";
import { defaultConfig, type FleetConfig } from "../core/config.js";
import { isFluxApiGroup } from "../core/flux.js";
import { readsKind, type Rule } from "../core/rule.js";
import type { K8sObject } from "../core/types.js";
import { admissionFindings, ruleApplies } from "../engine/audit.js";
import { modelFromObjects } from "../loader/cluster.js";
import { parseConfig } from "../loader/config.js";
import { rng } from "../testing/fuzz.js";
import { REPO_ROOT } from "../testing/paths.js";
import { admissionObjectVariants, baselineCluster, liveObjects } from "../testing/admission.js";
import { objectSlot } from "../webhook/objects.js";
import { ALL_RULES } from "./index.js";

const declared = ALL_RULES.filter((r) => r.meta.reads && ruleApplies(r, "admission"));
const ruleIds = ALL_RULES.map((r) => r.meta.id);

/** How a rule's reads read in a message. */
function readsText(r: Rule): string {
  const reads = r.meta.reads!;
  return "allKindsBut" in reads ? `every kind but ${reads.allKindsBut.join(", ") || "none"}` : reads.join(", ");
}

test("meta.reads: every rule that runs in admission declares the kinds it reads (or every kind but some, with the reason)", () => {
  const missing = ALL_RULES.filter((r) => ruleApplies(r, "admission") && !r.meta.reads).map((r) => r.meta.id);
  assert.deepEqual(missing, [], "declare meta.reads (src/core/rule.ts): without it the webhook runs the rule for every admission request");
  for (const r of declared) {
    const reads = r.meta.reads!;
    if ("allKindsBut" in reads) assert.ok(reads.why.trim().length > 20, `${r.meta.id}: say why it reads (nearly) every kind`);
    else assert.equal(new Set(reads).size, reads.length, `${r.meta.id}: a kind listed twice`);
  }
});

/** `o` labelled as kustomize-controller labels what it applies for `ks`. */
function appliedBy(o: K8sObject, ks: K8sObject): K8sObject {
  const labels = { ...(o.metadata.labels ?? {}), "kustomize.toolkit.fluxcd.io/name": ks.metadata.name, "kustomize.toolkit.fluxcd.io/namespace": ks.metadata.namespace ?? "" };
  return { ...o, metadata: { ...o.metadata, labels } };
}

/**
 * The same object changed in what views of the model may notice about any object: labelled as
 * applied by a Kustomization and a HelmRelease of the cluster (live, that is what puts an object
 * in a Kustomization's applied set without an inventory, or names its HelmRelease), and
 * annotated to suppress every rule (a rule that reports the object loses its finding).
 */
function relabelled(o: K8sObject, objects: readonly K8sObject[]): K8sObject {
  const ks = objects.find((x) => x.kind === "Kustomization" && x.apiVersion.startsWith("kustomize.toolkit.fluxcd.io/"));
  const hr = objects.find((x) => x.kind === "HelmRelease");
  const labels: Record<string, string> = { ...(o.metadata.labels ?? {}) };
  if (ks) Object.assign(labels, { "kustomize.toolkit.fluxcd.io/name": ks.metadata.name, "kustomize.toolkit.fluxcd.io/namespace": ks.metadata.namespace ?? "" });
  if (hr) Object.assign(labels, { "helm.toolkit.fluxcd.io/name": hr.metadata.name, "helm.toolkit.fluxcd.io/namespace": hr.metadata.namespace ?? "" });
  return { ...o, metadata: { ...o.metadata, labels, annotations: { ...(o.metadata.annotations ?? {}), "fluxguard.io/ignore": "all: reads test" } } };
}

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

interface TestCluster {
  name: string;
  objects: K8sObject[];
  config: FleetConfig;
}

function fixtureClusters(): TestCluster[] {
  const out: TestCluster[] = [];
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
          const dir = join(fx, rule, verdict, c);
          const objects = fixtureObjects(dir);
          const configFile = join(dir, ".fluxguard.yaml");
          let config = defaultConfig();
          try {
            if (existsSync(configFile)) config = parseConfig(readFileSync(configFile, "utf8"), configFile, ruleIds);
          } catch {
            // a fixture of a broken config: the default one
          }
          if (!objects.length) continue;
          out.push({ name: `${rule}/${verdict}/${c}`, objects, config });
          // As a live cluster holds them once Flux has applied them: every object that is not a
          // Flux object labelled as applied by the case's last Kustomization (files mode renders;
          // admission knows what was applied only from inventories and these labels).
          const ks = objects.findLast((o) => o.kind === "Kustomization" && o.apiVersion.startsWith("kustomize.toolkit.fluxcd.io/"));
          if (ks) out.push({ name: `${rule}/${verdict}/${c} (applied)`, objects: objects.map((o) => (isFluxApiGroup(o.apiVersion) ? o : appliedBy(o, ks))), config });
        }
      }
    }
  }
  return out;
}

function randomClusters(n: number): TestCluster[] {
  const rand = rng(7);
  const pool = [...baselineCluster(), ...admissionObjectVariants(), ...liveObjects()];
  return Array.from({ length: n }, (_, i) => {
    const chosen = pool.filter(() => rand() < 0.6);
    // Every other cluster with an allowedRegistries list, so that the rules it switches on are checked too.
    const config = i % 2 ? { ...defaultConfig(), allowedRegistries: ["ghcr.io/example", "ghcr.io/fluxcd"] } : defaultConfig();
    return { name: `random cluster #${i}`, objects: [...new Map(chosen.map((o) => [objectSlot(o), o])).values()], config };
  });
}

function findingsOf(objects: readonly K8sObject[], rules: readonly Rule[], config: FleetConfig): Map<string, string> {
  const model = modelFromObjects(objects, { config, id: "context admission", root: "admission", mode: "admission" });
  const byRule = new Map<string, string[]>(rules.map((r) => [r.meta.id, []]));
  const found = admissionFindings(model, config, rules, (rule, e) => byRule.get(rule.meta.id)!.push(`threw ${String(e)}`));
  for (const f of found) byRule.get(f.ruleId)!.push(JSON.stringify([f.severity, f.resource, f.pointer, f.message]));
  return new Map([...byRule].map(([id, list]) => [id, list.sort().join("\n")]));
}

test("meta.reads: a rule's findings never change with an object of a kind it does not read (removed, changed, copied or added)", { timeout: 600_000 }, () => {
  assert.ok(declared.length > 0, "no rule declares meta.reads");
  const clusters = [...fixtureClusters(), ...randomClusters(40)];
  const extras = [...admissionObjectVariants(), ...liveObjects()];
  /** The first problem of each rule, and how many it had. */
  const problems = new Map<string, { first: string; count: number }>();
  let checks = 0;
  for (const { name, objects, config } of clusters) {
    const before = findingsOf(objects, declared, config);
    const compare = (what: string, after: Map<string, string>, kind: string): void => {
      for (const r of declared) {
        if (readsKind(r.meta, kind)) continue;
        checks++;
        if (after.get(r.meta.id) === before.get(r.meta.id)) continue;
        const p = problems.get(r.meta.id);
        if (p) p.count++;
        else problems.set(r.meta.id, { first: `${r.meta.id} (reads ${readsText(r)}) changed when ${what} in ${name}`, count: 1 });
      }
    };
    const unread = (kind: string): boolean => declared.some((r) => !readsKind(r.meta, kind));
    const label = (o: K8sObject): string => `${o.kind} ${o.metadata.namespace ?? ""}/${o.metadata.name}`;
    for (const o of objects) {
      if (!unread(o.kind)) continue;
      const others = objects.filter((x) => x !== o);
      compare(`${label(o)} was removed`, findingsOf(others, declared, config), o.kind);
      compare(`${label(o)} was labelled as applied and suppressed`, findingsOf([...others, relabelled(o, objects)], declared, config), o.kind);
      const copy = { ...o, metadata: { ...o.metadata, name: `${o.metadata.name}-copy` } };
      compare(`a copy of ${label(o)} was added`, findingsOf([...objects, copy], declared, config), o.kind);
    }
    if (!name.startsWith("random")) continue;
    for (const extra of extras) {
      if (!unread(extra.kind)) continue;
      const slot = objectSlot(extra);
      compare(`${label(extra)} was added`, findingsOf([...objects.filter((x) => objectSlot(x) !== slot), extra], declared, config), extra.kind);
    }
  }
  assert.deepEqual([...problems.values()].map((p) => `${p.first}${p.count > 1 ? ` (and ${p.count - 1} more)` : ""}`), []);
  assert.ok(checks > 1000, `only ${checks} checks`);
});
