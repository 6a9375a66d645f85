/**
 * The canary test (issue 11): a canary outside the scanned root, in the environment, and in
 * every secret-bearing place of a repository appears in no output (every format, verbose),
 * no render cache entry and no `fix` diff.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { it } from "node:test";
import { runCli } from "../testing/cli.js";
import { fluxKustomization, hostileDir, mkfleet, writeTree } from "../testing/hostile.js";

const C = {
  outside: "CANARY-OUTSIDE-0a1",
  env: "CANARY-ENV-0b2",
  secretData: "CANARY-SECRET-DATA-0c3",
  stringData: "CANARY-STRINGDATA-0d4",
  literal: "CANARY-LITERAL-0e5",
  genFile: "CANARY-GENFILE-0f6",
  genEnv: "CANARY-GENENV-107",
  url: "CANARY-URLTOKEN-118",
  values: "CANARY-VALUES-129",
  substitute: "CANARY-SUBST-13a",
};
const b64 = (s: string): string => Buffer.from(s).toString("base64");

it("canaries in every secret-bearing place, outside the root and in the environment never show", { timeout: 180_000 }, async () => {
  const d = hostileDir();
  writeTree(join(d, "outside"), { "o.yaml": `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${C.outside}, namespace: default}\n`, "secret.txt": `${C.outside}\n` });
  const t = mkfleet(join(d, "t"), {
    "apps/evil/kustomization.yaml": `resources: [cm.yaml, secret.yaml, o.yaml, helm.yaml]
secretGenerator:
  - name: gen
    literals: [password=${C.literal}]
    files: [key.txt, leak.txt]
    envs: [creds.env]
`,
    "apps/evil/secret.yaml": `apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: default}\ndata:\n  password: ${b64(C.secretData)}\nstringData:\n  token: ${C.stringData}\n`,
    "apps/evil/key.txt": `${C.genFile}\n`,
    "apps/evil/creds.env": `TOKEN=${C.genEnv}\n`,
    "apps/evil/helm.yaml": `apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: app, namespace: default}\nspec:\n  interval: 10m\n  chart:\n    spec: {chart: app, version: 1.0.0, sourceRef: {kind: HelmRepository, name: repo}}\n  values:\n    adminPassword: ${C.values}\n    image: {repository: ghcr.io/x/app}\n`,
    "clusters/prod/app.yaml": `apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: app, namespace: flux-system}
spec:
  interval: 1m
  url: https://x-access-token:${C.url}@github.com/example/app
  ref: {branch: main}
---
${fluxKustomization("app", "./apps/evil", `  postBuild:\n    substitute:\n      db_password: ${C.substitute}\n`).replace("apiVersion: kustomize.toolkit.fluxcd.io/v1\n", "apiVersion: kustomize.toolkit.fluxcd.io/v1beta2\n")}`,
  });
  symlinkSync(join(d, "outside/o.yaml"), join(t, "apps/evil/o.yaml"));
  symlinkSync(join(d, "outside/secret.txt"), join(t, "apps/evil/leak.txt"));
  symlinkSync(join(d, "outside"), join(t, "apps/outside-dir"));
  const cache = join(d, "cache");
  const env = { FLUXGUARD_CACHE_DIR: cache, CI_TOKEN: C.env, GITHUB_TOKEN: C.env };
  const outputs: string[] = [];
  for (const args of [["--no-color", "--verbose"], ["--format", "json"], ["--format", "sarif"], ["--format", "html"]]) {
    const r = await runCli(["audit", t, ...args], { env });
    assert.ok(r.code === 0 || r.code === 1, r.stderr);
    outputs.push(r.stdout, r.stderr);
  }
  for (const args of [["--dry-run"], ["--dry-run", "--format", "json"]]) {
    const r = await runCli(["fix", t, ...args], { env });
    outputs.push(r.stdout, r.stderr);
  }
  assert.match(outputs.join(""), /plaintext-secret-in-git/, "the Secrets were audited");
  assert.match(outputs.join(""), /kustomize\.toolkit\.fluxcd\.io\/v1$/m, "the fix diff was produced");
  const cached = existsSync(cache) ? readdirSync(cache).map((f) => readFileSync(join(cache, f), "utf8")).join("\n") : "";
  const all = `${outputs.join("\n")}\n${cached}`;
  for (const [where, canary] of Object.entries(C)) {
    assert.ok(!all.includes(canary), `the ${where} canary leaked`);
    assert.ok(!all.includes(b64(canary)), `the ${where} canary leaked (base64)`);
  }
});
