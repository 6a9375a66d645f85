/**
 * kustomize batching: bounded batch sizes, plans that share inputs (or declare the same
 * Namespace) kept apart, a bounded number of processes in flight, and output that does not
 * depend on how plans were batched.
 */
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { defaultConfig } from "../core/config.js";
import { findKustomize, type KustomizeTool } from "./kustomize.js";
import { batchDisjoint, mapPool } from "./render.js";
import { loadRepository } from "./repository.js";

describe("batchDisjoint", () => {
  it("caps batch size and keeps items with a shared key apart, deterministically", () => {
    const items = ["a:x", "b:x", "c:y", "d:z", "e:x", "f:q", "g:w", "h:y"];
    const keys = (s: string): string[] => [s.split(":")[1]!];
    const batches = batchDisjoint(items, keys, { items: 3 });
    for (const b of batches) {
      assert.ok(b.length <= 3);
      const ks = b.flatMap(keys);
      assert.equal(new Set(ks).size, ks.length, `shared key in ${b.join(",")}`);
    }
    assert.deepEqual(batches.flat().sort(), [...items].sort());
    assert.deepEqual(batchDisjoint(items, keys, { items: 3 }), batches);
    assert.deepEqual(batches, [["a:x", "c:y", "d:z"], ["b:x", "f:q", "g:w"], ["e:x", "h:y"]]);
  });

  it("gives every item its own batch at size 1, and one batch when nothing is shared", () => {
    assert.equal(batchDisjoint([1, 2, 3], () => [], { items: 1 }).length, 3);
    assert.deepEqual(batchDisjoint([1, 2, 3], (n) => [String(n)], { items: 10 }), [[1, 2, 3]]);
    assert.deepEqual(batchDisjoint([], () => [], { items: 4 }), []);
  });

  it("bounds the weight of a batch; an item heavier than the bound gets a batch of its own", () => {
    const batches = batchDisjoint([100, 100, 30, 500, 60, 20], () => [], { items: 10, weight: 200, weightOf: (n) => n });
    assert.deepEqual(batches, [[100, 100], [30, 60, 20], [500]]);
  });
});

describe("mapPool", () => {
  it("keeps at most `limit` calls in flight and returns results in input order", async () => {
    let inFlight = 0;
    let peak = 0;
    const out = await mapPool([5, 1, 4, 2, 3], 2, async (n) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, n * 3));
      inFlight--;
      return n * 10;
    });
    assert.deepEqual(out, [50, 10, 40, 20, 30]);
    assert.equal(peak, 2);
    assert.deepEqual(await mapPool([], 3, async () => 1), []);
  });
});

// A CLI kustomize (the shim below counts its processes); the server has its own tests.
const realTool = findKustomize({ ...process.env, FLUXGUARD_KUSTOMIZE_SERVER: "none" });

/** A fleet of two clusters whose flux-system trees both declare Namespace flux-system, and overlays with patches. */
function fleet(apps: number): string {
  const dir = mkdtempSync(join(tmpdir(), "fg-batch-"));
  const w = (rel: string, text: string): void => {
    mkdirSync(join(dir, rel, ".."), { recursive: true });
    writeFileSync(join(dir, rel), text);
  };
  for (const c of ["one", "two"]) {
    w(`clusters/${c}/flux-system/kustomization.yaml`, "resources: [ns.yaml, sync.yaml]\n");
    w(`clusters/${c}/flux-system/ns.yaml`, "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: flux-system\n");
    w(
      `clusters/${c}/flux-system/sync.yaml`,
      `apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: flux-system\n  namespace: flux-system\nspec:\n  url: ssh://git@example.com/fleet\n  ref: {branch: main}\n---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: flux-system\n  namespace: flux-system\nspec:\n  path: ./clusters/${c}\n  sourceRef: {kind: GitRepository, name: flux-system}\n`,
    );
    const ks: string[] = [];
    for (let i = 0; i < apps; i++) {
      ks.push(
        `apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: app-${i}\n  namespace: flux-system\nspec:\n  path: ./apps/${c}/app-${i}\n  targetNamespace: team-${i}\n  serviceAccountName: kustomize-controller\n  sourceRef: {kind: GitRepository, name: flux-system}\n`,
      );
      w(`apps/${c}/app-${i}/kustomization.yaml`, `resources: [../../base/app-${i}]\npatches:\n  - patch: "- op: replace\\n  path: /spec/replicas\\n  value: ${c === "one" ? 3 : 1}\\n"\n    target: {kind: Deployment}\n`);
    }
    w(`clusters/${c}/apps.yaml`, ks.join("---\n"));
  }
  for (let i = 0; i < apps; i++) {
    w(`apps/base/app-${i}/kustomization.yaml`, "resources: [ns.yaml, deploy.yaml]\n");
    w(`apps/base/app-${i}/ns.yaml`, `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-${i}\n`);
    w(
      `apps/base/app-${i}/deploy.yaml`,
      `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 2\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers: [{name: web, image: "nginx:1.27"}]\n`,
    );
  }
  return dir;
}

/** Wraps the real kustomize in a script that logs every build. */
function countingTool(real: KustomizeTool, dir: string): { tool: KustomizeTool; builds: () => number } {
  const log = join(dir, "builds.log");
  const shim = join(dir, "kustomize-shim.sh");
  writeFileSync(log, "");
  writeFileSync(shim, `#!/bin/sh\necho build >> '${log}'\nexec ${[real.command, ...real.args].map((a) => `'${a}'`).join(" ")} "$@"\n`);
  chmodSync(shim, 0o755);
  return { tool: { command: shim, args: [], label: real.label }, builds: () => readFileSync(log, "utf8").split("\n").filter(Boolean).length };
}

describe("batched kustomize rendering", { skip: !realTool && "no kustomize or kubectl on PATH" }, () => {
  it("renders the same objects whatever the batch size, without failed batches, in as many builds as batches", async () => {
    const dir = fleet(6);
    const shimDir = mkdtempSync(join(tmpdir(), "fg-batch-shim-"));
    const saved = process.env["FLUXGUARD_RENDER_BATCH"];
    try {
      const snapshot = async (batch: string): Promise<{ objects: string[]; builds: number }> => {
        process.env["FLUXGUARD_RENDER_BATCH"] = batch;
        const { tool, builds } = countingTool(realTool!, shimDir);
        const r = await loadRepository({ root: dir, config: defaultConfig(), kustomize: tool, concurrency: 2, cacheDir: null });
        const objects = r.model.objects.map((o) => `${o.clusterId} ${o.ref.kind}/${o.ref.namespace ?? ""}/${o.ref.name} ${JSON.stringify(o.object)} ${o.origin.file ?? ""} ${(o.origin.patchedBy ?? []).join(",")}`).sort();
        for (const n of r.model.renderNotes) assert.deepEqual(n.problems, [], `${n.reconciler}: ${n.problems.join("; ")}`);
        return { objects, builds: builds() };
      };
      const one = await snapshot("1");
      const four = await snapshot("4");
      const big = await snapshot("64");
      assert.deepEqual(four.objects, one.objects);
      assert.deepEqual(big.objects, one.objects);
      // Levels: 2 flux-system trees (same Namespace: never one build), then 12 app plans.
      assert.equal(one.builds, 2 + 12);
      assert.equal(four.builds, 2 + 3, "12 app plans in batches of 4, and the two flux-system plans apart");
      assert.equal(big.builds, 2 + 2, "batches are also capped by ceil(plans / concurrency)");
      // Replicas patched per cluster: each overlay rendered on its own.
      const replicas = one.objects.filter((o) => o.includes(" Deployment/")).map((o) => /"replicas":(\d)/.exec(o)?.[1]);
      assert.deepEqual([...new Set(replicas)].sort(), ["1", "3"]);
    } finally {
      if (saved === undefined) delete process.env["FLUXGUARD_RENDER_BATCH"];
      else process.env["FLUXGUARD_RENDER_BATCH"] = saved;
      rmSync(dir, { recursive: true, force: true });
      rmSync(shimDir, { recursive: true, force: true });
    }
  });
});
