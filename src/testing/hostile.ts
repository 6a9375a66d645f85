/**
 * Builders for hostile-input tests: a minimal Flux bootstrap fleet with a Kustomization `evil`
 * that renders ./apps/evil (what a pull request controls), in a fresh temporary directory.
 * Mirrors the reproductions of issue 11; tests never read /work/shared.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

export const GOTK_SYNC = `apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: flux-system
  namespace: flux-system
spec:
  interval: 1m
  url: ssh://git@github.com/example/fleet
  ref:
    branch: main
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: flux-system
  namespace: flux-system
spec:
  interval: 10m
  path: ./clusters/prod
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
`;

/** A Flux Kustomization named `name` in flux-system that applies `path` from the fleet's own source. */
export function fluxKustomization(name: string, path: string, extra = ""): string {
  return `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: ${name}
  namespace: flux-system
spec:
  interval: 10m
  path: ${JSON.stringify(path)}
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
${extra}`;
}

export const INNOCENT_CM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: innocent\n  namespace: default\ndata:\n  a: b\n";

/** A ClusterRoleBinding granting cluster-admin, named `name`. */
export function crb(name: string, ns = "default"): string {
  return `apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: ${name}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}\nsubjects: [{kind: ServiceAccount, name: default, namespace: ${ns}}]\n`;
}

/** Writes files (path → text or bytes) under dir. */
export function writeTree(dir: string, files: Record<string, string | Buffer>): void {
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
}

/** A fresh temporary directory (`fg-hostile-*`) holding `t/` (the fleet) and room beside it. */
export function hostileDir(): string {
  return mkdtempSync(join(tmpdir(), "fg-hostile-"));
}

/** The minimal fleet at `root`, plus `extra` files (which may replace the defaults). */
export function mkfleet(root: string, extra: Record<string, string | Buffer> = {}): string {
  writeTree(root, {
    "clusters/prod/flux-system/gotk-sync.yaml": GOTK_SYNC,
    "clusters/prod/flux-system/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - gotk-sync.yaml\n",
    "clusters/prod/evil.yaml": fluxKustomization("evil", "./apps/evil"),
    "apps/evil/cm.yaml": INNOCENT_CM,
    ...extra,
  });
  return root;
}
