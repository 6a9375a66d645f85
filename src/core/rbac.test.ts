/**
 * The RBAC model's built-in ClusterRoles against Kubernetes' bootstrap policy
 * (plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go): what view, edit and admin
 * grant, and how roles labelled for aggregation flow into them.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { refOf, type ModelObject } from "./model.js";
import { RbacGraph, type Subject } from "./rbac.js";
import type { K8sObject } from "./types.js";

const sa: Subject = { kind: "ServiceAccount", name: "app", namespace: "team-a" };

function graph(...objects: K8sObject[]): RbacGraph {
  const models: ModelObject[] = objects.map((o, i) => ({ key: `k${i}`, object: o, ref: refOf(o), origin: { kind: "file", file: "x.yaml" }, clusterId: null, locate: () => null }));
  return new RbacGraph(models);
}

function boundTo(role: string): K8sObject {
  return {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: { name: `app-${role}`, namespace: "team-a" },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role },
    subjects: [{ kind: "ServiceAccount", name: "app", namespace: "team-a" }],
  } as unknown as K8sObject;
}

const can = (g: RbacGraph, verb: string, group: string, resource: string): boolean => g.allowing(sa, verb, group, resource, "team-a").length > 0;

test("rbac built-ins: edit impersonates the namespace's service accounts and reads Secrets; view does neither", () => {
  const edit = graph(boundTo("edit"));
  assert.equal(can(edit, "impersonate", "", "serviceaccounts"), true);
  assert.equal(can(edit, "get", "", "secrets"), true);
  assert.equal(can(edit, "create", "", "pods/exec"), true);
  assert.equal(can(edit, "update", "coordination.k8s.io", "leases"), true);
  assert.equal(can(edit, "list", "", "namespaces"), true, "edit aggregates view");
  assert.equal(can(edit, "create", "rbac.authorization.k8s.io", "rolebindings"), false);
  assert.equal(can(edit, "impersonate", "", "users"), false);
  const view = graph(boundTo("view"));
  assert.equal(can(view, "impersonate", "", "serviceaccounts"), false);
  assert.equal(can(view, "get", "", "secrets"), false);
  assert.equal(can(view, "get", "", "pods/log"), true);
  assert.equal(can(view, "create", "", "pods"), false);
});

test("rbac built-ins: admin is edit plus Roles and RoleBindings", () => {
  const admin = graph(boundTo("admin"));
  assert.equal(can(admin, "create", "rbac.authorization.k8s.io", "rolebindings"), true);
  assert.equal(can(admin, "create", "authorization.k8s.io", "localsubjectaccessreviews"), true);
  assert.equal(can(admin, "impersonate", "", "serviceaccounts"), true);
  assert.equal(can(admin, "list", "apps", "controllerrevisions"), true);
});

test("rbac built-ins: a ClusterRole labelled aggregate-to-view reaches view, edit and admin, not the other way round", () => {
  const crd: K8sObject = {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRole",
    metadata: { name: "widgets-view", labels: { "rbac.authorization.k8s.io/aggregate-to-view": "true" } },
    rules: [{ apiGroups: ["example.com"], resources: ["widgets"], verbs: ["get"] }],
  } as unknown as K8sObject;
  const toEdit: K8sObject = {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRole",
    metadata: { name: "widgets-edit", labels: { "rbac.authorization.k8s.io/aggregate-to-edit": "true" } },
    rules: [{ apiGroups: ["example.com"], resources: ["widgets"], verbs: ["delete"] }],
  } as unknown as K8sObject;
  for (const role of ["view", "edit", "admin"]) assert.equal(can(graph(crd, toEdit, boundTo(role)), "get", "example.com", "widgets"), true, role);
  assert.equal(can(graph(crd, toEdit, boundTo("view")), "delete", "example.com", "widgets"), false);
  assert.equal(can(graph(crd, toEdit, boundTo("admin")), "delete", "example.com", "widgets"), true);
});
