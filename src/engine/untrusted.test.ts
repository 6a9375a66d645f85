/**
 * Untrusted mode (issue 11): a pull request controls the scanned repository, its
 * `.fluxguard.yaml` and its annotations. With --untrusted, the repository's config can only
 * tighten rules, a trusted --config must come from outside, and in-source suppressions do not
 * pass the run.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { runCli } from "../testing/cli.js";
import { crb, fluxKustomization, hostileDir, mkfleet } from "../testing/hostile.js";
import type { AuditReport } from "./report.js";

const HOSTILE_CONFIG = `rules:
  tenant-applies-cluster-scoped: off
  gitrepository-unverified: info
  kustomization-force-apply: critical
platform:
  serviceAccounts: [team/team-sa]
`;

function fleet(config = HOSTILE_CONFIG): string {
  return mkfleet(join(hostileDir(), "t"), {
    "apps/evil/crb.yaml": crb("team-escalate", "team"),
    "clusters/prod/evil.yaml": fluxKustomization("evil", "./apps/evil", "  serviceAccountName: team-sa\n  targetNamespace: team\n  force: true\n").replace("namespace: flux-system\nspec", "namespace: team\nspec").replace("    name: flux-system\n", "    name: flux-system\n    namespace: flux-system\n"),
    ".fluxguard.yaml": config,
  });
}

async function audit(args: string[]): Promise<{ code: number; report: AuditReport; stderr: string }> {
  const r = await runCli(["audit", ...args, "--format", "json"], { env: { FLUXGUARD_CACHE: "off" } });
  return { code: r.code, report: r.code === 2 ? ({} as AuditReport) : (JSON.parse(r.stdout) as AuditReport), stderr: r.stderr };
}

describe("untrusted mode", () => {
  it("without --untrusted, the repository's config switches a rule off and lowers another (the hole)", async () => {
    const t = fleet();
    const { report } = await audit([t]);
    assert.ok(!report.findings.some((f) => f.ruleId === "tenant-applies-cluster-scoped"));
    assert.equal(report.summary.untrusted, undefined);
  });

  it("with --untrusted, the repository's config cannot switch rules off or lower them, and the summary says so", async () => {
    const t = fleet();
    const { code, report } = await audit([t, "--untrusted"]);
    assert.equal(code, 1);
    assert.ok(report.findings.some((f) => f.ruleId === "tenant-applies-cluster-scoped" && f.severity === "high"));
    assert.ok(report.findings.filter((f) => f.ruleId === "gitrepository-unverified").every((f) => f.severity === "high"));
    // Raising a severity is a tightening: applied.
    assert.ok(report.findings.some((f) => f.ruleId === "kustomization-force-apply" && f.severity === "critical"));
    assert.deepEqual(report.summary.untrusted, {
      repositoryConfig: ".fluxguard.yaml",
      ignored: ["rules.gitrepository-unverified: info", "rules.tenant-applies-cluster-scoped: off", "platform"],
      suppressionsCount: false,
    });
    const text = await runCli(["audit", t, "--untrusted", "--no-color"], { env: { FLUXGUARD_CACHE: "off" } });
    assert.match(text.stdout, /untrusted mode: the repository's \.fluxguard\.yaml could only tighten rules \(ignored: rules\.gitrepository-unverified: info, rules\.tenant-applies-cluster-scoped: off, platform\)/);
  });

  it("a trusted --config from outside applies in full; one inside the checkout is refused", async () => {
    const t = fleet();
    const trusted = join(t, "..", "trusted.yaml");
    writeFileSync(trusted, "rules:\n  tenant-applies-cluster-scoped: medium\n");
    const { report } = await audit([t, "--untrusted", "--config", trusted]);
    assert.ok(report.findings.some((f) => f.ruleId === "tenant-applies-cluster-scoped" && f.severity === "medium"));
    const inside = await audit([t, "--untrusted", "--config", join(t, ".fluxguard.yaml")]);
    assert.equal(inside.code, 2);
    assert.match(inside.stderr, /^fluxguard: --config .* is inside the scanned repository/);
  });

  it("an in-source suppression is reported but does not pass the run (our variant: `all`)", async () => {
    const t = fleet("");
    writeFileSync(join(t, "apps/evil/crb.yaml"), crb("team-escalate", "team").replace("metadata:\n", 'metadata:\n  annotations:\n    fluxguard.io/ignore: "all: trust me"\n'));
    writeFileSync(join(t, "clusters/prod/flux-system/gotk-sync.yaml"), "# emptied\n");
    const trusted = join(t, "..", "trusted.yaml");
    writeFileSync(trusted, "rules:\n  no-failure-alerting: off\n");
    const plain = await audit([t, "--fail-on", "high", "--config", trusted]);
    assert.deepEqual(plain.report.findings.filter((f) => !f.suppressed && f.severity === "high").map((f) => f.ruleId), []);
    assert.equal(plain.code, 0, "the suppression passes an ordinary run");
    const untrusted = await audit([t, "--untrusted", "--fail-on", "high", "--config", trusted]);
    assert.ok(untrusted.report.findings.some((f) => f.ruleId === "tenant-applies-cluster-scoped" && f.suppressed));
    assert.equal(untrusted.code, 1);
    assert.equal(untrusted.report.summary.failed, true);
  });

  it("--untrusted with --cluster is a usage error", async () => {
    const r = await runCli(["audit", "--cluster", "--untrusted"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--untrusted applies to auditing a directory/);
  });
});
