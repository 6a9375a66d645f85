import assert from "node:assert/strict";
import { test } from "node:test";
import { judgeTrustPolicy, ociRepositoryOf } from "./notation.js";

const doc = (...policies: object[]): string => JSON.stringify({ version: "1.0", trustPolicies: policies });
const strict = { name: "s", registryScopes: ["r.io/a/web"], signatureVerification: { level: "strict" }, trustStores: ["ca:x"], trustedIdentities: ["*"] };

test("judgeTrustPolicy: the applicable policy, by exact scope then *", () => {
  assert.deepEqual(judgeTrustPolicy(doc(strict), "r.io/a/web", 1)?.problems, []);
  assert.match(judgeTrustPolicy(doc(strict), "r.io/a/api", 1)!.problems[0]!, /registryScopes cover r\.io\/a\/api/);
  const skipAll = { name: "all", registryScopes: ["*"], signatureVerification: { level: "skip" } };
  assert.deepEqual(judgeTrustPolicy(doc(strict, skipAll), "r.io/a/web", 1)?.problems, [], "an exact scope wins over *");
  assert.match(judgeTrustPolicy(doc(strict, skipAll), "r.io/a/api", 1)!.problems[0]!, /level skip/);
  for (const level of ["audit", "permissive"]) assert.match(judgeTrustPolicy(doc({ ...strict, signatureVerification: { level } }), "r.io/a/web", 1)!.problems[0]!, new RegExp(`level ${level}`));
  assert.match(judgeTrustPolicy(doc({ ...strict, trustStores: [] }), "r.io/a/web", 1)!.problems[0]!, /trustStores is empty/);
  assert.match(judgeTrustPolicy(doc(strict), "r.io/a/web", 0)!.problems[0]!, /no \.pem or \.crt/);
  assert.equal(judgeTrustPolicy(doc(strict), "r.io/a/web", null)?.problems.length, 0);
  assert.equal(judgeTrustPolicy("not json", "r.io/a/web", 1), null);
  assert.equal(judgeTrustPolicy("{}", "r.io/a/web", 1), null);
});

test("ociRepositoryOf: the repository an artifact reference names", () => {
  assert.equal(ociRepositoryOf("oci://registry.example.com/acme/web"), "registry.example.com/acme/web");
  assert.equal(ociRepositoryOf("registry.example.com:5000/acme/web:1.0@sha256:ab"), "registry.example.com:5000/acme/web");
});
