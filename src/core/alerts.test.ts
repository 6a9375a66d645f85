import assert from "node:assert/strict";
import { test } from "node:test";
import { alertSelects, kustomizationWaitsFor } from "./alerts.js";
import type { K8sObject } from "./types.js";

const obj = (kind: string, name: string, namespace: string, labels?: Record<string, string>): K8sObject => ({
  apiVersion: kind === "HelmRelease" ? "helm.toolkit.fluxcd.io/v2" : "kustomize.toolkit.fluxcd.io/v1",
  kind,
  metadata: { name, namespace, ...(labels ? { labels } : {}) },
});
const alert = (...eventSources: object[]): K8sObject => ({ apiVersion: "notification.toolkit.fluxcd.io/v1beta3", kind: "Alert", metadata: { name: "a", namespace: "flux-system" }, spec: { eventSources } }) as unknown as K8sObject;

test("alertSelects: notification-controller's matching", () => {
  const apps = obj("Kustomization", "apps", "flux-system", { team: "a" });
  assert.ok(alertSelects(alert({ kind: "Kustomization", name: "*" }), apps));
  assert.ok(!alertSelects(alert({ kind: "Kustomization", name: "*", namespace: "*" }), apps), "namespace is literal");
  assert.ok(!alertSelects(alert({ kind: "Kustomization", name: "ap*" }), apps), "only * is a wildcard");
  assert.ok(!alertSelects(alert({ kind: "Kustomization", name: "*" }), obj("Kustomization", "apps", "team-a")), "namespace defaults to the Alert's");
  assert.ok(alertSelects(alert({ kind: "Kustomization", name: "apps", namespace: "team-a" }), obj("Kustomization", "apps", "team-a")));
  assert.ok(!alertSelects(alert({ kind: "Kustomization", name: "apps", namespace: "team-a" }), obj("Kustomization", "apps", "team-a"), { noCrossNamespaceRefs: true }));
  assert.ok(!alertSelects(alert({ kind: "Kustomization", name: "apps", matchLabels: { team: "b" } }), apps), "matchLabels narrows, with or without *");
  assert.ok(alertSelects(alert({ kind: "Kustomization", name: "*", matchLabels: { team: "a" } }), apps));
  assert.ok(!alertSelects(alert({ kind: "HelmRelease", name: "*" }), apps));
});

test("kustomizationWaitsFor: wait covers what it applies, healthChecks what they list", () => {
  const ks = (spec: object): K8sObject => ({ apiVersion: "kustomize.toolkit.fluxcd.io/v1", kind: "Kustomization", metadata: { name: "k", namespace: "flux-system" }, spec }) as unknown as K8sObject;
  const hr = obj("HelmRelease", "web", "apps");
  assert.ok(kustomizationWaitsFor(ks({ wait: true }), hr, true));
  assert.ok(!kustomizationWaitsFor(ks({ wait: true }), hr, false));
  assert.ok(!kustomizationWaitsFor(ks({}), hr, true));
  assert.ok(kustomizationWaitsFor(ks({ healthChecks: [{ kind: "HelmRelease", name: "web", namespace: "apps" }] }), hr, false));
  assert.ok(kustomizationWaitsFor(ks({ targetNamespace: "apps", healthChecks: [{ kind: "HelmRelease", name: "web" }] }), hr, false));
  assert.ok(!kustomizationWaitsFor(ks({ healthChecks: [{ kind: "HelmRelease", name: "web" }] }), hr, false));
});
