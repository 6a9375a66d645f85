/** Issue 3's rule ids are in the catalogue, explained, and each one has fixtures both ways. */
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { POSTURE } from "../../engine/posture.js";
import { runCli } from "../../testing/cli.js";
import { REPO_ROOT } from "../../testing/paths.js";
import { ALL_RULES } from "../index.js";

const DOMAINS: Record<string, string[]> = {
  source: ["gitrepository-unverified", "verify-mode-mismatch", "ocirepository-unverified", "helm-chart-unverified", "source-insecure-transport"],
  credentials: ["plaintext-secret-in-git", "git-https-credentials", "ssh-known-hosts-missing", "hardcoded-credential-in-values", "flux-egress-unrestricted", "helmrepository-pass-credentials"],
  helm: ["helmrelease-privileged-values", "helmrelease-unpinned-chart", "helmrelease-no-remediation"],
  images: ["image-registry-not-allowed", "imagepolicy-unbounded", "imagepolicy-invalid-extract", "image-automation-pushes-to-applied-branch"],
  workloads: ["workload-privileged", "workload-mutable-image-tag"],
  alerting: ["no-failure-alerting", "no-verification-alerting", "reconciliation-suspended", "prune-disabled"],
  api: ["flux-api-removed", "flux-schema-violation"],
};

test("catalogue: every issue-3 rule is registered, and every rule the posture names exists", () => {
  const ids = new Set(ALL_RULES.map((r) => r.meta.id));
  for (const id of Object.values(DOMAINS).flat()) assert.ok(ids.has(id), `${id} is not in ALL_RULES`);
  for (const p of POSTURE) for (const id of p.rules) assert.ok(ids.has(id), `posture ${p.id} names unknown rule ${id}`);
});

for (const [domain, ids] of Object.entries(DOMAINS)) {
  for (const id of ids) {
    test(`catalogue: ${id} has fixtures both ways and an explain entry`, async () => {
      const base = join(REPO_ROOT, "src", "rules", domain, "fixtures", id);
      for (const kind of ["invalid", "valid"]) assert.ok(existsSync(join(base, kind)) && readdirSync(join(base, kind)).length > 0, `${base}/${kind}`);
      const r = await runCli(["explain", id]);
      assert.equal(r.code, 0, r.stderr);
      const rule = ALL_RULES.find((x) => x.meta.id === id)!;
      assert.ok(r.stdout.includes(rule.meta.title));
      assert.ok(r.stdout.includes(rule.meta.remediation.snippet.split("\n")[0]!), "explain shows the remediation snippet");
      assert.ok(rule.meta.references.length > 0 && rule.meta.threats.length > 0);
    });
  }
}
