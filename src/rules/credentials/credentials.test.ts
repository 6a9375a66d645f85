import assert from "node:assert/strict";
import { test } from "node:test";
import { rng } from "../../testing/fuzz.js";
import { urlPassword } from "./hardcoded-credential-in-values.js";
import { ruleFixtureTests } from "../../testing/rule-tester.js";

for (const id of ["plaintext-secret-in-git", "git-https-credentials", "ssh-known-hosts-missing", "hardcoded-credential-in-values", "flux-egress-unrestricted", "helmrepository-pass-credentials"]) ruleFixtureTests(import.meta.url, id);

test("hardcoded-credential-in-values: a URL's password is found as the regular expression would, in linear time on hostile values", () => {
  const reference = (v: string): string | null => /[a-z][a-z0-9+.-]*:\/\/[^\s:/@]+:([^\s@/]+)@[^\s]/i.exec(v)?.[1] ?? null;
  const rand = rng(11);
  const alphabet = ["a", "Z", "1", "+", ".", "-", ":", "/", "@", " ", "://", "x:y@h", "https://u:p@h", "${P}"];
  const cases = ["https://user:s3cret@example.com/x", "git+ssh://git:tok@github.com", "1://a:b@c", "://a:b@c", "see ftp://a:b@ and http://c:d@e", "http://a:b@ c", "HTTPS://A:B@C", "x http://a@b:c@d"];
  for (let i = 0; i < 3000; i++) cases.push(Array.from({ length: Math.floor(rand() * 20) }, () => alphabet[Math.floor(rand() * alphabet.length)]!).join(""));
  for (const c of cases) assert.equal(urlPassword(c), reference(c), JSON.stringify(c));
  // A long run of letters (what an AdmissionReview can carry): the regular expression is quadratic on it.
  const hostile = `${"a".repeat(2_000_000)}://`;
  const t0 = Date.now();
  assert.equal(urlPassword(hostile), null);
  assert.equal(urlPassword(`${"b".repeat(2_000_000)}`), null);
  assert.ok(Date.now() - t0 < 5000, "linear, not quadratic");
});
