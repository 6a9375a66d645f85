/**
 * The monitor's alert rules, proven with `promtool test rules` (Debian's prometheus package;
 * .ci/run installs it): each alert's timing at production settings, and one alert for two
 * replicas serving the same series.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parse, stringify } from "yaml";
import { alertmanagerRoutingText, grafanaDashboard, monitorAlertRules, monitorRuleGroups, readinessTiming } from "./monitor-rules.js";
import { METRIC } from "../monitor/metrics.js";
import { REPO_ROOT } from "../testing/paths.js";

function hasPromtool(): boolean {
  try {
    execFileSync("promtool", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
const SKIP = hasPromtool() ? false : "promtool is not installed (apt-get install prometheus; .ci/run does this)";
const RULES = monitorAlertRules({ notReadyAfter: 600 });

/** What promtool expects: the rule's labels and its annotations rendered for `labels`. */
function alert(name: string, labels: Record<string, string>, value = ""): unknown {
  const r = RULES.find((x) => x.alert === name)!;
  const render = (t: string): string => t.replace(/\{\{ \$labels\.(\w+) \}\}/g, (_, k: string) => labels[k] ?? "").replace(/\{\{ \$value \| humanizeDuration \}\}/g, value);
  return { exp_labels: { severity: r.severity, threat: r.threat, ...labels }, exp_annotations: { summary: render(r.summary), description: render(r.description) } };
}

function at(time: string, name: string, alerts: unknown[]): unknown {
  return { eval_time: time, alertname: name, exp_alerts: alerts };
}

/** Both replicas (pod a and b) serve the same series: the rules must give one alert. */
function twoReplicas(metric: string, labels: Record<string, string>, values: string): Array<{ series: string; values: string }> {
  const l = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(",");
  return ["a", "b"].map((pod) => ({ series: `${metric}{${l},pod="fluxguard-monitor-${pod}"}`, values }));
}

function promtoolTest(groups: unknown, tests: unknown[], evaluationInterval = "1m"): void {
  const dir = mkdtempSync(join(tmpdir(), "fluxguard-prom-"));
  try {
    writeFileSync(join(dir, "rules.yaml"), stringify({ groups }));
    const check = spawnSync("promtool", ["check", "rules", join(dir, "rules.yaml")], { encoding: "utf8" });
    assert.equal(check.status, 0, `${check.stdout}${check.stderr}`);
    writeFileSync(join(dir, "tests.yaml"), stringify({ rule_files: ["rules.yaml"], evaluation_interval: evaluationInterval, tests }));
    const r = spawnSync("promtool", ["test", "rules", join(dir, "tests.yaml")], { encoding: "utf8", cwd: dir });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /SUCCESS/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const SRC = { kind: "GitRepository", namespace: "flux-system", name: "apps" };

describe("monitor alert rules (promtool)", { skip: SKIP }, () => {
  it("pass promtool check rules, with the kept controller rules", () => {
    const dir = mkdtempSync(join(tmpdir(), "fluxguard-prom-"));
    try {
      writeFileSync(join(dir, "rules.yaml"), stringify({ groups: monitorRuleGroups({ notReadyAfter: 600 }) }));
      const r = spawnSync("promtool", ["check", "rules", join(dir, "rules.yaml")], { encoding: "utf8" });
      assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
      const groups = monitorRuleGroups({ notReadyAfter: 600 }) as Array<{ rules: Array<{ expr: string }> }>;
      for (const g of groups) for (const rule of g.rules) assert.doesNotMatch(rule.expr, /gotk_resource_info|gotk_reconcile_condition/, "no kube-state-metrics rule where the monitor runs");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("verification failure: fires at the first evaluation after the first failed verification, once for two replicas, and resolves after an hour", () => {
    const labels = { ...SRC, reason: "InvalidCommitSignature" };
    const series = { ...labels, verdict: "rejected" };
    // The failure is counted at t=5m (the gauge holds the Unix time 300); nothing before.
    promtoolTest(monitorRuleGroups({ notReadyAfter: 600 }), [
      {
        interval: "1m",
        input_series: [...twoReplicas("fluxguard_verification_failure_last_timestamp_seconds", series, "_x5 300x80"), ...twoReplicas("fluxguard_verification_failures_total", series, "_x5 1x80")],
        alert_rule_test: [at("4m", "FluxguardVerificationFailed", []), at("5m", "FluxguardVerificationFailed", [alert("FluxguardVerificationFailed", labels)]), at("64m", "FluxguardVerificationFailed", [alert("FluxguardVerificationFailed", labels)]), at("66m", "FluxguardVerificationFailed", [])],
      },
    ]);
  });

  it("a verification that could not run (verdict unverifiable) is a warning of its own, not the critical alert", () => {
    const labels = { ...SRC, reason: "VerificationError" };
    promtoolTest(monitorRuleGroups({ notReadyAfter: 600 }), [
      {
        interval: "1m",
        input_series: twoReplicas("fluxguard_verification_failure_last_timestamp_seconds", { ...labels, verdict: "unverifiable" }, "_x2 120x10"),
        alert_rule_test: [at("2m", "FluxguardVerificationFailed", []), at("2m", "FluxguardVerificationError", [alert("FluxguardVerificationError", labels)])],
      },
    ]);
  });

  it("an OCI artifact cosign refused (VerificationError, verdict rejected) is the critical alert", () => {
    const labels = { kind: "OCIRepository", namespace: "team-a", name: "app", reason: "VerificationError" };
    promtoolTest(monitorRuleGroups({ notReadyAfter: 600 }), [
      {
        interval: "1m",
        input_series: twoReplicas("fluxguard_verification_failure_last_timestamp_seconds", { ...labels, verdict: "rejected" }, "_x2 120x10"),
        alert_rule_test: [at("2m", "FluxguardVerificationFailed", [alert("FluxguardVerificationFailed", labels)]), at("2m", "FluxguardVerificationError", [])],
      },
    ]);
  });

  it("a replica that lags (it has not counted the new failure yet) does not hold the alert back", () => {
    const labels = { ...SRC, reason: "InvalidCommitSignature" };
    const series = { ...labels, verdict: "rejected" };
    const l = Object.entries(series)
      .map(([k, v]) => `${k}="${v}"`)
      .join(",");
    promtoolTest(monitorRuleGroups({ notReadyAfter: 600 }), [
      {
        interval: "1m",
        input_series: [
          // a counted a failure at t=5m; b still shows the one of two hours before.
          { series: `fluxguard_verification_failure_last_timestamp_seconds{${l},pod="fluxguard-monitor-a"}`, values: "-7200x4 300x10" },
          { series: `fluxguard_verification_failure_last_timestamp_seconds{${l},pod="fluxguard-monitor-b"}`, values: "-7200x15" },
        ],
        alert_rule_test: [at("4m", "FluxguardVerificationFailed", []), at("5m", "FluxguardVerificationFailed", [alert("FluxguardVerificationFailed", labels)])],
      },
    ]);
  });

  it("fetch failure and refused reconciliation: fire on the first one", () => {
    const fetch = { ...SRC, reason: "AuthenticationFailed" };
    const denied = { identity: "team-a/team-a", kind: "ClusterRoleBinding", verb: "create", mechanism: "rbac" };
    promtoolTest(monitorRuleGroups({ notReadyAfter: 600 }), [
      {
        interval: "1m",
        input_series: [...twoReplicas("fluxguard_fetch_failure_last_timestamp_seconds", fetch, "_x2 120x10"), ...twoReplicas("fluxguard_reconcile_denied_last_timestamp_seconds", denied, "_x3 180x10")],
        alert_rule_test: [
          at("1m", "FluxguardFetchFailed", []),
          at("2m", "FluxguardFetchFailed", [alert("FluxguardFetchFailed", fetch)]),
          at("2m", "FluxguardReconcileDenied", []),
          at("3m", "FluxguardReconcileDenied", [alert("FluxguardReconcileDenied", denied)]),
        ],
      },
    ]);
  });

  for (const [scrape, evaluation] of [
    ["1m", "1m"],
    ["30s", "30s"],
  ] as const) {
    it(`readiness: fires no later than 10 minutes after the first failure (scrape ${scrape}, evaluation ${evaluation}), whatever Flux's retry interval`, () => {
      // The monitor's gauge counts from the first failure (Ready=False) and keeps counting
      // through Flux's Ready=Unknown retries, so the gauge is simply the time since the failure.
      const step = scrape === "1m" ? 60 : 30;
      const n = 30 * (60 / step);
      const values = `0+${step}x${n}`;
      const labels = { kind: "Kustomization", namespace: "team-a", name: "team-a" };
      const t = readinessTiming(600);
      const firing = (v: number): unknown[] => [alert("FluxguardResourceNotReady", labels, humanize(v))];
      // The alert fires at the first evaluation where the sample is over the threshold for `for`.
      const firstOver = Math.ceil((t.threshold + 1) / step) * step;
      const fireAt = firstOver + 60;
      assert.ok(fireAt <= 600, `fires at ${fireAt}s`);
      promtoolTest(
        monitorRuleGroups({ notReadyAfter: 600 }),
        [
          {
            interval: scrape,
            input_series: twoReplicas("fluxguard_resource_not_ready_seconds", labels, values),
            alert_rule_test: [at(`${fireAt - step}s`, "FluxguardResourceNotReady", []), at(`${fireAt}s`, "FluxguardResourceNotReady", firing(fireAt)), at("10m", "FluxguardResourceNotReady", firing(600))],
          },
          {
            // Ready again after 6 minutes: never fires.
            interval: scrape,
            input_series: twoReplicas("fluxguard_resource_not_ready_seconds", labels, `0+${step}x${(6 * 60) / step} 0x${n}`),
            alert_rule_test: [at("10m", "FluxguardResourceNotReady", []), at("20m", "FluxguardResourceNotReady", [])],
          },
        ],
        evaluation,
      );
    });
  }

  it("signing keys: expiring within 14 days warns at once; expired or revoked is critical at once", () => {
    const key = { namespace: "flux-system", secret: "signers", type: "openpgp", fingerprint: "ABCD" };
    promtoolTest(monitorRuleGroups({ notReadyAfter: 600 }), [
      {
        interval: "1m",
        input_series: [
          // 15 days left, then the Secret's key is replaced by one with 10 days left at t=5m.
          ...twoReplicas("fluxguard_signing_key_expiry_seconds", key, "1296000x4 864000x10"),
          ...twoReplicas("fluxguard_signing_key_revoked", key, "0x8 1x5"),
        ],
        alert_rule_test: [
          at("4m", "FluxguardSigningKeyExpiring", []),
          at("5m", "FluxguardSigningKeyExpiring", [alert("FluxguardSigningKeyExpiring", key, "10d 0h 0m 0s")]),
          at("8m", "FluxguardSigningKeyUnusable", []),
          at("9m", "FluxguardSigningKeyUnusable", [alert("FluxguardSigningKeyUnusable", key)]),
        ],
      },
    ]);
  });

  it("posture and the monitor itself: unreadable Secret after 5m, tenant cluster-admin after 15m, lockdown off after 1h, monitor down after 10m", () => {
    const secret = { namespace: "flux-system", secret: "signers" };
    promtoolTest(monitorRuleGroups({ notReadyAfter: 600 }), [
      {
        interval: "1m",
        input_series: [
          ...twoReplicas("fluxguard_verification_secret_readable", secret, "0x90"),
          ...twoReplicas("fluxguard_reconciler_cluster_admin", { identity: "team-a/team-a", tier: "tenant" }, "1x90"),
          ...twoReplicas("fluxguard_reconciler_cluster_admin", { identity: "flux-system/kustomize-controller", tier: "platform" }, "1x90"),
          ...twoReplicas("fluxguard_lockdown_enabled", { controller: "kustomize-controller", evidence: "controller-args" }, "0x90"),
          { series: 'fluxguard_monitor_synced{pod="fluxguard-monitor-a"}', values: "1x20 0x40" },
        ],
        alert_rule_test: [
          at("4m", "FluxguardVerificationSecretUnreadable", []),
          at("5m", "FluxguardVerificationSecretUnreadable", [alert("FluxguardVerificationSecretUnreadable", secret)]),
          at("14m", "FluxguardTenantReconcilerClusterAdmin", []),
          at("15m", "FluxguardTenantReconcilerClusterAdmin", [alert("FluxguardTenantReconcilerClusterAdmin", { identity: "team-a/team-a" })]),
          at("59m", "FluxguardLockdownOff", []),
          at("60m", "FluxguardLockdownOff", [alert("FluxguardLockdownOff", { controller: "kustomize-controller" })]),
          at("29m", "FluxguardMonitorDown", []),
          at("31m", "FluxguardMonitorDown", [alert("FluxguardMonitorDown", {})]),
        ],
      },
    ]);
  });
});

/** Prometheus' humanizeDuration for whole seconds. */
function humanize(s: number): string {
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (d) return `${d}d ${h}h ${m}m ${sec}s`;
  if (h) return `${h}h ${m}m ${sec}s`;
  if (m) return `${m}m ${sec}s`;
  return `${sec}s`;
}

describe("monitor dashboard and routing", () => {
  it("the dashboard and the rules query only metrics the monitor serves", () => {
    const served = new Set<string>(Object.values(METRIC));
    const used = new Set<string>();
    const collect = (text: string): void => {
      for (const m of text.matchAll(/\b(fluxguard_[a-z_]+)/g)) used.add(m[1]!);
    };
    collect(JSON.stringify(grafanaDashboard()));
    for (const r of RULES) collect(r.expr);
    for (const m of used) assert.ok(served.has(m), `${m} is not served by the monitor`);
    assert.ok(used.size >= 10);
  });

  it("the Alertmanager example routes security alerts to the security receiver", () => {
    const cfg = parse(alertmanagerRoutingText()) as { route: { routes: Array<{ receiver: string; matchers: string[] }> } };
    const sec = cfg.route.routes.find((r) => r.matchers.some((m) => m.includes("FluxguardVerificationFailed")));
    assert.equal(sec?.receiver, "security");
  });
});

describe("the chart's PrometheusRule", () => {
  it("carries exactly the generated rules (UPDATE_GOLDEN=1 rewrites charts/fluxguard/files/prometheus-rules.yaml)", () => {
    const file = join(REPO_ROOT, "charts", "fluxguard", "files", "prometheus-rules.yaml");
    const want = `# Generated from src/generate/monitor-rules.ts (monitorRuleGroups, notReadyAfter 10m); do not edit.\n${stringify({ groups: monitorRuleGroups({ notReadyAfter: 600 }) }, { lineWidth: 0 })}`;
    if (process.env["UPDATE_GOLDEN"]) writeFileSync(file, want);
    assert.equal(readFileSync(file, "utf8"), want);
  });
});
