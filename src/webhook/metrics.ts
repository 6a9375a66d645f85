/**
 * The webhook's Prometheus metrics (prom-client, one Registry per server: no global state),
 * in the `fluxguard_` namespace:
 *
 * - `fluxguard_webhook_admissions_total{kind, operation, decision}`: decision allowed|denied|refused|error
 * - `fluxguard_webhook_denials_total{rule}`, `fluxguard_webhook_warnings_total{rule}`
 * - `fluxguard_webhook_rule_errors_total{rule}`: rules that threw (each denied, fail-closed)
 * - `fluxguard_webhook_admission_duration_seconds{decision}`: from the body read to the answer
 * - `fluxguard_webhook_watch_synced`, `fluxguard_webhook_watched_objects`
 * - `fluxguard_webhook_certificate_reloads_total{result}`: ok|failed
 * - Node's process metrics with the `fluxguard_webhook_` prefix.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

export class WebhookMetrics {
  readonly registry = new Registry();
  readonly admissions = new Counter({ name: "fluxguard_webhook_admissions_total", help: "AdmissionReviews answered, by kind, operation and decision.", labelNames: ["kind", "operation", "decision"] as const, registers: [this.registry] });
  readonly denials = new Counter({ name: "fluxguard_webhook_denials_total", help: "Findings that denied a change, by rule.", labelNames: ["rule"] as const, registers: [this.registry] });
  readonly warnings = new Counter({ name: "fluxguard_webhook_warnings_total", help: "Findings returned as AdmissionReview warnings, by rule.", labelNames: ["rule"] as const, registers: [this.registry] });
  readonly ruleErrors = new Counter({ name: "fluxguard_webhook_rule_errors_total", help: "Rules that threw during an admission (the change was denied).", labelNames: ["rule"] as const, registers: [this.registry] });
  readonly latency = new Histogram({
    name: "fluxguard_webhook_admission_duration_seconds",
    help: "Time from the request body read to the answer, by decision.",
    labelNames: ["decision"] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly synced = new Gauge({ name: "fluxguard_webhook_watch_synced", help: "1 when every watched kind has been listed (the readiness condition).", registers: [this.registry] });
  readonly watchedObjects = new Gauge({ name: "fluxguard_webhook_watched_objects", help: "Objects in the watch caches.", registers: [this.registry] });
  readonly certReloads = new Counter({ name: "fluxguard_webhook_certificate_reloads_total", help: "Serving certificate reloads from disk, by result.", labelNames: ["result"] as const, registers: [this.registry] });

  constructor(opts: { processMetrics?: boolean } = {}) {
    if (opts.processMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: "fluxguard_webhook_" });
  }
}
