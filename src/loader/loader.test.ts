import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { defaultConfig } from "../core/config.js";
import { runAudit } from "../engine/audit.js";
import { loadRepository } from "./repository.js";
import { parseYamlFile } from "./yaml.js";

function repo(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "fg-loader-"));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, ".."), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

const CM = (name: string, ns = "default") => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: ${ns}\n`;
const KS = (name: string, path: string, extra = "") =>
  `apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: ${name}\n  namespace: flux-system\nspec:\n  path: ${path}\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n${extra}`;

test("positions: pointers resolve to the key's line and column, in multi-document files", () => {
  const f = parseYamlFile("a.yaml", `${CM("one")}---\n# comment\n${CM("two")}data:\n  key: value\n`);
  assert.equal(f.documents.length, 2);
  assert.deepEqual(f.documents[1]!.locate("/data/key"), { file: "a.yaml", line: 14, column: 3 });
  assert.deepEqual(f.documents[1]!.locate("/metadata/name"), { file: "a.yaml", line: 11, column: 3 });
  // A path that does not exist resolves to its deepest existing ancestor.
  assert.deepEqual(f.documents[1]!.locate("/data/missing/deeper"), { file: "a.yaml", line: 13, column: 1 });
});

test("malformed documents are errors with a line; the other documents survive", async () => {
  const dir = repo({ "a.yaml": `${CM("ok")}---\nkind: [\n---\n${CM("also-ok")}` });
  const r = await loadRepository({ root: dir, config: defaultConfig(), kustomize: null });
  assert.equal(r.parseErrors.length, 1);
  assert.equal(r.parseErrors[0]!.file, "a.yaml");
  assert.ok(r.parseErrors[0]!.line >= 7);
  assert.deepEqual(r.model.fileObjects.map((o) => o.object.metadata.name).sort(), ["also-ok", "ok"]);
});

test("non-objects are skipped quietly, and noted for --verbose", async () => {
  const dir = repo({ ".github/workflows/ci.yaml": "on: push\njobs: {}\n", "charts/x/values.yaml": "replicaCount: 1\n", "a.yaml": CM("a") });
  const report = await runAudit({ root: dir, kustomize: null });
  assert.equal(report.findings.filter((f) => f.ruleId === "parse-error").length, 0);
  assert.ok(report.notices.some((n) => n.file === ".github/workflows/ci.yaml" && n.level === "verbose"));
});

test("Helm chart templates are not parsed", async () => {
  const dir = repo({ "chart/Chart.yaml": "apiVersion: v2\nname: x\nversion: 1.0.0\n", "chart/templates/d.yaml": "{{- if .Values.x }}\nkind: {{ .Values.kind }}\n{{- end }}\n" });
  const report = await runAudit({ root: dir, kustomize: null });
  assert.equal(report.findings.filter((f) => f.ruleId === "parse-error").length, 0);
});

test("huge and binary files are not assessed (a high finding); symlinks leaving the root are skipped with a notice", async () => {
  const outside = repo({ "secret.yaml": CM("outside") });
  const dir = repo({ "big.yaml": `${CM("big")}data:\n  x: "${"a".repeat(2000)}"\n`, "bin.yaml": "apiVersion: v1\0\0\0", "ok.yaml": CM("ok") });
  symlinkSync(join(outside, "secret.yaml"), join(dir, "escape.yaml"));
  symlinkSync(outside, join(dir, "escape-dir"));
  symlinkSync(join(dir, "ok.yaml"), join(dir, "inside-link.yaml"));
  const report = await runAudit({ root: dir, kustomize: null, maxFileBytes: 1000 });
  const reasons = Object.fromEntries(report.notices.filter((n) => n.level === "warn").map((n) => [n.file, n.reason]));
  const unassessed = Object.fromEntries(report.findings.filter((f) => f.ruleId === "input-not-assessed").map((f) => [f.location?.file, f]));
  assert.match(unassessed["big.yaml"]?.message ?? "", /larger than 1000 bytes/);
  assert.match(unassessed["bin.yaml"]?.message ?? "", /binary/);
  assert.equal(unassessed["big.yaml"]?.severity, "high");
  assert.equal(report.summary.failed, true);
  assert.match(reasons["escape.yaml"] ?? "", /outside the scanned root/);
  assert.match(reasons["escape-dir"] ?? "", /outside the scanned root/);
  assert.equal(reasons["inside-link.yaml"], undefined);
});

test("YAML alias bombs are bounded", () => {
  const levels = ["a: &a [x,x,x,x,x,x,x,x,x,x]"];
  for (let i = 1; i < 12; i++) levels.push(`l${i}: &l${i} [${Array(10).fill(i === 1 ? "*a" : `*l${i - 1}`).join(",")}]`);
  const t0 = Date.now();
  const f = parseYamlFile("bomb.yaml", `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\ndata:\n${levels.map((l) => `  ${l}`).join("\n")}\n`);
  assert.equal(f.documents.length, 0);
  assert.match(f.errors[0]!.message, /alias bomb/);
  assert.ok(Date.now() - t0 < 2000);
});

test("Flux's generated kustomization: every manifest under the path, recursively, without kustomize", async () => {
  const dir = repo({
    "clusters/prod/flux-system/gotk-sync.yaml": KS("flux-system", "./clusters/prod"),
    "clusters/prod/apps.yaml": KS("apps", "./apps", "  targetNamespace: team\n  namePrefix: p-\n"),
    "apps/one.yaml": CM("one"),
    "apps/nested/two.yaml": CM("two"),
    "apps/nested/values.yml": "replicas: 3\n",
  });
  const r = await loadRepository({ root: dir, config: defaultConfig(), kustomize: null });
  const apps = r.model.reconcilers.find((x) => x.object.object.metadata.name === "apps")!;
  assert.equal(apps.render?.method, "flux-generated");
  assert.deepEqual(apps.render!.objects.map((o) => `${o.object.metadata.namespace}/${o.object.metadata.name}`).sort(), ["team/p-one", "team/p-two"]);
  const two = apps.render!.objects.find((o) => o.object.metadata.name === "p-two")!;
  assert.deepEqual(two.locate("/metadata/name"), { file: "apps/nested/two.yaml", line: 4, column: 3 });
});

test("kustomize renders overlays with the Kustomization's own patches; links back to files", async () => {
  const dir = repo({
    "clusters/prod/flux-system/gotk-sync.yaml": KS("flux-system", "./clusters/prod"),
    "clusters/prod/apps.yaml": KS(
      "apps",
      "./apps/prod",
      "  patches:\n    - patch: |\n        apiVersion: v1\n        kind: ConfigMap\n        metadata:\n          name: web\n        data:\n          FROM_FLUX: \"yes\"\n      target:\n        kind: ConfigMap\n  postBuild:\n    substitute:\n      LEVEL: debug\n",
    ),
    "apps/base/kustomization.yaml": "resources:\n  - cm.yaml\n",
    "apps/base/cm.yaml": `${CM("web")}data:\n  LOG: \${LEVEL}\n  KEEP: \${UNSET}\n  DEF: \${MISSING:=fallback}\n`,
    "apps/prod/kustomization.yaml": "resources:\n  - ../base\nnamePrefix: prod-\n",
  });
  const r = await loadRepository({ root: dir, config: defaultConfig() });
  const apps = r.model.reconcilers.find((x) => x.object.object.metadata.name === "apps")!;
  assert.equal(apps.render?.method, "kustomize", JSON.stringify(apps.render?.problems));
  const cm = apps.render!.objects[0]!;
  assert.equal(cm.object.metadata.name, "prod-web");
  assert.deepEqual(cm.object["data"], { LOG: "debug", KEEP: "${UNSET}", DEF: "fallback", FROM_FLUX: "yes" });
  assert.equal(cm.origin.file, "apps/base/cm.yaml");
  assert.deepEqual(cm.locate("/data/LOG"), { file: "apps/base/cm.yaml", line: 7, column: 3 });
  // A field that only the Flux patch adds is located at the object (its nearest line); the patch is named apart.
  assert.equal(cm.locate("/data/FROM_FLUX")?.file, "apps/base/cm.yaml");
  assert.equal(cm.patchOf?.("/data/FROM_FLUX")?.file, "clusters/prod/apps.yaml");
  assert.equal(cm.patchOf?.("/data/LOG"), null, "the patch did not change LOG");
});

test("kustomize missing: the built-in resolver renders plain resource lists and says so", async () => {
  const dir = repo({
    "clusters/prod/flux-system/gotk-sync.yaml": KS("flux-system", "./clusters/prod"),
    "clusters/prod/apps.yaml": KS("apps", "./apps"),
    "apps/kustomization.yaml": "resources:\n  - cm.yaml\npatches:\n  - path: p.yaml\n",
    "apps/cm.yaml": CM("web"),
    "apps/p.yaml": CM("web"),
  });
  const report = await runAudit({ root: dir, env: { PATH: process.env["PATH"], FLUXGUARD_KUSTOMIZE: "none" } });
  assert.equal(report.rendering.kustomize, null);
  const note = report.rendering.reconcilers.find((n) => n.reconciler.startsWith("Kustomization/flux-system/apps"))!;
  assert.equal(note.method, "builtin");
  assert.match(note.problems.join(" "), /no kustomize found/);
  assert.equal(note.objects, 1);
});

test("never runs exec plugins or helm from scanned content", async () => {
  const marker = join(tmpdir(), `fg-exec-marker-${process.pid}`);
  const dir = repo({
    "clusters/prod/flux-system/gotk-sync.yaml": KS("flux-system", "./clusters/prod"),
    "clusters/prod/apps.yaml": KS("apps", "./apps"),
    "apps/kustomization.yaml": "resources:\n  - cm.yaml\ngenerators:\n  - gen.yaml\nhelmCharts:\n  - name: x\n    repo: https://example.com\n",
    "apps/cm.yaml": CM("web"),
    "apps/gen.yaml": `apiVersion: example.com/v1\nkind: Evil\nmetadata:\n  name: evil\n  annotations:\n    config.kubernetes.io/function: |\n      exec:\n        path: /bin/sh\nspec:\n  run: touch ${marker}\n`,
  });
  const report = await runAudit({ root: dir });
  assert.equal(existsSync(marker), false);
  assert.ok(report.findings.some((f) => f.ruleId === "kustomization-not-rendered" && /helmCharts/.test(f.message)));
});

test("a foreign source is not rendered as this repository", async () => {
  const dir = repo({
    "clusters/prod/flux-system/gotk-sync.yaml": KS("flux-system", "./clusters/prod"),
    "clusters/prod/tenant.yaml":
      "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: t\n  namespace: flux-system\nspec:\n  url: https://example.com/other\n---\n" +
      KS("t", "./apps").replace("name: flux-system\n", "name: t\n"),
    "apps/cm.yaml": CM("would-be-wrong"),
  });
  const r = await loadRepository({ root: dir, config: defaultConfig(), kustomize: null });
  const t = r.model.reconcilers.find((x) => x.object.object.metadata.name === "t")!;
  assert.equal(t.render?.method, null);
  assert.match(t.render!.problems[0]!, /is not this repository/);
});

test("tenancy: identity and tier follow serviceAccountName, the lockdown default and the controller", async () => {
  const dep = (args: string) =>
    `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: kustomize-controller\n  namespace: flux-system\nspec:\n  template:\n    spec:\n      serviceAccountName: kustomize-controller\n      containers:\n        - name: manager\n          args: [${args}]\n`;
  const dir = repo({
    "clusters/prod/flux-system/kustomization.yaml": "resources:\n  - gotk-sync.yaml\n  - controllers.yaml\n",
    "clusters/prod/flux-system/gotk-sync.yaml": KS("flux-system", "./clusters/prod", "  serviceAccountName: kustomize-controller\n"),
    "clusters/prod/flux-system/controllers.yaml": dep("--default-service-account=tenant-default"),
    "clusters/prod/a.yaml": KS("named", "./x", "  serviceAccountName: team\n").replace("namespace: flux-system", "namespace: team") + "---\n" + KS("defaulted", "./x").replace("namespace: flux-system", "namespace: team"),
    "x/cm.yaml": CM("x"),
  });
  const r = await loadRepository({ root: dir, config: defaultConfig(), kustomize: null });
  const by = Object.fromEntries(r.model.reconcilers.map((x) => [x.object.object.metadata.name, x]));
  assert.deepEqual(by["flux-system"]!.identity, { namespace: "flux-system", serviceAccount: "kustomize-controller", source: "spec" });
  assert.equal(by["flux-system"]!.tier, "platform");
  assert.deepEqual(by["named"]!.identity, { namespace: "team", serviceAccount: "team", source: "spec" });
  assert.equal(by["named"]!.tier, "tenant");
  assert.deepEqual(by["defaulted"]!.identity, { namespace: "team", serviceAccount: "tenant-default", source: "default-service-account" });
});

test("remote bases are never fetched; the local part of the overlay still renders with its patches", async () => {
  const dir = repo({
    "clusters/prod/flux-system/gotk-sync.yaml": KS("flux-system", "./clusters/prod"),
    "clusters/prod/apps.yaml": KS("apps", "./apps/overlay"),
    "apps/base/kustomization.yaml": "resources:\n  - cm.yaml\n",
    "apps/base/cm.yaml": `${CM("web")}data:\n  A: base\n`,
    "apps/overlay/kustomization.yaml": "resources:\n  - ../base\n  - https://github.com/example/remote//deploy?ref=main\npatches:\n  - path: patch.yaml\n",
    "apps/overlay/patch.yaml": `${CM("web")}data:\n  A: patched\n`,
  });
  const r = await loadRepository({ root: dir, config: defaultConfig() });
  const apps = r.model.reconcilers.find((x) => x.object.object.metadata.name === "apps")!;
  assert.equal(apps.render?.method, "kustomize");
  assert.match(apps.render!.problems.join(" "), /remote base 'https:\/\/github.com\/example\/remote\/\/deploy\?ref=main' .* was not fetched; rendered without it/);
  const cm = apps.render!.objects.find((o) => o.object.kind === "ConfigMap")!;
  assert.deepEqual(cm.object["data"], { A: "patched" });
  assert.equal(cm.origin.file, "apps/base/cm.yaml");
  assert.deepEqual(cm.locate("/data/A"), { file: "apps/overlay/patch.yaml", line: 7, column: 3 });
});

test("FluxInstance: multitenant and kustomize patches merge into one lockdown", async () => {
  const dir = repo({
    "flux/instance.yaml": `apiVersion: fluxcd.controlplane.io/v1
kind: FluxInstance
metadata:
  name: flux
  namespace: flux-system
spec:
  distribution:
    version: "2.9.x"
  cluster:
    multitenant: true
    tenantDefaultServiceAccount: flux
  kustomize:
    patches:
      - patch: |
          - op: add
            path: /spec/template/spec/containers/0/args/-
            value: --no-remote-bases=true
        target:
          kind: Deployment
          name: kustomize-controller
  sync:
    kind: GitRepository
    url: https://github.com/example/fleet
    ref: refs/heads/main
    path: clusters/prod
`,
    "clusters/prod/cm.yaml": CM("x"),
  });
  const r = await loadRepository({ root: dir, config: defaultConfig(), kustomize: null });
  const c = r.model.clusters.find((x) => x.id === "clusters/prod")!;
  assert.deepEqual(c.lockdown["kustomize-controller"], { noCrossNamespaceRefs: true, defaultServiceAccount: "flux", noRemoteBases: true, evidence: "kustomize-patches" });
  assert.deepEqual(c.lockdown["helm-controller"], { noCrossNamespaceRefs: true, defaultServiceAccount: "flux", noRemoteBases: false, evidence: "flux-instance" });
});

test("render cache: a repeat run reuses builds, an edit invalidates them, Secrets are never written", async () => {
  const { readdirSync, readFileSync } = await import("node:fs");
  const { findKustomize } = await import("./kustomize.js");
  const real = findKustomize({ PATH: process.env["PATH"] })!;
  const cacheDir = mkdtempSync(join(tmpdir(), "fg-cache-"));
  const dir = repo({
    "clusters/prod/flux-system/gotk-sync.yaml": KS("flux-system", "./clusters/prod"),
    "clusters/prod/apps.yaml": KS("apps", "./apps") + "---\n" + KS("secrets", "./secrets").replace("name: secrets", "name: secretsks"),
    "apps/kustomization.yaml": "resources:\n  - cm.yaml\nnamePrefix: a-\n",
    "apps/cm.yaml": `${CM("web")}data:\n  A: "1"\n`,
    "secrets/kustomization.yaml": "secretGenerator:\n  - name: s\n    literals:\n      - password=canary-value\n",
  });
  const names = async (tool: typeof real) => {
    const r = await loadRepository({ root: dir, config: defaultConfig(), kustomize: tool, cacheDir });
    const apps = r.model.reconcilers.find((x) => x.object.object.metadata.name === "apps")!;
    return { names: apps.render!.objects.map((o) => o.object.metadata.name), problems: apps.render!.problems };
  };
  const first = await names(real);
  assert.deepEqual(first, { names: ["a-web"], problems: [] });
  // Same label and version, but a binary that always fails: only a cache hit renders.
  const broken = { ...real, command: "false", args: [] };
  assert.deepEqual(await names(broken), first);
  for (const f of readdirSync(cacheDir)) assert.doesNotMatch(readFileSync(join(cacheDir, f), "utf8"), /canary-value|"Secret"/);
  writeFileSync(join(dir, "apps", "cm.yaml"), `${CM("web")}data:\n  A: "2"\n`);
  const edited = await names(broken);
  assert.match(edited.problems.join(" "), /kustomize failed/);
});

test("kustomize errors: the innermost reason, relative to the scan root, without fluxguard's temporary paths", async () => {
  const { kustomizeError } = await import("./render.js");
  const tmp = join(tmpdir(), "fluxguard-render-Ab12Cd");
  const chain = `accumulating resources: accumulation err='accumulating resources from 'w0': read ${tmp}/w0: is a directory': recursed accumulation of path '${tmp}/w0': accumulating resources: accumulation err='accumulating resources from '../../badk/app': read /repo/app: is a directory': recursed accumulation of path '/repo/app': accumulating resources: accumulating resources from 'a.yaml': MalformedYAMLError: yaml: line 2: did not find expected ',' or '}' in File: a.yaml`;
  const want = "app: accumulating resources: accumulating resources from 'a.yaml': MalformedYAMLError: yaml: line 2: did not find expected ',' or '}' in File: a.yaml";
  // kubectl kustomize (klog's wrapper) and fluxguard-kustomize (the bare error) say the same.
  assert.equal(kustomizeError(`"command failed" err="${chain}"`, "/repo"), want);
  assert.equal(kustomizeError(chain, "/repo"), want);
  assert.equal(kustomizeError(`Error: ${chain}`, "/repo"), want);
  // Outside the scan root the directory is left out; a message without a chain is kept whole.
  assert.equal(kustomizeError(chain, "/elsewhere"), want.slice("app: ".length));
  assert.equal(kustomizeError(`must specify --enable-helm in ${tmp}/w3`, "/repo"), "must specify --enable-helm in w3");
});
