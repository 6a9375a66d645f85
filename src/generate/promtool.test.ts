/**
 * The generated PrometheusRule passes `promtool check rules`, and a `promtool test rules`
 * unit test shows FluxResourceNotReady firing after 10 minutes of Ready=False and not before.
 * promtool comes from Debian's prometheus package; .ci/run installs it.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { stringify } from "yaml";
import { ALERT_RULES, emittedMetrics, prometheusRuleGroups } from "./monitoring.js";

function promtool(): string | null {
  try {
    execFileSync("promtool", ["--version"], { stdio: "ignore" });
    return "promtool";
  } catch {
    return null;
  }
}
const SKIP = promtool() ? false : "promtool is not installed (apt-get install prometheus; .ci/run does this)";

const SERIES = (ready: string, suspended = "") =>
  `gotk_resource_info{customresource_kind="Kustomization",exported_namespace="team-a",name="team-a",ready="${ready}"${suspended ? `,suspended="${suspended}"` : ""}}`;

function tests(): unknown {
  const notReady = (time: string, firing: boolean) => ({
    eval_time: time,
    alertname: "FluxResourceNotReady",
    exp_alerts: firing
      ? [
          {
            exp_labels: { severity: "critical", threat: "weakness-6-no-alerting", customresource_kind: "Kustomization", exported_namespace: "team-a", name: "team-a" },
            exp_annotations: {
              summary: "Kustomization team-a/team-a has not been Ready for 10 minutes",
              description: "The cluster may have diverged from Git. Run: flux get all -n team-a",
            },
          },
        ]
      : [],
  });
  return {
    rule_files: ["rules.yaml"],
    evaluation_interval: "1m",
    tests: [
      {
        interval: "1m",
        input_series: [{ series: SERIES("False"), values: "1x30" }],
        alert_rule_test: [notReady("5m", false), notReady("9m", false), notReady("10m", true), notReady("20m", true)],
      },
      {
        // Ready again after 8 minutes (kube-state-metrics drops the ready="False" series): the alert never fires.
        interval: "1m",
        input_series: [
          { series: SERIES("False"), values: "1x8 stale" },
          { series: SERIES("True"), values: "_x8 1x22" },
        ],
        alert_rule_test: [notReady("10m", false), notReady("20m", false)],
      },
      {
        // A suspended object is not an incident.
        interval: "1m",
        input_series: [{ series: SERIES("False", "true"), values: "1x30" }],
        alert_rule_test: [notReady("20m", false)],
      },
      {
        interval: "1m",
        input_series: [
          {
            series: `gotk_resource_info{customresource_kind="GitRepository",exported_namespace="team-a",name="team-a",ready="False",verified="False"}`,
            values: "1x5",
          },
        ],
        alert_rule_test: [
          {
            eval_time: "1m",
            alertname: "FluxSourceVerificationFailed",
            exp_alerts: [
              {
                exp_labels: { severity: "critical", threat: "adversary-1-malicious-commit", customresource_kind: "GitRepository", exported_namespace: "team-a", name: "team-a" },
                exp_annotations: {
                  summary: "Signature verification failed for GitRepository team-a/team-a",
                  description: "Flux refused a revision whose commit, tag or artifact signature did not verify. Treat it as a possible malicious push.",
                },
              },
            ],
          },
        ],
      },
    ],
  };
}

test("promtool: the generated rules pass `promtool check rules`", { skip: SKIP }, () => {
  const dir = mkdtempSync(join(tmpdir(), "fluxguard-prom-"));
  try {
    writeFileSync(join(dir, "rules.yaml"), stringify({ groups: prometheusRuleGroups() }));
    const r = spawnSync("promtool", ["check", "rules", join(dir, "rules.yaml")], { encoding: "utf8" });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    assert.match(r.stdout, new RegExp(`SUCCESS: ${ALERT_RULES.length} rules found`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("promtool: FluxResourceNotReady fires after 10 minutes of Ready=False, not before", { skip: SKIP }, () => {
  const dir = mkdtempSync(join(tmpdir(), "fluxguard-prom-"));
  try {
    writeFileSync(join(dir, "rules.yaml"), stringify({ groups: prometheusRuleGroups() }));
    writeFileSync(join(dir, "tests.yaml"), stringify(tests()));
    const r = spawnSync("promtool", ["test", "rules", join(dir, "tests.yaml")], { encoding: "utf8", cwd: dir });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /SUCCESS/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * The metric names a PromQL expression selects: identifiers that are not functions, keywords,
 * label names (in `{...}`, `by (...)`, `on (...)`) or strings.
 */
function queriedMetrics(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, "")
    .replace(/\[[^\]]*\]/g, "")
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, "");
  const keywords = new Set(["by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset"]);
  return [...stripped.matchAll(/(?<![A-Za-z0-9_:])[A-Za-z_:][A-Za-z0-9_:]*\b(?!\s*\()/g)].map((m) => m[0]).filter((t) => !keywords.has(t) && !/^(inf|nan)$/i.test(t));
}

test("monitoring: every metric a generated rule queries is one Flux 2.9 (or the generated kube-state-metrics config) emits", () => {
  const emitted = emittedMetrics();
  assert.ok(emitted.has("gotk_resource_info"));
  assert.ok(!emitted.has("gotk_reconcile_condition") && !emitted.has("gotk_suspend_status"));
  // The extraction itself: a dead metric in an expression is seen.
  assert.deepEqual(queriedMetrics('max(gotk_reconcile_condition{status="False",type="Ready"}) by (exported_namespace, name, kind) == 1'), ["gotk_reconcile_condition"]);
  for (const r of ALERT_RULES) {
    const names = queriedMetrics(r.expr);
    assert.ok(names.length > 0, `${r.alert}: no metric found in ${r.expr}`);
    for (const n of names) assert.ok(emitted.has(n), `${r.alert} queries ${n}, which Flux 2.9 does not emit`);
  }
  assert.equal(ALERT_RULES.find((r) => r.alert === "FluxResourceNotReady")!.for, "10m");
});

test("promtool: FluxReconciliationSlow fires on the controllers' duration histogram as Prometheus labels it (namespace becomes exported_namespace)", { skip: SKIP }, () => {
  const dir = mkdtempSync(join(tmpdir(), "fluxguard-prom-"));
  // Cumulative bucket counters of gotk_reconcile_duration_seconds (fluxcd/pkg recorder), one reconciliation a minute.
  const bucket = (le: string, values: string) => ({
    series: `gotk_reconcile_duration_seconds_bucket{kind="Kustomization",name="apps",exported_namespace="flux-system",namespace="flux-system",le="${le}"}`,
    values,
  });
  const slow = (time: string, firing: boolean) => ({
    eval_time: time,
    alertname: "FluxReconciliationSlow",
    exp_alerts: firing
      ? [
          {
            exp_labels: { severity: "warning", threat: "weakness-6-no-alerting", kind: "Kustomization", exported_namespace: "flux-system" },
            exp_annotations: {
              summary: "Flux Kustomization reconciliations in flux-system take over 5 minutes (p99)",
              description: "Slow reconciliations delay fixes and hide failures.",
            },
          },
        ]
      : [],
  });
  try {
    writeFileSync(join(dir, "rules.yaml"), stringify({ groups: prometheusRuleGroups() }));
    writeFileSync(
      join(dir, "tests.yaml"),
      stringify({
        rule_files: ["rules.yaml"],
        evaluation_interval: "1m",
        tests: [
          {
            // Every reconciliation takes 5 to 10 minutes.
            interval: "1m",
            input_series: [bucket("300", "0x60"), bucket("600", "0+1x60"), bucket("+Inf", "0+1x60")],
            alert_rule_test: [slow("10m", false), slow("30m", true)],
          },
          {
            // Every reconciliation takes under a minute: nothing fires.
            interval: "1m",
            input_series: [bucket("60", "0+1x60"), bucket("300", "0+1x60"), bucket("+Inf", "0+1x60")],
            alert_rule_test: [slow("40m", false)],
          },
        ],
      }),
    );
    const r = spawnSync("promtool", ["test", "rules", join(dir, "tests.yaml")], { encoding: "utf8", cwd: dir });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
