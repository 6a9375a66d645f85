/**
 * Alerts, scrape config, dashboard and Alertmanager routing for `fluxguard monitor`
 * (src/monitor/, charts/fluxguard). Written instead of the gotk_resource_info rules when the
 * fleet spec sets `platform.monitoring.monitor: true`.
 *
 * Every expression aggregates with `max by (...)` over the series labels, so the two monitor
 * replicas (both serve the same values) give one alert, not two; a "last counted" time is
 * aggregated before it is compared (`time() - max(ts)`), so the replica that saw the failure
 * first decides and one that lags cannot hold the alert back. Counters are alerted through
 * their `…_last_timestamp_seconds` companions: the first failure creates a counter series at 1,
 * which `increase()` cannot see, while "counted in the last hour" fires on the first failure
 * and resolves on its own.
 */
import { stringify } from "yaml";
import type { Doc } from "./emit.js";
import { ALERT_RULES, type AlertRule } from "./monitoring.js";
import { MANAGED_BY } from "./policies.js";
import type { FleetSpec } from "./spec.js";

/** The recent-failure window of the counter alerts, seconds. */
export const RECENT_SECONDS = 3600;
/** Days before expiry a signing key alerts. */
export const KEY_WARN_DAYS = 14;

/** Prometheus duration text for whole seconds: 600 -> "10m", 90 -> "90s". */
export function promDuration(seconds: number): string {
  if (seconds % 3600 === 0 && seconds >= 3600) return `${seconds / 3600}h`;
  if (seconds % 60 === 0 && seconds >= 60) return `${seconds / 60}m`;
  return `${seconds}s`;
}

/**
 * The readiness timing: the alert fires at most `notReadyAfter` seconds after the object first
 * went not Ready. `for` is a tenth of it (1m at the default 10m) so a single odd sample does not
 * fire it; the threshold leaves a tenth each for the scrape and the evaluation interval (1m each
 * at Prometheus' defaults), so the worst case, threshold + scrape + evaluation + for, is
 * notReadyAfter. promtool proves it at 1m/1m and 30s/30s (monitor-rules.test.ts).
 */
export function readinessTiming(notReadyAfter: number): { threshold: number; for: string } {
  const forS = Math.max(1, Math.floor(notReadyAfter / 10));
  return { threshold: notReadyAfter - 3 * forS, for: promDuration(forS) };
}

/** The alert rules on fluxguard_* metrics. */
export function monitorAlertRules(opts: { notReadyAfter: number }): AlertRule[] {
  const t = readinessTiming(opts.notReadyAfter);
  const after = promDuration(opts.notReadyAfter);
  const src = "kind, namespace, name";
  return [
    {
      alert: "FluxguardVerificationFailed",
      expr: `time() - max by (${src}, reason) (fluxguard_verification_failure_last_timestamp_seconds{verdict="rejected"}) < ${RECENT_SECONDS}`,
      for: "0m",
      severity: "critical",
      summary: "Signature verification failed for {{ $labels.kind }} {{ $labels.namespace }}/{{ $labels.name }} ({{ $labels.reason }})",
      description:
        "Flux refused a revision whose commit, tag or artifact signature did not verify (an OCI artifact or chart: cosign or notation found no valid signature): possibly a malicious push, or an expired or rotated key. fluxguard_verification_failures_total counts each rejected revision once. Run: flux get sources all -n {{ $labels.namespace }}",
      threat: "adversary-1-malicious-commit",
    },
    {
      alert: "FluxguardVerificationError",
      expr: `time() - max by (${src}, reason) (fluxguard_verification_failure_last_timestamp_seconds{verdict="unverifiable"}) < ${RECENT_SECONDS}`,
      for: "0m",
      severity: "warning",
      summary: "Flux could not verify {{ $labels.kind }} {{ $labels.namespace }}/{{ $labels.name }} ({{ $labels.reason }})",
      description:
        "Verification could not run: the keys Secret is missing or unreadable, the mode needs a tag the ref does not check out, the signature provider or registry failed. Flux applies no new revision until it can verify. Not a rejected signature: that is FluxguardVerificationFailed.",
      threat: "weakness-2-unverified-commits",
    },
    {
      alert: "FluxguardFetchFailed",
      expr: `time() - max by (${src}, reason) (fluxguard_fetch_failure_last_timestamp_seconds) < ${RECENT_SECONDS}`,
      for: "0m",
      severity: "warning",
      summary: "{{ $labels.kind }} {{ $labels.namespace }}/{{ $labels.name }} cannot fetch ({{ $labels.reason }})",
      description: "The source could not be fetched: credentials revoked or invalid, repository gone, or the network. Flux keeps the last fetched revision.",
      threat: "weakness-6-no-alerting",
    },
    {
      alert: "FluxguardResourceNotReady",
      expr: `max by (${src}) (fluxguard_resource_not_ready_seconds) > ${t.threshold}`,
      for: t.for,
      severity: "critical",
      summary: "{{ $labels.kind }} {{ $labels.namespace }}/{{ $labels.name }} has not been Ready for {{ $value | humanizeDuration }}",
      description: `Fires at most ${after} after the first failure. The cluster may have diverged from Git; the Ready reason is on fluxguard_resource_ready. Run: flux get all -n {{ $labels.namespace }}`,
      threat: "weakness-6-no-alerting",
    },
    {
      alert: "FluxguardReconcileDenied",
      expr: `time() - max by (identity, kind, verb, mechanism) (fluxguard_reconcile_denied_last_timestamp_seconds) < ${RECENT_SECONDS}`,
      for: "0m",
      severity: "warning",
      summary: "{{ $labels.identity }} was refused {{ $labels.verb }} on {{ $labels.kind }} ({{ $labels.mechanism }})",
      description:
        "A reconciler tried an operation outside what its service account may do (RBAC) or what admission policy allows. Either the manifests ask for something the tenant must not have, or the RBAC is too restrictive.",
      threat: "adversary-3-kustomization-escalation",
    },
    {
      alert: "FluxguardSigningKeyExpiring",
      expr: `min by (namespace, secret, type, fingerprint) (fluxguard_signing_key_expiry_seconds) < ${KEY_WARN_DAYS * 86400} > 0`,
      for: "0m",
      severity: "warning",
      summary: "Trusted {{ $labels.type }} key {{ $labels.fingerprint }} in Secret {{ $labels.namespace }}/{{ $labels.secret }} expires in {{ $value | humanizeDuration }}",
      description: "When it expires, every commit it signs fails verification. Extend it (gpg --quick-set-expire) and update the Secret; `fluxguard keys check` shows all keys.",
      threat: "weakness-2-unverified-commits",
    },
    {
      alert: "FluxguardSigningKeyUnusable",
      expr: "min by (namespace, secret, type, fingerprint) (fluxguard_signing_key_expiry_seconds) <= 0 or max by (namespace, secret, type, fingerprint) (fluxguard_signing_key_revoked) == 1",
      for: "0m",
      severity: "critical",
      summary: "Trusted {{ $labels.type }} key {{ $labels.fingerprint }} in Secret {{ $labels.namespace }}/{{ $labels.secret }} is expired or revoked",
      description: "Commits signed by it are rejected. Replace it in the Secret.",
      threat: "weakness-2-unverified-commits",
    },
    {
      alert: "FluxguardVerificationSecretUnreadable",
      expr: "min by (namespace, secret) (fluxguard_verification_secret_readable) == 0",
      for: "5m",
      severity: "critical",
      summary: "Verification Secret {{ $labels.namespace }}/{{ $labels.secret }} is missing, unreadable or malformed",
      description: "A source names it in spec.verify.secretRef; Flux fails verification (VerificationError) until it is fixed.",
      threat: "weakness-2-unverified-commits",
    },
    {
      alert: "FluxguardTenantReconcilerClusterAdmin",
      expr: 'max by (identity) (fluxguard_reconciler_cluster_admin{tier="tenant"}) == 1',
      for: "15m",
      severity: "critical",
      summary: "Tenant reconciler identity {{ $labels.identity }} can do anything in the cluster",
      description: "The API server (SubjectAccessReview) says this tenant service account may do * on *. A tenant commit can take over the cluster.",
      threat: "adversary-3-kustomization-escalation",
    },
    {
      alert: "FluxguardLockdownOff",
      expr: "max by (controller) (fluxguard_lockdown_enabled) == 0",
      for: "1h",
      severity: "warning",
      summary: "{{ $labels.controller }} runs without the multi-tenancy lockdown",
      description: "Without --no-cross-namespace-refs and --default-service-account, a Kustomization or HelmRelease without serviceAccountName runs as the controller (cluster-admin).",
      threat: "weakness-1-cluster-admin",
    },
    {
      alert: "FluxguardMonitorDown",
      expr: "absent(fluxguard_monitor_synced == 1)",
      for: "10m",
      severity: "warning",
      summary: "No fluxguard monitor replica is up and synced",
      description: "The alerts above cannot fire. Check the fluxguard-monitor Deployment and its access to the API server.",
      threat: "weakness-6-no-alerting",
    },
  ];
}

/** The monitor's rules plus the gotk rules that do not depend on kube-state-metrics. */
export function monitorRuleGroups(opts: { notReadyAfter: number }): unknown {
  const kept = ALERT_RULES.filter((r) => !/gotk_resource_info|gotk_reconcile_condition/.test(r.expr));
  const rule = (r: AlertRule): unknown => ({
    alert: r.alert,
    expr: r.expr,
    for: r.for,
    labels: { severity: r.severity, threat: r.threat },
    annotations: { summary: r.summary, description: r.description },
  });
  return [
    { name: "fluxguard-monitor", rules: monitorAlertRules(opts).map(rule) },
    ...(kept.length ? [{ name: "flux-controllers", rules: kept.map(rule) }] : []),
  ];
}

export function monitorPrometheusRuleDoc(spec: FleetSpec): Doc {
  const m = spec.platform.monitoring;
  return {
    comment:
      "weakness-6-no-alerting: alerts on the metrics of `fluxguard monitor` (charts/fluxguard): verification and fetch\nfailures, readiness, refused reconciliations, signing keys, posture. Flux itself exports none of these;\nthe seed's gotk_reconcile_condition and flux_* names never produced a series.",
    value: {
      apiVersion: "monitoring.coreos.com/v1",
      kind: "PrometheusRule",
      metadata: { name: "fluxguard-monitor", namespace: m.namespace, labels: { ...MANAGED_BY, ...m.ruleLabels } },
      spec: { groups: monitorRuleGroups({ notReadyAfter: m.notReadyAfter }) },
    },
  };
}

export function monitorPodMonitorDoc(spec: FleetSpec): Doc {
  const m = spec.platform.monitoring;
  return {
    comment:
      "Scrapes both monitor replicas. honorLabels keeps the metrics' own `namespace` label (the Flux object's\nnamespace) instead of renaming it exported_namespace; the Pod's namespace stays in `pod`/`instance`.",
    value: {
      apiVersion: "monitoring.coreos.com/v1",
      kind: "PodMonitor",
      metadata: { name: "fluxguard-monitor", namespace: m.namespace, labels: { ...MANAGED_BY, ...m.ruleLabels } },
      spec: {
        namespaceSelector: { matchNames: [m.monitorNamespace] },
        selector: { matchLabels: { "app.kubernetes.io/name": "fluxguard", "app.kubernetes.io/component": "monitor" } },
        podMetricsEndpoints: [{ port: "http-metrics", path: "/metrics", interval: "30s", honorLabels: true }],
      },
    },
  };
}

/** A Grafana dashboard (schemaVersion 39) on the monitor's metrics. */
export function grafanaDashboard(): unknown {
  let id = 0;
  const ds = { type: "prometheus", uid: "${datasource}" };
  const panel = (type: string, title: string, gridPos: Record<string, number>, targets: Array<{ expr: string; legendFormat?: string; format?: string; instant?: boolean }>, extra: Record<string, unknown> = {}): unknown => ({
    id: ++id,
    type,
    title,
    datasource: ds,
    gridPos,
    targets: targets.map((t, i) => ({ refId: String.fromCharCode(65 + i), datasource: ds, ...t })),
    ...extra,
  });
  return {
    title: "Flux security (fluxguard monitor)",
    uid: "fluxguard-monitor",
    schemaVersion: 39,
    version: 1,
    editable: true,
    time: { from: "now-24h", to: "now" },
    refresh: "1m",
    tags: ["flux", "security", "fluxguard"],
    templating: {
      list: [
        { name: "datasource", type: "datasource", query: "prometheus", label: "Prometheus" },
        { name: "namespace", type: "query", datasource: ds, query: "label_values(fluxguard_resource_ready, namespace)", includeAll: true, multi: true, current: { text: "All", value: "$__all" }, refresh: 2 },
      ],
    },
    panels: [
      panel("stat", "Verification failures (24h)", { x: 0, y: 0, w: 6, h: 4 }, [{ expr: 'sum(max by (kind, namespace, name, reason) (increase(fluxguard_verification_failures_total{namespace=~"$namespace"}[24h])))' }], {
        fieldConfig: { defaults: { thresholds: { mode: "absolute", steps: [{ color: "green", value: null }, { color: "red", value: 1 }] } } },
      }),
      panel("stat", "Fetch failures (24h)", { x: 6, y: 0, w: 6, h: 4 }, [{ expr: 'sum(max by (kind, namespace, name, reason) (increase(fluxguard_fetch_failures_total{namespace=~"$namespace"}[24h])))' }]),
      panel("stat", "Not Ready objects", { x: 12, y: 0, w: 6, h: 4 }, [{ expr: 'count(max by (kind, namespace, name) (fluxguard_resource_ready{namespace=~"$namespace"}) == 0) or vector(0)' }]),
      panel("stat", "Tenant reconcilers as cluster-admin", { x: 18, y: 0, w: 6, h: 4 }, [{ expr: 'count(max by (identity) (fluxguard_reconciler_cluster_admin{tier="tenant"})) or vector(0)' }]),
      panel("table", "Not Ready (longest first)", { x: 0, y: 4, w: 12, h: 8 }, [{ expr: 'sort_desc(max by (kind, namespace, name) (fluxguard_resource_not_ready_seconds{namespace=~"$namespace"}) > 0)', format: "table", instant: true }], {
        fieldConfig: { defaults: { unit: "s" } },
      }),
      panel("table", "Signing keys: time to expiry", { x: 12, y: 4, w: 12, h: 8 }, [{ expr: "sort(min by (namespace, secret, type, fingerprint) (fluxguard_signing_key_expiry_seconds))", format: "table", instant: true }], {
        fieldConfig: { defaults: { unit: "s" } },
      }),
      panel("timeseries", "Verification failures", { x: 0, y: 12, w: 12, h: 8 }, [{ expr: 'max by (kind, namespace, name, reason) (fluxguard_verification_failures_total{namespace=~"$namespace"})', legendFormat: "{{kind}} {{namespace}}/{{name}} {{reason}}" }]),
      panel("timeseries", "Fetch failures", { x: 12, y: 12, w: 12, h: 8 }, [{ expr: 'max by (kind, namespace, name, reason) (fluxguard_fetch_failures_total{namespace=~"$namespace"})', legendFormat: "{{kind}} {{namespace}}/{{name}} {{reason}}" }]),
      panel("timeseries", "Refused reconciliations (RBAC / admission)", { x: 0, y: 20, w: 12, h: 8 }, [{ expr: "max by (identity, kind, verb, mechanism) (fluxguard_reconcile_denied_total)", legendFormat: "{{identity}} {{verb}} {{kind}} ({{mechanism}})" }]),
      panel("timeseries", "Monitor: synced replicas and watch restarts", { x: 12, y: 20, w: 12, h: 8 }, [
        { expr: "sum(fluxguard_monitor_synced)", legendFormat: "synced replicas" },
        { expr: "sum(rate(fluxguard_monitor_watch_restarts_total[5m]))", legendFormat: "watch restarts/s" },
      ]),
    ],
  };
}

export function dashboardDoc(spec: FleetSpec): Doc {
  return {
    comment: "A Grafana dashboard for the Grafana sidecar of kube-prometheus-stack (label grafana_dashboard: \"1\").",
    value: {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "fluxguard-monitor-dashboard", namespace: spec.platform.monitoring.namespace, labels: { ...MANAGED_BY, grafana_dashboard: "1" } },
      data: { "fluxguard-monitor.json": JSON.stringify(grafanaDashboard(), null, 2) },
    },
  };
}

/**
 * Alertmanager routing (alertmanager.yml, route and receivers): security events page at once
 * without grouping delay, readiness and fetch go to the platform team, posture to a ticket
 * queue. Receiver URLs are placeholders.
 */
export function alertmanagerRouting(receivers: { security: string; platform: string; posture: string } = { security: "https://security-pager.example.invalid/hook", platform: "https://platform-chat.example.invalid/hook", posture: "https://tickets.example.invalid/hook" }): unknown {
  return {
    route: {
      receiver: "platform",
      group_by: ["alertname", "kind", "namespace", "name"],
      group_wait: "30s",
      group_interval: "5m",
      repeat_interval: "4h",
      routes: [
        {
          receiver: "security",
          matchers: ['alertname=~"FluxguardVerificationFailed|FluxguardSigningKeyUnusable|FluxguardVerificationSecretUnreadable|FluxguardTenantReconcilerClusterAdmin"'],
          group_by: ["alertname", "kind", "namespace", "name", "reason"],
          group_wait: "0s",
          repeat_interval: "1h",
        },
        { receiver: "security", matchers: ['alertname="FluxguardReconcileDenied"'], group_by: ["alertname", "identity", "kind", "verb"], group_wait: "0s" },
        { receiver: "posture", matchers: ['alertname=~"FluxguardLockdownOff|FluxguardSigningKeyExpiring"'], repeat_interval: "24h" },
        { receiver: "platform", matchers: ['alertname=~"Fluxguard.*|Flux.*"'] },
      ],
    },
    receivers: [
      { name: "security", webhook_configs: [{ url: receivers.security, send_resolved: true }] },
      { name: "platform", webhook_configs: [{ url: receivers.platform, send_resolved: true }] },
      { name: "posture", webhook_configs: [{ url: receivers.posture, send_resolved: false }] },
    ],
  };
}

export function alertmanagerRoutingText(): string {
  return `# Alertmanager routing for the fluxguard monitor alerts (merge into alertmanager.yml, or translate into an
# AlertmanagerConfig). Security events go to a pager at once; readiness and fetch to the platform team.
# Generated by \`fluxguard generate\`; not a Kubernetes object, so kustomization.yaml does not list it.
${stringify(alertmanagerRouting(), { lineWidth: 0 })}`;
}
