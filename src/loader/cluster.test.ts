/**
 * The live loader over loader/kube-http.ts, against a TLS server of the test's own that
 * serves collections like kube-apiserver (paged, 404 for CRDs that are not installed) and
 * records every request: what an audit reads and what the monitor's lean posture load leaves
 * out (status, workloads, Secrets), and how Kustomization inventories become applied objects.
 * The real kube-apiserver runs the same code in src/e2e/cluster.e2e.test.ts.
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { defaultConfig } from "../core/config.js";
import { startTlsApiServer } from "../testing/tls-api-server.js";
import { liveContext, loadCluster, modelFromObjects } from "./cluster.js";
import { KubeApi } from "./kube-http.js";
import type { K8sObject } from "../core/types.js";

const CANARY = "fluxguard-canary-7c1e55";
const ks = (name: string, ns: string, inventory: string[] | null): K8sObject => ({
  apiVersion: "kustomize.toolkit.fluxcd.io/v1",
  kind: "Kustomization",
  metadata: { name, namespace: ns, managedFields: [{ manager: "kubectl" }] } as K8sObject["metadata"],
  spec: { sourceRef: { kind: "GitRepository", name: "repo" }, path: "./", prune: true, serviceAccountName: `${name}-sa` },
  ...(inventory ? { status: { inventory: { entries: inventory.map((id) => ({ id, v: "v1" })) } } } : {}),
});

const collections: Record<string, K8sObject[]> = {
  "/apis/source.toolkit.fluxcd.io/v1/gitrepositories": [
    { apiVersion: "source.toolkit.fluxcd.io/v1", kind: "GitRepository", metadata: { name: "repo", namespace: "team-a" }, spec: { url: "ssh://git@example.com/repo", secretRef: { name: "git-auth" } } },
  ],
  "/apis/kustomize.toolkit.fluxcd.io/v1/kustomizations": [ks("apps", "team-a", ["team-a_web_apps_Deployment", "team-a_gone_apps_Deployment"]), ks("labelled", "team-a", null)],
  "/api/v1/namespaces": [{ apiVersion: "v1", kind: "Namespace", metadata: { name: "team-a" } }],
  "/apis/apps/v1/deployments": [
    { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "web", namespace: "team-a", labels: { "kustomize.toolkit.fluxcd.io/name": "apps", "kustomize.toolkit.fluxcd.io/namespace": "team-a" } } },
    { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "api", namespace: "team-a", labels: { "kustomize.toolkit.fluxcd.io/name": "labelled", "kustomize.toolkit.fluxcd.io/namespace": "team-a" } } },
  ],
};

const requests: string[] = [];
const tls = await startTlsApiServer((req, res) => {
  const u = new URL(req.url ?? "", "https://x");
  requests.push(u.pathname + (u.searchParams.get("labelSelector") ? `?${u.searchParams.get("labelSelector")}` : ""));
  if (u.pathname === "/api/v1/namespaces/team-a/secrets/git-auth") {
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ kind: "Secret", type: "Opaque", data: { identity: Buffer.from(CANARY).toString("base64"), known_hosts: "eA==" } }));
    return;
  }
  let items = collections[u.pathname];
  if (!items) {
    const core = /^\/api\/v1\/(serviceaccounts|pods)$|^\/apis\/(rbac\.authorization\.k8s\.io|networking\.k8s\.io|apps|batch)\//.test(u.pathname);
    if (!core) {
      res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ kind: "Status", reason: "NotFound", code: 404 }));
      return;
    }
    items = [];
  }
  const selector = u.searchParams.get("labelSelector");
  if (selector) {
    const [k, v] = selector.split("=");
    items = items.filter((o) => k !== undefined && o.metadata.labels?.[k] !== undefined && (v === undefined || o.metadata.labels[k] === v));
  }
  // Pages of one object, to follow continue tokens.
  const at = Number(u.searchParams.get("continue") ?? 0);
  const page = items.slice(at, at + 1);
  res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ kind: "List", metadata: { resourceVersion: "1", ...(at + 1 < items.length ? { continue: String(at + 1) } : {}) }, items: JSON.parse(JSON.stringify(page)) as unknown }));
});
const api = new KubeApi(tls.endpoint());
after(() => api.close());

test("an audit load: paged lists, managedFields dropped, Git credential Secrets read for key names only, inventories resolved", async () => {
  requests.length = 0;
  const live = liveContext(api);
  const { model } = await loadCluster({ config: defaultConfig() }, live);
  const apps = model.objects.find((m) => m.object.metadata.name === "apps")!;
  assert.equal((apps.object.metadata as { managedFields?: unknown }).managedFields, undefined);
  assert.ok(apps.object["status"], "status kept for the rules");
  assert.ok(requests.includes("/api/v1/namespaces/team-a/secrets/git-auth"));
  const secret = model.objects.find((m) => m.object.kind === "Secret")!;
  assert.deepEqual(Object.keys((secret.object as unknown as { data: object }).data), ["identity", "known_hosts"]);
  assert.doesNotMatch(JSON.stringify(model.objects.map((m) => m.object)), new RegExp(CANARY), "no Secret value is kept");
  assert.ok(requests.some((r) => r.startsWith("/apis/apps/v1/deployments?kustomize.toolkit.fluxcd.io/name")), "workloads Flux applied are listed");
  assert.ok(live.notices.some((n) => n.file.startsWith("HelmRelease") && /CRD not installed/.test(n.reason)));

  const web = model.objects.find((m) => m.object.kind === "Deployment" && m.object.metadata.name === "web")!;
  assert.equal(web.origin.renderedBy, "Kustomization/team-a/apps", "an inventory entry resolves to the listed object");
  const gone = model.objects.find((m) => m.key.includes("team-a_gone_apps_Deployment"));
  assert.equal(gone, undefined, "entries not listed are not model objects of their own");
  const api2 = model.objects.find((m) => m.object.kind === "Deployment" && m.object.metadata.name === "api")!;
  assert.equal(api2.origin.renderedBy, "Kustomization/team-a/labelled", "without an inventory, the kustomize-controller labels say who applied it");
});

test("a posture load (the monitor's): no status, no workloads Flux applied, no Secret reads", async () => {
  requests.length = 0;
  const { model } = await loadCluster({ config: defaultConfig(), purpose: "posture" }, liveContext(api));
  assert.ok(!requests.some((r) => r.includes("/secrets")), requests.join("\n"));
  assert.ok(!requests.some((r) => r.includes("kustomize.toolkit.fluxcd.io/name") || r.startsWith("/api/v1/pods")), "no workload lists");
  const apps = model.objects.find((m) => m.object.metadata.name === "apps")!;
  assert.equal(apps.object["status"], undefined);
  assert.deepEqual(
    model.clusters[0]!.reconcilers.map((r) => `${r.identity.namespace}/${r.identity.serviceAccount}`).sort(),
    ["team-a/apps-sa", "team-a/labelled-sa"],
    "the reconciler identities are the audit's",
  );
});

test("modelFromObjects: an object listed twice counts once; the first listed wins an inventory id", () => {
  const d = collections["/apis/apps/v1/deployments"]![0]!;
  const model = modelFromObjects([ks("apps", "team-a", ["team-a_web_apps_Deployment"]), d, d], { config: defaultConfig(), id: "c", root: "https://x", mode: "cluster" });
  assert.equal(model.objects.filter((m) => m.object.kind === "Deployment").length, 1);
});
