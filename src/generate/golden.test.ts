/**
 * Golden tests of `fluxguard generate` on the example specs, file for file, plus the checks
 * that do not need a cluster: every kustomization builds with `kubectl kustomize`, every
 * document is well-formed, no Secret is written, and the audit finds nothing at medium or above.
 * Regenerate after an intended change with `UPDATE_GOLDEN=1 npm run test:unit -- generate/golden`.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { test } from "node:test";
import { parseAllDocuments } from "yaml";
import { runAudit } from "../engine/audit.js";
import { REPO_ROOT, sourceDir } from "../testing/paths.js";
import { generateFleet, type GeneratedFile } from "./fleet.js";
import { STARTER_SPEC } from "./init.js";
import { loadSpec, parseSpec } from "./spec.js";
import { writeGenerated } from "./write.js";

const GOLDEN = join(sourceDir(import.meta.url), "golden");
const update = process.env["UPDATE_GOLDEN"] === "1";
const SPECS = [
  { name: "minimal", kyverno: false },
  { name: "multi-tenant", kyverno: true },
  { name: "flux-operator", kyverno: false },
];

function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(dir, p).split("\\").join("/"));
    }
  };
  if (existsSync(dir)) walk(dir);
  return out.sort();
}

function generate(name: string, kyverno: boolean): GeneratedFile[] {
  return generateFleet(loadSpec(join(REPO_ROOT, "examples", "specs", `${name}.yaml`)), { kyverno });
}

function hasKubectl(): boolean {
  try {
    execFileSync("kubectl", ["version", "--client"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

for (const s of SPECS) {
  test(`golden: generate examples/specs/${s.name}.yaml${s.kyverno ? " --kyverno" : ""}`, () => {
    const files = generate(s.name, s.kyverno);
    const dir = join(GOLDEN, s.name);
    if (update || !existsSync(dir)) {
      rmSync(dir, { recursive: true, force: true });
      for (const f of files) {
        mkdirSync(dirname(join(dir, f.path)), { recursive: true });
        writeFileSync(join(dir, f.path), f.content);
      }
      if (!update) assert.fail(`golden directory ${s.name} was missing and has been written; review and commit it`);
      return;
    }
    assert.deepEqual(files.map((f) => f.path), listFiles(dir), "the set of generated files changed; if intended, run UPDATE_GOLDEN=1");
    for (const f of files) assert.equal(f.content, readFileSync(join(dir, f.path), "utf8"), `${f.path} differs from the golden copy; if intended, run UPDATE_GOLDEN=1`);
  });

  test(`generate ${s.name}: deterministic, well-formed, no Secret values`, () => {
    const a = generate(s.name, s.kyverno);
    const b = generate(s.name, s.kyverno);
    assert.deepEqual(a, b);
    for (const f of a) {
      if (!f.path.endsWith(".yaml") || f.path === ".fluxguard.yaml") continue;
      const docs = parseAllDocuments(f.content);
      assert.ok(Array.isArray(docs));
      for (const d of docs) {
        assert.deepEqual(d.errors, [], f.path);
        const v = d.toJS() as Record<string, unknown>;
        const keys = Object.keys(v);
        if (f.path.endsWith("kustomization.yaml")) {
          assert.deepEqual(keys.slice(0, 2), ["apiVersion", "kind"], f.path);
          continue;
        }
        assert.deepEqual(keys.slice(0, 3), ["apiVersion", "kind", "metadata"], `${f.path}: apiVersion, kind and metadata come first`);
        const md = v["metadata"] as { name?: string; namespace?: string };
        assert.match(md.name ?? "", /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, `${f.path}: valid name`);
        assert.notEqual(v["kind"], "Secret", `${f.path}: generate never writes a Secret`);
        const cluster = ["Namespace", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "ClusterPolicy"].includes(v["kind"] as string);
        assert.equal(md.namespace === undefined, cluster, `${f.path}: ${String(v["kind"])} ${md.name} namespace`);
      }
    }
    // Every tenant-applied Kustomization is scoped and never forced.
    for (const f of a.filter((x) => x.path.startsWith("tenants/") && x.path.endsWith("sync.yaml"))) {
      for (const d of parseAllDocuments(f.content) as Array<{ toJS(): Record<string, Record<string, unknown>> }>) {
        const v = d.toJS();
        if (v["kind"] as unknown as string !== "Kustomization") continue;
        const spec = v["spec"]!;
        assert.equal(spec["prune"], true);
        assert.equal(spec["force"], undefined);
        assert.ok(spec["serviceAccountName"]);
        assert.ok(spec["targetNamespace"]);
        assert.equal((spec["sourceRef"] as Record<string, unknown>)["namespace"], undefined);
      }
    }
  });

  test(`generate ${s.name}: every kustomization builds with kubectl kustomize`, { skip: hasKubectl() ? false : "kubectl is not installed" }, () => {
    const dir = mkdtempSync(join(tmpdir(), `fluxguard-gen-${s.name}-`));
    try {
      writeGenerated(dir, generate(s.name, s.kyverno));
      const dirs = listFiles(dir)
        .filter((f) => f.endsWith("kustomization.yaml"))
        .map((f) => dirname(join(dir, f)));
      assert.ok(dirs.length > 3);
      for (const d of dirs) {
        const out = execFileSync("kubectl", ["kustomize", d], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
        if (!d.endsWith("flux-system")) assert.match(out, /apiVersion:/, d);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test(`round trip: audit of generated ${s.name} has no finding at medium or above, and no schema or API-version finding`, async () => {
    await assertAuditsClean(s.name, generate(s.name, s.kyverno));
  });
}

/** Writes a generated fleet to a temporary directory and audits it: nothing at medium or above, no schema or API-version finding. */
async function assertAuditsClean(name: string, files: GeneratedFile[]): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), `fluxguard-rt-${name}-`));
  try {
    writeGenerated(dir, files);
    const report = await runAudit({ root: dir, env: { PATH: process.env["PATH"], FLUXGUARD_KUSTOMIZE: hasKubectl() ? "kubectl" : "none" } });
    const serious = report.findings.filter(
      (f) => !f.suppressed && (["critical", "high", "medium"].includes(f.severity) || f.ruleId === "flux-schema-violation" || f.ruleId === "flux-api-removed"),
    );
    assert.deepEqual(
      serious.map((f) => `${f.severity} ${f.ruleId} ${f.location?.file}:${f.location?.line}: ${f.message}`),
      [],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("round trip: `fluxguard init | fluxguard generate` audits with nothing at medium or above (its chart is verified)", async () => {
  const spec = parseSpec(STARTER_SPEC, "fleet.yaml");
  assert.ok(spec.tenants.some((t) => t.charts.some((c) => c.verify !== null)), "the starter spec verifies its chart");
  await assertAuditsClean("init", generateFleet(spec, { kyverno: false }));
});

test("generate: writing again is idempotent and removes files no longer generated", () => {
  const dir = mkdtempSync(join(tmpdir(), "fluxguard-write-"));
  try {
    const files = generate("multi-tenant", true);
    const first = writeGenerated(dir, files);
    assert.equal(first.written, files.length);
    const again = writeGenerated(dir, files);
    assert.deepEqual([again.written, again.unchanged, again.removed], [0, files.length, []]);
    const fewer = generate("multi-tenant", false);
    const third = writeGenerated(dir, fewer);
    assert.ok(third.removed.includes("platform/kyverno/cluster-policies.yaml"));
    assert.ok(!existsSync(join(dir, "platform", "kyverno")));
    // A directory fluxguard did not write is never overwritten.
    const foreign = mkdtempSync(join(tmpdir(), "fluxguard-foreign-"));
    writeFileSync(join(foreign, "keep.yaml"), "a: 1\n");
    assert.throws(() => writeGenerated(foreign, fewer), /not empty and was not written by fluxguard generate/);
    rmSync(foreign, { recursive: true, force: true });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
