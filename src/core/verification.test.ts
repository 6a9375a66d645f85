import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { defaultConfig } from "./config.js";
import type { FleetModel } from "./model.js";
import { sourceVerification, type VerificationState } from "./verification.js";
import { loadRepository } from "../loader/repository.js";

const policy = (level: string, extra: object = {}): string =>
  JSON.stringify({ version: "1.0", trustPolicies: [{ name: "p", registryScopes: ["*"], signatureVerification: { level, ...extra }, trustStores: ["ca:acme"], trustedIdentities: ["*"] }] });

const secret = (name: string, trustPolicy: string | null): string => `apiVersion: v1
kind: Secret
metadata: { name: ${name}, namespace: apps }
stringData:
  ca.crt: "-----BEGIN CERTIFICATE-----"
${trustPolicy === null ? "" : `  trustpolicy.json: '${trustPolicy}'\n`}`;

const oci = (name: string, verify: string): string => `apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata: { name: ${name}, namespace: apps }
spec:
  url: oci://r.example.com/acme/${name}
  ref: { tag: "1.0.0" }
${verify ? `  verify: ${verify}\n` : ""}`;

/** Each OCIRepository name, its verify block, and the state Flux's verification gives it. */
const CASES: Array<[string, string, VerificationState, RegExp | null]> = [
  ["none", "", "unverified", null],
  ["cosign-key", "{ provider: cosign, secretRef: { name: cosign-keys } }", "verified", null],
  ["cosign-keyless-any", "{ provider: cosign }", "unverified", /without matchOIDCIdentity/],
  ["cosign-keyless-wild", '{ provider: cosign, matchOIDCIdentity: [{ issuer: "^https://token\\\\.actions\\\\.githubusercontent\\\\.com$", subject: ".*" }] }', "unverified", /matches any identity/],
  ["cosign-keyless-loose", '{ provider: cosign, matchOIDCIdentity: [{ issuer: "^https://token\\\\.actions\\\\.githubusercontent\\\\.com$", subject: "github.com/acme" }] }', "verified", /not anchored/],
  ["notation-strict", "{ provider: notation, secretRef: { name: strict } }", "verified", null],
  ["notation-permissive", "{ provider: notation, secretRef: { name: permissive } }", "verified", /level permissive/],
  ["notation-skip", "{ provider: notation, secretRef: { name: skip } }", "unverified", /level skip/],
  ["notation-audit", "{ provider: notation, secretRef: { name: audit } }", "unverified", /level audit/],
  ["notation-audit-enforced", "{ provider: notation, secretRef: { name: audit-enforced } }", "verified", /authenticity enforced/],
  ["notation-strict-log", "{ provider: notation, secretRef: { name: strict-log } }", "unverified", /override authenticity: log/],
  ["notation-unseen", "{ provider: notation, secretRef: { name: elsewhere } }", "not-assessed", /not in the repository/],
  ["notation-encrypted", "{ provider: notation, secretRef: { name: encrypted } }", "not-assessed", /no readable trustpolicy\.json/],
  ["notation-templated", "{ provider: notation, secretRef: { name: \"${NOTATION_SECRET}\" } }", "not-assessed", /filled in by Flux/],
  ["notation-no-secret", "{ provider: notation }", "not-assessed", /no secretRef/],
];

async function model(): Promise<{ model: FleetModel; cleanup: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), "fluxguard-verification-"));
  const docs = [
    ...CASES.map(([name, verify]) => oci(name, verify)),
    secret("strict", policy("strict")),
    secret("permissive", policy("permissive")),
    secret("skip", policy("skip")),
    secret("audit", policy("audit")),
    secret("audit-enforced", policy("audit", { override: { authenticity: "enforce" } })),
    secret("strict-log", policy("strict", { override: { authenticity: "log" } })),
    secret("encrypted", null).replace('  ca.crt: "-----BEGIN CERTIFICATE-----"\n', '  ca.crt: "-----BEGIN CERTIFICATE-----"\n  trustpolicy.json: ENC[AES256_GCM,data:abc,iv:x,tag:y,type:str]\n'),
    `apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: { name: signed, namespace: apps }
spec:
  url: https://github.com/acme/app
  ref: { branch: main }
  verify: { mode: HEAD, secretRef: { name: pgp-keys } }`,
    `apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: { name: web, namespace: apps }
spec:
  chart:
    spec:
      chart: web
      sourceRef: { kind: HelmRepository, name: charts }
      verify: { provider: notation, secretRef: { name: skip } }`,
    `apiVersion: v1
kind: ConfigMap
metadata: { name: other, namespace: apps }`,
  ];
  writeFileSync(join(dir, "sources.yaml"), docs.join("\n---\n"));
  const loaded = await loadRepository({ root: dir, config: defaultConfig(), env: { PATH: process.env["PATH"] }, cacheDir: null });
  return { model: loaded.model, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

test("sourceVerification: verified only when Flux refuses an artifact no trusted identity signed; an unseen trust policy is not assessed", async () => {
  const { model: m, cleanup } = await model();
  try {
    const find = (kind: string, name: string) => {
      const o = [...m.objects, ...m.fileObjects].find((x) => x.object.kind === kind && x.object.metadata.name === name);
      assert.ok(o, `${kind} ${name} loaded`);
      return o;
    };
    for (const [name, , state, problem] of CASES) {
      const v = sourceVerification(m, find("OCIRepository", name));
      assert.ok(v, name);
      assert.equal(v.state, state, `${name}: ${v.problems.join("; ")}`);
      assert.equal(v.pointer, "/spec/verify");
      if (problem) assert.ok(v.problems.some((p) => problem.test(p)), `${name}: ${problem} in ${JSON.stringify(v.problems)}`);
      else assert.deepEqual(v.problems, [], name);
    }
    const git = sourceVerification(m, find("GitRepository", "signed"))!;
    assert.deepEqual([git.state, git.verifier, git.provider], ["verified", "GitRepository", "pgp"]);
    const hr = sourceVerification(m, find("HelmRelease", "web"))!;
    assert.deepEqual([hr.state, hr.verifier, hr.pointer], ["unverified", "HelmChart", "/spec/chart/spec/verify"]);
    assert.equal(sourceVerification(m, find("ConfigMap", "other")), null);
  } finally {
    cleanup();
  }
});
