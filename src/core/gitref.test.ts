import assert from "node:assert/strict";
import { test } from "node:test";
import { automationPushes, checksOutTag, gitCheckout, refspecDestinationBranch, shadowedRefFields, trackedBranch } from "./gitref.js";

test("gitCheckout: source-controller's precedence commit > name > semver > tag > branch", () => {
  assert.deepEqual(gitCheckout({ branch: "main", tag: "v1" }), { kind: "tag", tag: "v1", field: "tag" });
  assert.deepEqual(gitCheckout({ tag: "v1", semver: ">=1" }), { kind: "semver", range: ">=1" });
  assert.deepEqual(gitCheckout({ semver: ">=1", name: "refs/heads/main" }), { kind: "branch", branch: "main", field: "name" });
  assert.deepEqual(gitCheckout({ name: "refs/tags/v2", commit: "abc" }), { kind: "commit", commit: "abc", branch: null });
  assert.deepEqual(gitCheckout({ branch: "dev", commit: "abc" }), { kind: "commit", commit: "abc", branch: "dev" });
  assert.deepEqual(gitCheckout({ name: "refs/tags/v2.3.1" }), { kind: "tag", tag: "v2.3.1", field: "name" });
  assert.deepEqual(gitCheckout({ name: "refs/pull/4/head" }), { kind: "ref", name: "refs/pull/4/head" });
  assert.deepEqual(gitCheckout(undefined), { kind: "branch", branch: "master", field: "default" });
  assert.deepEqual(gitCheckout({ branch: "" }), { kind: "branch", branch: "master", field: "default" });
  assert.equal(gitCheckout({ name: "${REF}", branch: "main" }).kind, "unknown");
  assert.equal(trackedBranch(gitCheckout({ name: "refs/heads/release/1.x" })), "release/1.x");
  assert.ok(checksOutTag(gitCheckout({ semver: "1.x" })));
  assert.ok(!checksOutTag(gitCheckout({ tag: "v1", name: "refs/heads/main" })));
  assert.deepEqual(shadowedRefFields({ name: "refs/heads/main", tag: "v1" }), ["tag"]);
  assert.deepEqual(shadowedRefFields({ commit: "abc", branch: "main" }), []);
});

test("refspecDestinationBranch: the branch a push refspec writes", () => {
  assert.equal(refspecDestinationBranch("refs/heads/main:refs/heads/auto"), "auto");
  assert.equal(refspecDestinationBranch("+HEAD:refs/heads/main"), "main");
  assert.equal(refspecDestinationBranch("HEAD:main"), "main");
  assert.equal(refspecDestinationBranch("refs/heads/main"), "main");
  assert.equal(refspecDestinationBranch("HEAD:refs/for/main"), null);
  assert.equal(refspecDestinationBranch("HEAD:refs/tags/v1"), null);
});

test("automationPushes: push.branch, else the checkout branch (refspec or not), plus the refspec destination", () => {
  const branches = (spec: object, src?: object): string[] => automationPushes(spec as never, src as never).destinations.map((d) => `${d.via}:${d.branch}`);
  assert.deepEqual(branches({ git: { push: { refspec: "refs/heads/main:refs/heads/review" } } }, { branch: "main" }), ["checkout:main", "refspec:review"]);
  assert.deepEqual(branches({ git: { checkout: { ref: { branch: "main" } }, push: { branch: "review", refspec: "refs/heads/review:refs/heads/main" } } }), ["push.branch:review", "refspec:main"]);
  assert.deepEqual(branches({ git: {} }, { name: "refs/heads/prod" }), ["checkout:prod"]);
  assert.deepEqual(branches({ git: { checkout: { ref: { tag: "v1" } } } }), []);
  assert.ok(automationPushes({ git: { push: { branch: "${B}" } } }, { branch: "main" }).unknown);
});
