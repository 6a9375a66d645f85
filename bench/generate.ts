/**
 * Benchmarks for `fluxguard generate` and `fluxguard fix`: generate time for fleets of 10, 50
 * and 200 tenants on 3 clusters (validation, rendering and writing), and fix time on a copy of
 * the corpus (or the bundled legacy fixture when the corpus is absent).
 */
import { cpSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { generateFleet } from "../src/generate/fleet.js";
import { parseSpec } from "../src/generate/spec.js";
import { writeGenerated } from "../src/generate/write.js";
import { applyPlan, planFixes } from "../src/fix/index.js";
import { CORPUS_DIR, REPO_ROOT } from "../src/testing/paths.js";

function specText(tenants: number): string {
  const lines = [
    "platform:",
    "  repository: ssh://git@github.com/example/fleet",
    "defaults:",
    "  allowedRegistries: [ghcr.io/example]",
    "clusters:",
    "  - name: dev",
    "  - name: staging",
    "  - name: production",
    "tenants:",
  ];
  for (let i = 0; i < tenants; i++) {
    lines.push(
      `  - name: team-${i}`,
      `    namespaces: [team-${i}, team-${i}-jobs]`,
      `    repository: ssh://git@github.com/example/team-${i}`,
      "    path: ./deploy/{environment}",
      "    images:",
      "      - name: api",
      `        image: ghcr.io/example/team-${i}/api`,
      '        range: ">=1.0.0 <2.0.0"',
      "    charts:",
      "      - name: podinfo",
      "        repository: https://stefanprodan.github.io/podinfo",
      '        version: ">=6.0.0 <7.0.0"',
    );
  }
  return `${lines.join("\n")}\n`;
}

function time<T>(f: () => T): { ms: number; value: T } {
  const t0 = performance.now();
  const value = f();
  return { ms: performance.now() - t0, value };
}

export async function run(): Promise<void> {
  for (const n of [10, 50, 200]) {
    const text = specText(n);
    const parse = time(() => parseSpec(text, "bench.yaml"));
    const gen = time(() => generateFleet(parse.value, { kyverno: true }));
    const dir = mkdtempSync(join(tmpdir(), "fluxguard-bench-gen-"));
    const write = time(() => writeGenerated(dir, gen.value));
    rmSync(dir, { recursive: true, force: true });
    const bytes = gen.value.reduce((s, f) => s + f.content.length, 0);
    console.log(
      `generate ${String(n).padStart(3)} tenants x 3 clusters: parse ${parse.ms.toFixed(1)} ms, generate ${gen.ms.toFixed(1)} ms, write ${write.ms.toFixed(1)} ms; ${gen.value.length} files, ${(bytes / 1024).toFixed(0)} KiB`,
    );
  }
  const sources = existsSync(CORPUS_DIR) ? [CORPUS_DIR] : [join(REPO_ROOT, "src", "fix", "fixtures", "legacy-fleet")];
  for (const src of sources) {
    const dir = mkdtempSync(join(tmpdir(), "fluxguard-bench-fix-"));
    cpSync(src, dir, { recursive: true });
    const plan = time(() => planFixes(dir));
    const apply = time(() => applyPlan(plan.value));
    const changes = plan.value.files.reduce((s, f) => s + f.changes.length, 0);
    console.log(
      `fix ${src === CORPUS_DIR ? "corpus" : "legacy fixture"}: ${plan.value.filesScanned} files scanned, plan ${plan.ms.toFixed(1)} ms, apply ${apply.ms.toFixed(1)} ms; ${changes} fixes in ${plan.value.files.length} files`,
    );
    rmSync(dir, { recursive: true, force: true });
  }
}
