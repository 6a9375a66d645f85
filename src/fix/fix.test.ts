import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { test } from "node:test";
import { parseAllDocuments } from "yaml";
import { runAudit } from "../engine/audit.js";
import { runCli } from "../testing/cli.js";
import { CORPUS_DIR, fixturePath, REPO_ROOT, sourceDir } from "../testing/paths.js";
import { diffLines, unifiedDiff } from "./diff.js";
import { detectIndentSeq, fixText, planFixes } from "./index.js";
import type { DocContext } from "./fixes.js";

const LEGACY = fixturePath(import.meta.url, "fixtures", "legacy-fleet");
const GOLDEN = join(sourceDir(import.meta.url), "golden");
const update = process.env["UPDATE_GOLDEN"] === "1";

function copy(src: string): string {
  const dir = mkdtempSync(join(tmpdir(), "fluxguard-fix-"));
  cpSync(src, dir, { recursive: true });
  return dir;
}

function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(relative(dir, p), readFileSync(p, "utf8"));
    }
  };
  walk(dir);
  return out;
}

function ctx(): DocContext {
  return { changes: [], todos: [], leftAlone: [] };
}

test("fix --dry-run prints the golden unified diff, exits 1 and changes nothing", async () => {
  const dir = copy(LEGACY);
  try {
    const before = snapshot(dir);
    const r = await runCli(["fix", dir, "--dry-run"]);
    assert.equal(r.code, 1);
    const file = join(GOLDEN, "legacy-fleet.diff");
    if (update || !existsSync(file)) {
      mkdirSync(GOLDEN, { recursive: true });
      writeFileSync(file, r.stdout);
      if (!update) assert.fail("golden diff was missing and has been written; review and commit it");
    } else assert.equal(r.stdout, readFileSync(file, "utf8"), "diff differs from golden/legacy-fleet.diff; if intended, run UPDATE_GOLDEN=1");
    assert.match(r.stderr, /would apply \d+ fixes in 5 files \(dry run: nothing written\)/);
    assert.match(r.stderr, /You must still:\n {2}- GitRepository flux-system\/flux-system: create Secret flux-system\/flux-system-signing-keys/);
    assert.match(r.stderr, /Left alone.*\n.*GitRepository flux-system\/shared: not migrated: spec\.accessFrom/);
    assert.deepEqual(snapshot(dir), before);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("fix applies the same changes the diff shows; `patch` reproduces them; a second run finds nothing", async () => {
  const a = copy(LEGACY);
  const b = copy(LEGACY);
  try {
    const diff = (await runCli(["fix", a, "--dry-run"])).stdout;
    const r = await runCli(["fix", a]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /applied \d+ fixes in 5 files/);
    let hasPatch = true;
    try {
      execFileSync("patch", ["--version"], { stdio: "ignore" });
    } catch {
      hasPatch = false;
    }
    if (hasPatch) {
      const p = spawnSync("patch", ["-p1", "--quiet"], { cwd: b, input: diff, encoding: "utf8" });
      assert.equal(p.status, 0, p.stderr + p.stdout);
      assert.deepEqual(snapshot(b), snapshot(a));
    }
    const again = await runCli(["fix", a, "--dry-run"]);
    assert.equal(again.code, 0);
    assert.equal(again.stdout, "");
    // Every file still parses, and the patch file kustomize reads was not touched.
    for (const [rel, text] of snapshot(a)) if (rel.endsWith(".yaml")) for (const d of parseAllDocuments(text) as Array<{ errors: unknown[] }>) assert.deepEqual(d.errors, [], rel);
    assert.equal(readFileSync(join(a, "apps/podinfo/gitrepo-patch.yaml"), "utf8"), readFileSync(join(LEGACY, "apps/podinfo/gitrepo-patch.yaml"), "utf8"));
  } finally {
    rmSync(a, { recursive: true, force: true });
    rmSync(b, { recursive: true, force: true });
  }
});

test("fix keeps comments, key order, quoting and untouched documents byte for byte", () => {
  const text = `# top comment
apiVersion: v1
kind: ConfigMap
metadata:
  name: untouched   # spacing kept here
data: {a: "1"}
---
# before the Kustomization
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: app
  namespace: apps
spec:
  # how often
  interval: 5m
  path: "./apps"
  force: true
  serviceAccountName: app
  sourceRef:
    kind: GitRepository
    name: apps
`;
  const c = ctx();
  const out = fixText(text, "x.yaml", { fluxSystem: false }, c);
  assert.deepEqual(c.changes.map((x) => x.fix), ["remove-force", "add-prune"]);
  const [first, second] = out.split("---\n");
  assert.equal(`${first}---\n`, text.split("---\n")[0] + "---\n", "the first document is untouched");
  assert.equal(
    second,
    `# before the Kustomization
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: app
  namespace: apps
spec:
  # how often
  interval: 5m
  path: "./apps"
  prune: true
  serviceAccountName: app
  sourceRef:
    kind: GitRepository
    name: apps
`,
  );
  // Nothing to do: the text comes back identical.
  const c2 = ctx();
  assert.equal(fixText(out, "x.yaml", { fluxSystem: false }, c2), out);
  assert.deepEqual(c2.changes, []);
});

test("fix: explicit prune: false, missing service accounts and FluxInstance lockdown are reported, not changed", () => {
  const text = `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: app
  namespace: apps
spec:
  interval: 5m
  path: ./apps
  prune: false
  sourceRef:
    kind: GitRepository
    name: apps
---
apiVersion: fluxcd.controlplane.io/v1
kind: FluxInstance
metadata:
  name: flux
  namespace: flux-system
spec:
  cluster:
    type: kubernetes
`;
  const c = ctx();
  assert.equal(fixText(text, "x.yaml", { fluxSystem: false }, c), text);
  assert.deepEqual(
    c.leftAlone.map((l) => l.message.split(":")[0]),
    ["spec.prune", "no spec.serviceAccountName", "spec.cluster.multitenant is not true; set it (and tenantDefaultServiceAccount) to lock Flux down (weakness-4-unscoped-kustomization)"],
  );
});

test("fix: an existing lockdown is recognised; only missing patches are added", () => {
  const text = `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - gotk-components.yaml
  - gotk-sync.yaml
patches:
  - patch: |
      - op: add
        path: /spec/template/spec/containers/0/args/-
        value: --no-cross-namespace-refs=true
    target:
      kind: Deployment
      name: "(kustomize-controller|helm-controller|notification-controller)"
`;
  const c = ctx();
  const out = fixText(text, "kustomization.yaml", { fluxSystem: true }, c);
  assert.equal(c.changes.length, 1);
  assert.match(c.changes[0]!.message, /--no-remote-bases=true, --default-service-account=default, serviceAccountName/);
  assert.doesNotMatch(c.changes[0]!.message, /no-cross-namespace-refs/);
  assert.ok(out.startsWith(text.trimEnd()), "existing entries are kept as they were");
  assert.equal(detectIndentSeq(text), true);
  assert.equal(detectIndentSeq("a:\n- b\n"), false);
});

test("diff: matches GNU diff -u hunks", () => {
  const a = Array.from({ length: 40 }, (_, i) => `line ${i}`);
  const b = [...a];
  b.splice(3, 1, "changed 3");
  b.splice(20, 0, "inserted");
  b.splice(38, 2);
  const oldText = `${a.join("\n")}\n`;
  const newText = `${b.join("\n")}\n`;
  const ours = unifiedDiff(oldText, newText, "a", "b");
  const dir = mkdtempSync(join(tmpdir(), "fluxguard-diff-"));
  try {
    writeFileSync(join(dir, "a"), oldText);
    writeFileSync(join(dir, "b"), newText);
    const gnu = spawnSync("diff", ["-u", "a", "b"], { cwd: dir, encoding: "utf8" });
    if (gnu.error) return;
    const strip = (s: string) => s.split("\n").filter((l) => !l.startsWith("---") && !l.startsWith("+++")).join("\n");
    assert.equal(strip(ours), strip(gnu.stdout));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(unifiedDiff("x\n", "x\n", "a", "b"), "");
  assert.deepEqual(diffLines([], ["a"]).map((o) => o.kind), ["add"]);
});

function activeCount(r: Awaited<ReturnType<typeof runAudit>>): number {
  return r.findings.filter((f) => !f.suppressed).length;
}

const ROUND_TRIP = [
  { name: "legacy-fleet fixture", dir: LEGACY },
  { name: "examples/fleet", dir: join(REPO_ROOT, "examples", "fleet") },
  ...["flux2-multi-tenancy", "flux2-kustomize-helm-example", "flux2-monitoring-example", "home-ops"].map((n) => ({ name: `corpus ${n}`, dir: join(CORPUS_DIR, n) })),
];

for (const rt of ROUND_TRIP) {
  test(`round trip: fix then audit never raises the finding count (${rt.name})`, { skip: existsSync(rt.dir) ? false : "not present" }, async () => {
    const dir = copy(rt.dir);
    try {
      const env = { PATH: process.env["PATH"], FLUXGUARD_KUSTOMIZE: "kubectl" };
      const before = await runAudit({ root: dir, env });
      const plan = planFixes(dir);
      for (const f of plan.files) writeFileSync(join(dir, f.file), f.after);
      const after = await runAudit({ root: dir, env });
      assert.ok(
        activeCount(after) <= activeCount(before),
        `findings rose from ${activeCount(before)} to ${activeCount(after)}:\n${after.findings
          .filter((f) => !before.findings.some((g) => g.fingerprint === f.fingerprint))
          .map((f) => `${f.ruleId} ${f.location?.file}: ${f.message}`)
          .join("\n")}`,
      );
      for (const sev of ["critical", "high"] as const) assert.ok(after.summary.bySeverity[sev] <= before.summary.bySeverity[sev], sev);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test("fix: bad targets are usage errors", async () => {
  const r = await runCli(["fix", "/nonexistent/fleet"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^fluxguard: no such directory/);
  assert.equal((await runCli(["fix"])).code, 2);
});
