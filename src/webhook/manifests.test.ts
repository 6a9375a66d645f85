/**
 * The ValidatingWebhookConfiguration cannot deadlock a cluster: what it is sent, what it
 * never sees, how it fails; its matchConditions type-check as CEL and behave as meant; and
 * the CLI prints it, writes a certificate pair, and refuses bad flags.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { X509Certificate } from "node:crypto";
import { Environment } from "@marcbachmann/cel-js";
import { parse } from "yaml";
import { runCli } from "../testing/cli.js";
import { webhookConfiguration } from "./manifests.js";

interface Hook {
  name: string;
  failurePolicy: string;
  timeoutSeconds: number;
  sideEffects: string;
  rules: Array<{ apiGroups: string[]; resources: string[]; operations: string[] }>;
  namespaceSelector: { matchExpressions: Array<{ key: string; operator: string; values: string[] }> };
  matchConditions: Array<{ name: string; expression: string }>;
  clientConfig: { url?: string; caBundle?: string; service?: { name: string; namespace: string; path: string } };
}

const config = webhookConfiguration({ namespace: "fluxguard-system", serviceAccount: "fluxguard-webhook", caBundle: "-----BEGIN CERTIFICATE-----\n", timeoutSeconds: 5 }) as { webhooks: Hook[] };

test("manifest: only Flux kinds and RBAC bindings, never kube-system or its own namespace; Flux kinds fail closed, fast", () => {
  const [flux, rbac] = config.webhooks;
  assert.equal(flux!.name, "flux.fluxguard.io");
  assert.equal(flux!.failurePolicy, "Fail");
  assert.ok(flux!.timeoutSeconds <= 5);
  assert.equal(flux!.sideEffects, "None", "dry runs are sent too");
  assert.equal(rbac!.failurePolicy, "Ignore", "bindings are how a broken cluster is repaired");
  const resources = config.webhooks.flatMap((h) => h.rules.flatMap((r) => r.apiGroups.flatMap((g) => r.resources.map((x) => `${g}/${x}`))));
  for (const r of resources) assert.match(r, /^(source|kustomize|helm|image)\.toolkit\.fluxcd\.io\/|^rbac\.authorization\.k8s\.io\/(rolebindings|clusterrolebindings)$/, r);
  assert.ok(!resources.some((r) => /\/(\*|leases|events|pods|secrets|configmaps|namespaces|validatingwebhookconfigurations)$/.test(r)), "helmreleases is not leases");
  for (const h of config.webhooks) {
    assert.deepEqual(h.rules.flatMap((r) => r.operations).filter((o) => o !== "CREATE" && o !== "UPDATE"), [], "never DELETE or CONNECT");
    assert.deepEqual(h.namespaceSelector.matchExpressions, [{ key: "kubernetes.io/metadata.name", operator: "NotIn", values: ["fluxguard-system", "kube-system"] }]);
    assert.equal(h.clientConfig.service?.namespace, "fluxguard-system");
    assert.equal(Buffer.from(h.clientConfig.caBundle ?? "", "base64").toString(), "-----BEGIN CERTIFICATE-----\n");
  }
});

test("manifest: matchConditions type-check and skip the controllers' spec-preserving updates, the webhook itself and the control plane", () => {
  const env = new Environment({ unlistedVariablesAreDyn: false })
    .registerType("UserInfo", { fields: { username: "string", groups: "list<string>" } })
    .registerType("AdmissionRequest", { fields: { operation: "string", userInfo: "UserInfo", namespace: "string" } })
    .registerVariable("request", "AdmissionRequest")
    .registerVariable("object", "dyn")
    .registerVariable("oldObject", "dyn");
  const [flux, rbac] = config.webhooks;
  for (const c of [...flux!.matchConditions, ...rbac!.matchConditions]) assert.ok(env.check(c.expression).valid, c.expression);
  const sent = (h: Hook, operation: string, username: string, object: unknown, oldObject: unknown = null): boolean =>
    h.matchConditions.every((c) => env.evaluate(c.expression, { request: { operation, userInfo: { username, groups: [] }, namespace: "team-a" }, object, oldObject }) === true);
  const spec = { url: "ssh://x" };
  assert.equal(sent(flux!, "CREATE", "jane", { spec }), true);
  assert.equal(sent(flux!, "UPDATE", "system:serviceaccount:flux-system:source-controller", { metadata: { finalizers: ["f"] }, spec }, { spec }), false, "a finalizer update");
  assert.equal(sent(flux!, "UPDATE", "jane", { spec: { url: "ssh://y" } }, { spec }), true, "a spec change");
  assert.equal(sent(flux!, "CREATE", "system:serviceaccount:fluxguard-system:fluxguard-webhook", { spec }), false);
  assert.equal(sent(rbac!, "CREATE", "system:kube-controller-manager", {}), false);
  assert.equal(sent(rbac!, "CREATE", "system:serviceaccount:kube-system:bootstrap-signer", {}), false);
  assert.equal(sent(rbac!, "CREATE", "system:serviceaccount:flux-system:kustomize-controller", {}), true, "what Flux applies is judged");
  assert.equal(sent(rbac!, "CREATE", "jane@example.com", {}), true);
});

test("cli: webhook manifest, certs, and usage errors", async () => {
  const dir = mkdtempSync(join(tmpdir(), "fluxguard-webhook-cli-"));
  try {
    const certs = await runCli(["webhook", "certs", "--dir", dir, "--host", "fluxguard-webhook.fluxguard-system.svc", "--host", "127.0.0.1"]);
    assert.equal(certs.code, 0, certs.stderr);
    const leaf = new X509Certificate(readFileSync(join(dir, "tls.crt")));
    assert.match(leaf.subjectAltName ?? "", /DNS:fluxguard-webhook\.fluxguard-system\.svc, IP Address:127\.0\.0\.1/);
    assert.ok(leaf.verify(new X509Certificate(readFileSync(join(dir, "ca.crt"))).publicKey), "signed by the CA");
    const m = await runCli(["webhook", "manifest", "--namespace", "fluxguard-system", "--ca-file", join(dir, "ca.crt"), "--timeout", "3"]);
    assert.equal(m.code, 0, m.stderr);
    const doc = parse(m.stdout) as { kind: string; webhooks: Hook[] };
    assert.equal(doc.kind, "ValidatingWebhookConfiguration");
    assert.equal(doc.webhooks[0]!.timeoutSeconds, 3);
    assert.match(Buffer.from(doc.webhooks[0]!.clientConfig.caBundle!, "base64").toString(), /BEGIN CERTIFICATE/);
    const cm = parse((await runCli(["webhook", "manifest", "--namespace", "x", "--cert-manager", "x/fluxguard-webhook"])).stdout) as { metadata: { annotations: Record<string, string> } };
    assert.equal(cm.metadata.annotations["cert-manager.io/inject-ca-from"], "x/fluxguard-webhook");
    for (const [args, re] of [
      [["webhook"], /needs a subcommand/],
      [["webhook", "manifest"], /needs --namespace/],
      [["webhook", "manifest", "--namespace", "x", "--timeout", "60"], /--timeout must be 1 to 30/],
      [["webhook", "serve", "--tls-cert", "a"], /needs --tls-cert and --tls-key/],
      [["webhook", "serve", "--tls-cert", "a", "--tls-key", "b", "--deny-at", "severe"], /unknown severity 'severe'/],
      [["webhook", "serve", "--tls-cert", "a", "--tls-key", "b", "--mode", "block"], /--mode must be enforce or audit/],
      [["webhook", "certs", "--dir", dir], /at least one host/],
    ] as Array<[string[], RegExp]>) {
      const r = await runCli(args);
      assert.equal(r.code, 2, args.join(" "));
      assert.match(r.stderr, re, args.join(" "));
    }
    // serve --objects with a certificate pair that is not a pair: a clear error, not a crash.
    writeFileSync(join(dir, "objects.yaml"), "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n");
    const bad = await runCli(["webhook", "serve", "--objects", join(dir, "objects.yaml"), "--tls-cert", join(dir, "ca.crt"), "--tls-key", join(dir, "tls.key"), "--port", "0"]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /key values mismatch|certificate|key/i);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
