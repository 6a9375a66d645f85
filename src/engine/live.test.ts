/**
 * Which SubjectAccessReviews the live analysis asks. The answers themselves come from a real API
 * server in the end-to-end suite (src/e2e); here a recording stand-in answers from a table, to
 * pin down the questions: one cluster-wide review per subject and kind, and namespaced ones only
 * where a RoleBinding could grant the right (a cluster of 60 tenants once cost 60 x 60 reviews).
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { defaultConfig } from "../core/config.js";
import { loadRepository } from "../loader/repository.js";
import type { LiveContext } from "../loader/cluster.js";
import { analyzeWith, IDENTITY_CHECKS } from "./live.js";

const TENANTS = 60;
const dir = mkdtempSync(join(tmpdir(), "fg-live-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function fleet(): void {
  const docs: string[] = [];
  for (let i = 0; i < TENANTS; i++) {
    const ns = `t${i}`;
    docs.push(
      `apiVersion: v1\nkind: Namespace\nmetadata: {name: ${ns}}`,
      `apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: reconciler, namespace: ${ns}}`,
      `apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: r, namespace: ${ns}}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: admin}\nsubjects: [{kind: ServiceAccount, name: reconciler, namespace: ${ns}}]`,
      `apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: apps, namespace: ${ns}}\nspec: {path: ./, prune: true, serviceAccountName: reconciler, sourceRef: {kind: GitRepository, name: apps}}`,
    );
  }
  // One subject with cluster-wide rights through a ClusterRoleBinding.
  docs.push(
    `apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: ops}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}\nsubjects: [{kind: User, name: ops@example.com}]`,
  );
  mkdirSync(join(dir, "fleet"), { recursive: true });
  writeFileSync(join(dir, "fleet", "all.yaml"), `${docs.join("\n---\n")}\n`);
}

test("live analysis: namespaced reviews only where a RoleBinding names the subject; one cluster-wide review otherwise", async () => {
  fleet();
  const { model } = await loadRepository({ root: dir, config: defaultConfig(), kustomize: null, cacheDir: null });
  const questions: Array<{ user: string; verb: string; resource: string; namespace: string | null }> = [];
  // The API server's answers, as RBAC would give them for this fleet.
  const sar = async (user: string, _groups: string[], verb: string, _group: string, resource: string, namespace: string | null): Promise<boolean> => {
    questions.push({ user, verb, resource, namespace });
    if (user === "ops@example.com") return true;
    const m = /^system:serviceaccount:(t\d+):reconciler$/.exec(user);
    return Boolean(m && namespace === m[1] && resource === "kustomizations");
  };
  const live: LiveContext = { context: "test", server: "https://127.0.0.1", api: null as never, notices: [{ file: "HelmRelease (helm.toolkit.fluxcd.io/v2)", reason: "CRD not installed; skipped" }], close: async () => undefined, kubeConfig: () => Promise.reject(new Error("none")) };
  const a = await analyzeWith(model, live, sar);

  const creators = new Map(a.clusterAdminCreators.map((c) => [c.subject, c.namespaces]));
  assert.deepEqual(creators.get("User:ops@example.com"), ["*"], "a ClusterRoleBinding: every namespace, from one answer");
  assert.deepEqual(creators.get("ServiceAccount:t7:reconciler"), ["t7"]);
  assert.equal(creators.size, TENANTS + 1);
  assert.deepEqual(a.secretReaders, ["User:ops@example.com"]);

  const subjects = TENANTS + 1;
  const creatorQuestions = questions.filter((q) => q.resource === "kustomizations");
  // Each subject: one cluster-wide question; each tenant: one more, in its own namespace.
  assert.equal(creatorQuestions.filter((q) => q.namespace === null).length, subjects);
  assert.equal(creatorQuestions.filter((q) => q.namespace !== null).length, TENANTS);
  assert.ok(!creatorQuestions.some((q) => q.user.includes(":t7:") && q.namespace !== null && q.namespace !== "t7"), "never another tenant's namespace");
  assert.equal(questions.length, TENANTS * IDENTITY_CHECKS.length + subjects + subjects + TENANTS, "identity checks, Secret readers, creators");
});
