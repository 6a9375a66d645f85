/**
 * Monitoring (Weakness 6): notification Providers and Alerts, a PrometheusRule on metrics
 * that exist in Flux 2.9, and the kube-state-metrics custom-resource config that produces
 * `gotk_resource_info`. `gotk_reconcile_condition` is gone since Flux 2.5 and is never used.
 */
import { stringify } from "yaml";
import type { Doc } from "./emit.js";
import { note } from "./emit.js";
import { MANAGED_BY } from "./policies.js";
import type { AlertReceiver, FleetSpec } from "./spec.js";

const NOTIFICATION = "notification.toolkit.fluxcd.io/v1beta3";

/**
 * Messages source-controller emits when verification fails (FLUX-FACTS.md §1.1, §4). The
 * Alert matches them as Go regular expressions on the event message.
 */
export const VERIFICATION_MESSAGES = [
  "signature verification of (commit|tag)",
  "public keys secret error",
  "(PGP|SSH) signature detected but no",
  "unsupported signature type",
  "failed to verify the signature",
  "no matching signatures",
];

export function providerDoc(name: string, namespace: string, r: AlertReceiver): Doc {
  return {
    comment: `weakness-6-no-alerting: where failures are sent. Create Secret ${namespace}/${r.secretName} (key 'address' or 'token'); see README.md.`,
    value: {
      apiVersion: NOTIFICATION,
      kind: "Provider",
      metadata: { name, namespace, labels: { ...MANAGED_BY } },
      spec: {
        type: r.type,
        channel: r.channel ?? undefined,
        secretRef: { name: r.secretName },
      },
    },
  };
}

export function alertDocs(opts: { namespace: string; provider: string; prefix: string; images: boolean }): Doc[] {
  const sources = ["Bucket", "GitRepository", "HelmChart", "HelmRepository", "OCIRepository", "Kustomization", "HelmRelease", ...(opts.images ? ["ImagePolicy", "ImageRepository"] : [])];
  return [
    {
      comment: "weakness-6-no-alerting: every failed reconciliation (a Warning event) reaches a human.\nWith --no-cross-namespace-refs an Alert sees only its own namespace, so each tenant namespace has its own.",
      value: {
        apiVersion: NOTIFICATION,
        kind: "Alert",
        metadata: { name: `${opts.prefix}reconcile-failures`, namespace: opts.namespace, labels: { ...MANAGED_BY } },
        spec: {
          providerRef: { name: opts.provider },
          eventSeverity: note("error: only failures, so the channel stays quiet until something is wrong.", "error"),
          eventSources: sources.map((kind) => ({ kind, name: "*" })),
        },
      },
    },
    {
      comment: "adversary-1-malicious-commit, weakness-2-unverified-commits: a commit or tag that fails signature verification\nis a security event of its own, so it has its own Alert.",
      value: {
        apiVersion: NOTIFICATION,
        kind: "Alert",
        metadata: { name: `${opts.prefix}verification-failures`, namespace: opts.namespace, labels: { ...MANAGED_BY } },
        spec: {
          providerRef: { name: opts.provider },
          eventSeverity: "error",
          eventSources: [
            { kind: "GitRepository", name: "*" },
            { kind: "OCIRepository", name: "*" },
          ],
          inclusionList: note("The messages source-controller emits when verification fails (reasons InvalidCommitSignature, InvalidTagSignature, VerificationError).", VERIFICATION_MESSAGES),
          summary: "Signature verification failed: Flux refused the new revision",
        },
      },
    },
  ];
}

const KSM_KINDS: Array<{ group: string; version: string; kind: string; extra: Record<string, string[]> }> = [
  { group: "kustomize.toolkit.fluxcd.io", version: "v1", kind: "Kustomization", extra: { revision: ["status", "lastAppliedRevision"], source_name: ["spec", "sourceRef", "name"] } },
  {
    group: "helm.toolkit.fluxcd.io",
    version: "v2",
    kind: "HelmRelease",
    extra: { revision: ["status", "history", "0", "chartVersion"], chart_name: ["status", "history", "0", "chartName"], chart_source_name: ["spec", "chart", "spec", "sourceRef", "name"], chart_ref_name: ["spec", "chartRef", "name"] },
  },
  {
    group: "source.toolkit.fluxcd.io",
    version: "v1",
    kind: "GitRepository",
    extra: { revision: ["status", "artifact", "revision"], url: ["spec", "url"], verified: ["status", "conditions", "[type=SourceVerified]", "status"] },
  },
  {
    group: "source.toolkit.fluxcd.io",
    version: "v1",
    kind: "OCIRepository",
    extra: { revision: ["status", "artifact", "revision"], url: ["spec", "url"], verified: ["status", "conditions", "[type=SourceVerified]", "status"] },
  },
  { group: "source.toolkit.fluxcd.io", version: "v1", kind: "HelmRepository", extra: { revision: ["status", "artifact", "revision"], url: ["spec", "url"] } },
  { group: "source.toolkit.fluxcd.io", version: "v1", kind: "HelmChart", extra: { revision: ["status", "artifact", "revision"], chart_name: ["spec", "chart"] } },
  { group: "source.toolkit.fluxcd.io", version: "v1", kind: "Bucket", extra: { revision: ["status", "artifact", "revision"], endpoint: ["spec", "endpoint"] } },
  { group: "image.toolkit.fluxcd.io", version: "v1", kind: "ImageRepository", extra: { image: ["spec", "image"] } },
  { group: "image.toolkit.fluxcd.io", version: "v1", kind: "ImagePolicy", extra: { image_repository_name: ["spec", "imageRepositoryRef", "name"] } },
];

/** The kube-state-metrics custom-resource-state config that defines gotk_resource_info. */
export function ksmCustomResourceConfig(): unknown {
  return {
    kind: "CustomResourceStateMetrics",
    spec: {
      resources: KSM_KINDS.map((k) => ({
        groupVersionKind: { group: k.group, version: k.version, kind: k.kind },
        metricNamePrefix: "gotk",
        metrics: [
          {
            name: "resource_info",
            help: `The current state of a Flux ${k.kind}.`,
            each: { type: "Info", info: { labelsFromPath: { name: ["metadata", "name"] } } },
            labelsFromPath: {
              exported_namespace: ["metadata", "namespace"],
              ready: ["status", "conditions", "[type=Ready]", "status"],
              suspended: ["spec", "suspend"],
              ...k.extra,
            },
          },
        ],
      })),
    },
  };
}

export function ksmConfigDoc(spec: FleetSpec): Doc {
  const values = {
    "kube-state-metrics": {
      collectors: [],
      extraArgs: ["--custom-resource-state-only=true"],
      rbac: {
        extraRules: [
          {
            apiGroups: ["source.toolkit.fluxcd.io", "kustomize.toolkit.fluxcd.io", "helm.toolkit.fluxcd.io", "notification.toolkit.fluxcd.io", "image.toolkit.fluxcd.io"],
            resources: ["*"],
            verbs: ["list", "watch"],
          },
        ],
      },
      customResourceState: { enabled: true, config: ksmCustomResourceConfig() },
    },
  };
  return {
    comment:
      "weakness-6-no-alerting: Flux controllers no longer export object metrics; gotk_resource_info comes from\nkube-state-metrics' custom-resource-state config. These are Helm values for kube-prometheus-stack: reference\nthis ConfigMap from its HelmRelease with valuesFrom (key values.yaml). The 'verified' label carries the\nSourceVerified condition of Git and OCI sources, which the default Flux config does not export.\nAs in Flux's monitoring example, `collectors: []` and --custom-resource-state-only turn off every other\nkube-state-metrics metric: where the same kube-state-metrics serves the cluster's other dashboards, drop\nthose two settings or run a second kube-state-metrics for Flux.",
    value: {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "flux-kube-state-metrics-config", namespace: spec.platform.monitoring.namespace, labels: { ...MANAGED_BY } },
      data: { "values.yaml": stringify(values, { lineWidth: 0, indentSeq: true }) },
    },
  };
}


/**
 * Metrics Flux 2.9's controllers record (fluxcd/pkg `runtime/metrics/recorder.go` and
 * `cache/metrics.go`, source-controller `internal/cache/metrics.go`; FLUX-FACTS.md §3.1), beside
 * controller-runtime's own. `gotk_reconcile_condition` and `gotk_suspend_status` are still
 * defined in fluxcd/pkg but no controller has recorded them since Flux 2.5, so they are not here.
 */
export const FLUX_CONTROLLER_METRICS: readonly string[] = [
  "gotk_reconcile_duration_seconds_bucket",
  "gotk_reconcile_duration_seconds_sum",
  "gotk_reconcile_duration_seconds_count",
  "gotk_cache_events_total",
  "gotk_token_cache_events_total",
  "gotk_token_cache_requests_total",
  "gotk_token_cache_evictions_total",
  "gotk_token_cached_items",
  "controller_runtime_reconcile_total",
  "controller_runtime_reconcile_errors_total",
  "controller_runtime_reconcile_time_seconds_bucket",
  "workqueue_depth",
  "workqueue_longest_running_processor_seconds",
  "rest_client_requests_total",
  "process_cpu_seconds_total",
];

/**
 * Every metric the generated alert rules may query: the controllers' (FLUX_CONTROLLER_METRICS)
 * and those the generated kube-state-metrics config defines (`<metricNamePrefix>_<name>`, i.e.
 * `gotk_resource_info`). A rule on anything else would never fire.
 */
export function emittedMetrics(): Set<string> {
  const out = new Set(FLUX_CONTROLLER_METRICS);
  const resources = (ksmCustomResourceConfig() as { spec: { resources: Array<{ metricNamePrefix: string; metrics: Array<{ name: string }> }> } }).spec.resources;
  for (const r of resources) for (const m of r.metrics) out.add(`${r.metricNamePrefix}_${m.name}`);
  return out;
}

export interface AlertRule {
  alert: string;
  expr: string;
  for: string;
  severity: "critical" | "warning";
  summary: string;
  description: string;
  threat: string;
}

export const ALERT_RULES: AlertRule[] = [
  {
    alert: "FluxResourceNotReady",
    expr: 'max by (customresource_kind, exported_namespace, name) (gotk_resource_info{ready="False", suspended!="true"}) > 0',
    for: "10m",
    severity: "critical",
    summary: "{{ $labels.customresource_kind }} {{ $labels.exported_namespace }}/{{ $labels.name }} has not been Ready for 10 minutes",
    description: "The cluster may have diverged from Git. Run: flux get all -n {{ $labels.exported_namespace }}",
    threat: "weakness-6-no-alerting",
  },
  {
    alert: "FluxSourceVerificationFailed",
    expr: 'max by (customresource_kind, exported_namespace, name) (gotk_resource_info{customresource_kind=~"GitRepository|OCIRepository", verified="False"}) > 0',
    for: "0m",
    severity: "critical",
    summary: "Signature verification failed for {{ $labels.customresource_kind }} {{ $labels.exported_namespace }}/{{ $labels.name }}",
    description: "Flux refused a revision whose commit, tag or artifact signature did not verify. Treat it as a possible malicious push.",
    threat: "adversary-1-malicious-commit",
  },
  {
    alert: "FluxReconciliationSlow",
    expr: "histogram_quantile(0.99, sum by (kind, exported_namespace, le) (rate(gotk_reconcile_duration_seconds_bucket[10m]))) > 300",
    for: "15m",
    severity: "warning",
    summary: "Flux {{ $labels.kind }} reconciliations in {{ $labels.exported_namespace }} take over 5 minutes (p99)",
    description: "Slow reconciliations delay fixes and hide failures.",
    threat: "weakness-6-no-alerting",
  },
  {
    alert: "FluxResourceMetricsAbsent",
    expr: "absent(gotk_resource_info)",
    for: "15m",
    severity: "warning",
    summary: "gotk_resource_info is missing: Flux readiness is not monitored",
    description: "kube-state-metrics is not running with the Flux custom-resource-state config (ConfigMap flux-kube-state-metrics-config).",
    threat: "weakness-6-no-alerting",
  },
];

export function prometheusRuleGroups(): unknown {
  return [
    {
      name: "flux-security",
      rules: ALERT_RULES.map((r) => ({
        alert: r.alert,
        expr: r.expr,
        for: r.for,
        labels: { severity: r.severity, threat: r.threat },
        annotations: { summary: r.summary, description: r.description },
      })),
    },
  ];
}

export function prometheusRuleDoc(spec: FleetSpec): Doc {
  return {
    comment:
      "weakness-6-no-alerting: alerts on metrics that exist in Flux 2.9. gotk_resource_info comes from kube-state-metrics\n(see flux-kube-state-metrics-config); gotk_reconcile_duration_seconds from the controllers. The seed's\ngotk_reconcile_condition and flux_* metrics do not exist and would never fire.",
    value: {
      apiVersion: "monitoring.coreos.com/v1",
      kind: "PrometheusRule",
      metadata: { name: "flux-security", namespace: spec.platform.monitoring.namespace, labels: { ...MANAGED_BY, ...spec.platform.monitoring.ruleLabels } },
      spec: {
        groups: prometheusRuleGroups(),
      },
    },
  };
}
