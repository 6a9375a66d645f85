/**
 * The webhook server over real TLS (certificates from the real openssl): routes, readiness,
 * body limits, malformed reviews, certificate rotation under a stream of requests, metrics,
 * and a bounded fuzz run of 10,000 hostile AdmissionReviews.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { Agent, request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { TLSSocket } from "node:tls";
import { defaultConfig } from "../core/config.js";
import { ALL_RULES } from "../rules/index.js";
import { bootstrapCertificates } from "./certs.js";
import { AdmissionEvaluator } from "./evaluate.js";
import { WebhookMetrics } from "./metrics.js";
import { StaticObjects, type ObjectSource } from "./objects.js";
import { WebhookServer } from "./server.js";
import { admissionReview, baselineCluster, reviewBody, teamAdminBinding } from "../testing/admission.js";
import { rng } from "../testing/fuzz.js";

interface Reply {
  status: number;
  body: string;
  fingerprint: string;
}

let dir: string;
let server: WebhookServer;
let port: number;
let ca: string;
let ready = true;
const metrics = new WebhookMetrics({ processMetrics: false });

function post(path: string, body: string | Buffer, agent?: Agent, method = "POST"): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port, path, method, ca, agent: agent ?? false, headers: { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) } },
      (res) => {
        const chunks: Buffer[] = [];
        const fingerprint = (res.socket as TLSSocket | null)?.getPeerCertificate?.()?.fingerprint256 ?? "";
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), fingerprint }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "fluxguard-webhook-"));
  const certs = bootstrapCertificates({ dir, hosts: ["127.0.0.1", "localhost"] });
  ca = certs.caPem;
  const source: ObjectSource = Object.assign(new StaticObjects(baselineCluster()), { ready: () => ready });
  const evaluator = new AdmissionEvaluator({ config: defaultConfig(), rules: ALL_RULES, denyAt: "high", mode: "enforce" });
  server = new WebhookServer({ certFile: certs.certFile, keyFile: certs.keyFile, port: 0, host: "127.0.0.1", evaluator, source, metrics, denyAt: "high", certPollMs: 100, maxBodyBytes: 1024 * 1024 });
  port = await server.start();
});

after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

const CRB = teamAdminBinding();
const SA = { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "web", namespace: "team-a" } };

test("server: an AdmissionReview in, an AdmissionReview out, over TLS", async () => {
  const denied = await post("/validate", reviewBody(CRB, { uid: "deny-1" }));
  assert.equal(denied.status, 200);
  const d = JSON.parse(denied.body) as { apiVersion: string; kind: string; response: { uid: string; allowed: boolean; status: { code: number; message: string } } };
  assert.equal(d.apiVersion, "admission.k8s.io/v1");
  assert.equal(d.kind, "AdmissionReview");
  assert.equal(d.response.uid, "deny-1");
  assert.equal(d.response.allowed, false);
  assert.equal(d.response.status.code, 403);
  assert.match(d.response.status.message, /\[reconciler-sa-overprivileged\] critical: ServiceAccount team-a\/team-a/);
  const ok = JSON.parse((await post("/validate", reviewBody(SA, { uid: "ok-1" }))).body) as { response: { allowed: boolean; uid: string } };
  assert.deepEqual(ok.response, { uid: "ok-1", allowed: true });
});

test("server: health, readiness follows the watch caches, metrics name rules", async () => {
  assert.equal((await post("/healthz", "", undefined, "GET")).status, 200);
  assert.equal((await post("/readyz", "", undefined, "GET")).status, 200);
  ready = false;
  try {
    assert.equal((await post("/readyz", "", undefined, "GET")).status, 503);
    const r = JSON.parse((await post("/validate", reviewBody(SA))).body) as { response: { allowed: boolean; status: { message: string } } };
    assert.equal(r.response.allowed, false, "not synced: fail-closed");
    assert.match(r.response.status.message, /watch caches are not synced/);
  } finally {
    ready = true;
  }
  const m = (await post("/metrics", "", undefined, "GET")).body;
  assert.match(m, /fluxguard_webhook_denials_total\{rule="reconciler-sa-overprivileged"\} [1-9]/);
  assert.match(m, /fluxguard_webhook_admissions_total\{kind="ClusterRoleBinding",operation="CREATE",decision="denied"\} [1-9]/);
  assert.match(m, /fluxguard_webhook_admission_duration_seconds_bucket\{le="0.005",decision="denied"\}/);
  assert.equal((await post("/nope", "", undefined, "GET")).status, 404);
  assert.equal((await post("/validate", "", undefined, "GET")).status, 405);
});

test("server: bodies over the limit get 413 unread; malformed reviews get 400 or a denied review naming why", async () => {
  const huge = reviewBody({ ...SA, data: "x".repeat(2 * 1024 * 1024) });
  assert.equal((await post("/validate", huge)).status, 413);
  assert.equal((await post("/validate", "{not json")).status, 400);
  assert.equal((await post("/validate", JSON.stringify({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview" }))).status, 400);
  const wrongVersion = JSON.parse((await post("/validate", JSON.stringify({ ...admissionReview(SA, { uid: "v1beta1" }), apiVersion: "admission.k8s.io/v1beta1" }))).body) as {
    response: { uid: string; allowed: boolean; status: { code: number; message: string } };
  };
  assert.equal(wrongVersion.response.uid, "v1beta1");
  assert.equal(wrongVersion.response.allowed, false);
  assert.equal(wrongVersion.response.status.code, 400);
  assert.match(wrongVersion.response.status.message, /apiVersion "admission.k8s.io\/v1beta1" is not admission.k8s.io\/v1/);
  let deep: unknown = { leaf: true };
  for (let i = 0; i < 200; i++) deep = { d: deep };
  const nested = JSON.parse((await post("/validate", reviewBody({ ...SA, spec: deep }))).body) as { response: { allowed: boolean; status: { message: string } } };
  assert.equal(nested.response.allowed, false);
  assert.match(nested.response.status.message, /nested deeper than 64 levels/);
});

test("server: certificates rotated on disk during a stream of admissions drop no request", async () => {
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  const before = (await post("/validate", reviewBody(SA), agent)).fingerprint;
  const failures: string[] = [];
  const fingerprints = new Set<string>();
  let sent = 0;
  let stop = false;
  const worker = async (): Promise<void> => {
    while (!stop) {
      sent++;
      try {
        // A fresh connection per request in half the workers: new handshakes see the new certificate.
        const r = await post("/validate", reviewBody(SA, { uid: `rot-${sent}` }), sent % 2 ? agent : undefined);
        fingerprints.add(r.fingerprint);
        const body = JSON.parse(r.body) as { response?: { allowed?: boolean } };
        if (r.status !== 200 || body.response?.allowed !== true) failures.push(`${r.status} ${r.body.slice(0, 100)}`);
      } catch (e) {
        failures.push(String(e));
      }
    }
  };
  const workers = Array.from({ length: 8 }, () => worker());
  await new Promise((r) => setTimeout(r, 300));
  bootstrapCertificates({ dir, hosts: ["127.0.0.1", "localhost"] }); // new leaf, same CA
  const deadline = Date.now() + 10_000;
  let after = before;
  while (Date.now() < deadline && after === before) {
    await new Promise((r) => setTimeout(r, 100));
    after = (await post("/validate", reviewBody(SA))).fingerprint;
  }
  await new Promise((r) => setTimeout(r, 300));
  stop = true;
  await Promise.all(workers);
  agent.destroy();
  assert.notEqual(after, before, "the new certificate is served");
  assert.deepEqual(failures, [], `${failures.length} of ${sent} failed`);
  assert.ok(sent > 20, `only ${sent} requests in the stream`);
  assert.ok(fingerprints.has(before) && fingerprints.has(after), "the stream saw both certificates");
  assert.match(await metrics.registry.getSingleMetricAsString("fluxguard_webhook_certificate_reloads_total"), /result="ok"\} [1-9]/);
  assert.equal(readFileSync(join(dir, "tls.crt"), "utf8").includes("BEGIN CERTIFICATE"), true);
});

function hostileBody(rand: () => number, i: number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const junk = (): unknown => pick([null, 0, -1, 1e308, true, "", "x".repeat(Math.floor(rand() * 5000)), [], {}, [[[]]], { "": null }, "\u0000\ud800", NaN]);
  const base = admissionReview(structuredClone(pick([CRB, SA, { ...SA, kind: "Kustomization", apiVersion: "kustomize.toolkit.fluxcd.io/v1", spec: { sourceRef: { kind: "GitRepository", name: "team-a" } } }])), { uid: `fuzz-${i}` }) as Record<string, unknown>;
  const req = base["request"] as Record<string, unknown>;
  const obj = req["object"] as Record<string, unknown>;
  switch (Math.floor(rand() * 14)) {
    case 0:
      return Buffer.from(Array.from({ length: Math.floor(rand() * 400) }, () => Math.floor(rand() * 256))).toString("latin1");
    case 1:
      base["apiVersion"] = pick(["admission.k8s.io/v1beta1", "v1", "", 7, null]);
      break;
    case 2:
      base["kind"] = junk();
      break;
    case 3:
      req[pick(["uid", "kind", "operation", "object", "namespace", "userInfo", "oldObject", "name"])] = junk();
      break;
    case 4:
      delete req[pick(["uid", "kind", "operation", "object", "userInfo"])];
      break;
    case 5:
      obj["metadata"] = junk();
      break;
    case 6:
      (obj["metadata"] as Record<string, unknown>)[pick(["name", "namespace", "labels", "annotations", "finalizers"])] = junk();
      break;
    case 7: {
      let deep: unknown = junk();
      const depth = Math.floor(rand() * 3000);
      for (let d = 0; d < depth; d++) deep = rand() < 0.5 ? [deep] : { x: deep };
      obj[pick(["spec", "subjects", "roleRef", "data"])] = deep;
      break;
    }
    case 8:
      obj["spec"] = { values: Object.fromEntries(Array.from({ length: 2000 }, (_, k) => [`k${k}`, { privileged: rand() < 0.5, hostNetwork: junk() }])) };
      break;
    case 9:
      obj[pick(["spec", "roleRef", "subjects"])] = junk();
      break;
    case 10:
      return JSON.stringify(junk());
    case 11:
      return JSON.stringify(base).slice(0, Math.floor(rand() * 300));
    case 12:
      req["kind"] = { group: junk(), version: junk(), kind: junk() };
      break;
    default:
      req["operation"] = pick(["DELETE", "CONNECT", "PATCH", "create", ""]);
  }
  return JSON.stringify(base);
}

test("fuzz: 10,000 malformed or hostile AdmissionReviews: no crash, no hang, each answer a well-formed AdmissionReview or a 4xx", { timeout: 240_000 }, async () => {
  const rand = rng(20261129);
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  const bad: string[] = [];
  let next = 0;
  const counts = { review: 0, client: 0 };
  const worker = async (): Promise<void> => {
    while (next < 10_000) {
      const i = next++;
      const body = hostileBody(rand, i);
      const r = await post("/validate", body, agent);
      if (r.status >= 400 && r.status < 500) {
        counts.client++;
        continue;
      }
      let ok = false;
      try {
        const v = JSON.parse(r.body) as { apiVersion?: unknown; kind?: unknown; response?: { uid?: unknown; allowed?: unknown; status?: { code?: unknown; message?: unknown } } };
        ok =
          r.status === 200 &&
          v.apiVersion === "admission.k8s.io/v1" &&
          v.kind === "AdmissionReview" &&
          typeof v.response?.uid === "string" &&
          typeof v.response.allowed === "boolean" &&
          (v.response.allowed || (typeof v.response.status?.code === "number" && typeof v.response.status.message === "string" && !v.response.status.message.includes("\n")));
      } catch {
        ok = false;
      }
      if (ok) counts.review++;
      else bad.push(`#${i} ${r.status}: ${r.body.slice(0, 120)}`);
    }
  };
  await Promise.all(Array.from({ length: 16 }, () => worker()));
  agent.destroy();
  assert.deepEqual(bad.slice(0, 5), []);
  assert.equal(counts.review + counts.client, 10_000);
  assert.ok(counts.review > 1000 && counts.client > 1000, JSON.stringify(counts));
  // Still serving after all of it.
  const ok = JSON.parse((await post("/validate", reviewBody(SA, { uid: "after-fuzz" }))).body) as { response: { allowed: boolean } };
  assert.equal(ok.response.allowed, true);
});
