/**
 * The fixes `fluxguard fix` applies: only those that are safe and certain. Each works on a
 * parsed `yaml` Document in place (so comments, key order and scalar styles survive) and
 * says what it did; what it cannot settle it reports and leaves alone.
 */
import { isMap, isScalar, isSeq, Pair, Scalar, stringify, YAMLMap, YAMLSeq, type Document } from "yaml";
import { anchorPattern, isAnchored } from "../generate/semver.js";
import type { Threat } from "../core/types.js";
import { addArgPatch, controllersPattern, LOCKDOWN_FLAGS } from "../core/flux.js";

export interface Change {
  /** Stable id of the fix, e.g. `remove-force`. */
  fix: string;
  /** `Kind namespace/name`. */
  object: string;
  message: string;
  threats: Threat[];
}

export interface Todo {
  object: string;
  message: string;
}

export interface DocContext {
  changes: Change[];
  /** What the user must still do because of a fix (create a Secret...). */
  todos: Todo[];
  /** Problems the fixer saw but left alone. */
  leftAlone: Todo[];
}

/** Removed API versions and their current replacements (FLUX-FACTS.md §5). */
export const MIGRATIONS: Record<string, { kinds: string[]; from: string[]; to: string | Record<string, string> }> = {
  "source.toolkit.fluxcd.io": { kinds: ["GitRepository", "HelmRepository", "HelmChart", "Bucket", "OCIRepository"], from: ["v1beta1", "v1beta2"], to: "v1" },
  "kustomize.toolkit.fluxcd.io": { kinds: ["Kustomization"], from: ["v1beta1", "v1beta2"], to: "v1" },
  "helm.toolkit.fluxcd.io": { kinds: ["HelmRelease"], from: ["v2beta1", "v2beta2"], to: "v2" },
  "image.toolkit.fluxcd.io": { kinds: ["ImageRepository", "ImagePolicy", "ImageUpdateAutomation"], from: ["v1alpha1", "v1alpha2", "v1beta1", "v1beta2"], to: "v1" },
  "notification.toolkit.fluxcd.io": { kinds: ["Alert", "Provider", "Receiver"], from: ["v1beta1", "v1beta2"], to: { Alert: "v1beta3", Provider: "v1beta3", Receiver: "v1" } },
};

const LOCKDOWN_TEXT = Object.fromEntries(
  LOCKDOWN_FLAGS.map((l) => [l.flag, { flag: `--${l.flag}=${l.value}`, target: controllersPattern(l.controllers) }]),
) as Record<(typeof LOCKDOWN_FLAGS)[number]["flag"], { flag: string; target: string }>;

function str(node: unknown): string | undefined {
  if (isScalar(node) && typeof node.value === "string") return node.value;
  return typeof node === "string" ? node : undefined;
}

function getMap(m: YAMLMap, key: string): YAMLMap | undefined {
  const v = m.get(key, true);
  return isMap(v) ? v : undefined;
}

function pairIndex(m: YAMLMap, key: string): number {
  return m.items.findIndex((p) => (isScalar(p.key) ? p.key.value : p.key) === key);
}

/** Inserts a key after the first of `after` that exists, else at the end. */
function insertAfter(doc: Document, m: YAMLMap, key: string, value: unknown, after: readonly string[], comment?: string): void {
  const keyNode = new Scalar(key);
  if (comment) keyNode.commentBefore = comment;
  const pair = new Pair(keyNode, doc.createNode(value));
  let idx = -1;
  for (const a of after) {
    idx = pairIndex(m, a);
    if (idx >= 0) break;
  }
  if (idx < 0) m.items.push(pair);
  else m.items.splice(idx + 1, 0, pair);
}

export function describeObject(m: YAMLMap): string {
  const md = getMap(m, "metadata");
  const name = md ? str(md.get("name", true)) : undefined;
  const ns = md ? str(md.get("namespace", true)) : undefined;
  return `${str(m.get("kind", true)) ?? "?"} ${ns ? `${ns}/` : ""}${name ?? "?"}`;
}

/** Converts kustomize's removed patch lists into `patches` entries. */
function convertPatchLists(doc: Document, owner: YAMLMap, ctx: DocContext, object: string, where: string): boolean {
  const smp = owner.get("patchesStrategicMerge", true);
  const j6902 = owner.get("patchesJson6902", true);
  if (smp === undefined && j6902 === undefined) return true;
  const converted: unknown[] = [];
  if (smp !== undefined) {
    if (!isSeq(smp)) return false;
    for (const item of smp.items) {
      const v = (item as { toJSON?: () => unknown }).toJSON?.() ?? item;
      if (typeof v === "string") converted.push({ patch: v });
      else if (v !== null && typeof v === "object") converted.push({ patch: stringify(v, { lineWidth: 0 }) });
      else return false;
    }
  }
  if (j6902 !== undefined) {
    if (!isSeq(j6902)) return false;
    for (const item of j6902.items) {
      const v = (item as { toJSON?: () => unknown }).toJSON?.() as { target?: unknown; patch?: unknown } | undefined;
      if (!v || typeof v !== "object" || v.target === undefined || v.patch === undefined) return false;
      converted.push({ patch: typeof v.patch === "string" ? v.patch : stringify(v.patch, { lineWidth: 0 }), target: v.target });
    }
  }
  const existing = owner.get("patches", true);
  if (existing !== undefined && !isSeq(existing)) return false;
  const seq = existing ?? new YAMLSeq();
  for (const c of converted) (seq as YAMLSeq).items.push(doc.createNode(c));
  if (existing === undefined) owner.set("patches", seq);
  owner.delete("patchesStrategicMerge");
  owner.delete("patchesJson6902");
  ctx.changes.push({
    fix: "migrate-api",
    object,
    message: `${where}patchesStrategicMerge/patchesJson6902 (removed) rewritten as ${where}patches`,
    threats: [],
  });
  return true;
}

/** Field renames the removed versions need before the new version accepts the object. */
function migrateFields(doc: Document, root: YAMLMap, kind: string, ctx: DocContext, object: string): boolean {
  const spec = getMap(root, "spec");
  if (!spec) return true;
  if (kind === "GitRepository") {
    if (spec.has("accessFrom")) {
      ctx.leftAlone.push({ object, message: "not migrated: spec.accessFrom has no equivalent in GitRepository v1; remove it, then run fix again" });
      return false;
    }
    if (spec.has("gitImplementation")) {
      spec.delete("gitImplementation");
      ctx.changes.push({ fix: "migrate-api", object, message: "spec.gitImplementation (removed; Flux uses go-git only) deleted", threats: [] });
    }
  }
  if (kind === "HelmChart") {
    if (!valuesFileToFiles(doc, spec, ctx, object, "spec.")) return false;
  }
  if (kind === "Kustomization") {
    if (spec.has("validation")) {
      spec.delete("validation");
      ctx.changes.push({ fix: "migrate-api", object, message: "spec.validation (removed; Flux always validates server-side) deleted", threats: [] });
    }
    if (!convertPatchLists(doc, spec, ctx, object, "spec.")) {
      ctx.leftAlone.push({ object, message: "not migrated: spec.patchesStrategicMerge/patchesJson6902 could not be converted to spec.patches" });
      return false;
    }
  }
  if (kind === "HelmRelease") {
    const chartSpec = getMap(getMap(spec, "chart") ?? new YAMLMap(), "spec");
    if (chartSpec && !valuesFileToFiles(doc, chartSpec, ctx, object, "spec.chart.spec.")) return false;
    const pr = spec.get("postRenderers", true);
    if (isSeq(pr)) {
      for (const item of pr.items) {
        const k = isMap(item) ? getMap(item, "kustomize") : undefined;
        if (k && !convertPatchLists(doc, k, ctx, object, "spec.postRenderers[].kustomize.")) {
          ctx.leftAlone.push({ object, message: "not migrated: postRenderers kustomize patch lists could not be converted" });
          return false;
        }
      }
    }
  }
  return true;
}

function valuesFileToFiles(doc: Document, m: YAMLMap, ctx: DocContext, object: string, where: string): boolean {
  const vf = m.get("valuesFile", true);
  if (vf === undefined) return true;
  const file = str(vf);
  if (file === undefined) return false;
  const existing = m.get("valuesFiles", true);
  if (existing !== undefined && !isSeq(existing)) return false;
  if (existing === undefined) insertAfter(doc, m, "valuesFiles", [file], ["valuesFile"]);
  else if (!existing.items.some((i) => str(i) === file)) existing.items.unshift(doc.createNode(file));
  m.delete("valuesFile");
  ctx.changes.push({ fix: "migrate-api", object, message: `${where}valuesFile (removed) moved into ${where}valuesFiles`, threats: [] });
  return true;
}

function migrate(doc: Document, root: YAMLMap, ctx: DocContext): void {
  const api = str(root.get("apiVersion", true));
  const kind = str(root.get("kind", true));
  if (!api || !kind) return;
  const slash = api.indexOf("/");
  const group = api.slice(0, slash);
  const version = api.slice(slash + 1);
  const m = MIGRATIONS[group];
  if (!m || !m.kinds.includes(kind) || !m.from.includes(version)) return;
  const to = typeof m.to === "string" ? m.to : m.to[kind];
  if (!to) return;
  const object = describeObject(root);
  if (!migrateFields(doc, root, kind, ctx, object)) return;
  const node = root.get("apiVersion", true);
  if (isScalar(node)) node.value = `${group}/${to}`;
  else root.set("apiVersion", `${group}/${to}`);
  ctx.changes.push({ fix: "migrate-api", object, message: `${api} (removed from Flux) → ${group}/${to}`, threats: [] });
}

function fixKustomization(doc: Document, root: YAMLMap, ctx: DocContext): void {
  const spec = getMap(root, "spec");
  if (!spec) return;
  const object = describeObject(root);
  const force = spec.get("force", true);
  if (isScalar(force) && force.value === true) {
    spec.delete("force");
    ctx.changes.push({
      fix: "remove-force",
      object,
      message: "spec.force: true removed: force recreates objects it cannot patch, including ones another owner holds",
      threats: ["adversary-3-kustomization-escalation"],
    });
  }
  const prune = spec.get("prune", true);
  if (prune === undefined) {
    insertAfter(doc, spec, "prune", true, ["path", "interval"]);
    ctx.changes.push({
      fix: "add-prune",
      object,
      message: "spec.prune: true added: objects removed from Git are removed from the cluster (prune is required in v1)",
      threats: ["weakness-4-unscoped-kustomization"],
    });
  } else if (isScalar(prune) && prune.value === false) {
    ctx.leftAlone.push({ object, message: "spec.prune: false is explicit; objects deleted from Git stay in the cluster" });
  }
  const md = getMap(root, "metadata");
  const isPlatformSync = md !== undefined && str(md.get("name", true)) === "flux-system";
  if (!spec.has("serviceAccountName") && !isPlatformSync) {
    ctx.leftAlone.push({ object, message: "no spec.serviceAccountName: fluxguard cannot know which account it should run as (weakness-4-unscoped-kustomization)" });
  }
}

function fixImagePolicy(root: YAMLMap, ctx: DocContext): void {
  const ft = getMap(getMap(root, "spec") ?? new YAMLMap(), "filterTags");
  if (!ft) return;
  const node = ft.get("pattern", true);
  const pattern = str(node);
  if (pattern === undefined || pattern === "" || isAnchored(pattern)) return;
  const anchored = anchorPattern(pattern);
  if (isScalar(node)) node.value = anchored;
  else ft.set("pattern", anchored);
  ctx.changes.push({
    fix: "anchor-filter-tags",
    object: describeObject(root),
    message: `spec.filterTags.pattern '${pattern}' anchored as '${anchored}': an unanchored pattern also matches tags like 'v1.2.3-evil'`,
    threats: ["adversary-5-image-automation"],
  });
}

export function placeholderSecretName(repoName: string): string {
  return `${repoName}-signing-keys`;
}

function fixGitRepository(doc: Document, root: YAMLMap, ctx: DocContext): void {
  const spec = getMap(root, "spec");
  if (!spec || spec.has("verify")) return;
  if (str(root.get("apiVersion", true)) !== "source.toolkit.fluxcd.io/v1") {
    ctx.leftAlone.push({ object: describeObject(root), message: "no spec.verify, and not added: migrate the GitRepository to source.toolkit.fluxcd.io/v1 first" });
    return;
  }
  const md = getMap(root, "metadata");
  const name = md ? str(md.get("name", true)) : undefined;
  if (!name) return;
  const ns = md ? (str(md.get("namespace", true)) ?? "<its namespace>") : "<its namespace>";
  const secret = placeholderSecretName(name);
  const object = describeObject(root);
  insertAfter(
    doc,
    spec,
    "verify",
    { mode: "HEAD", secretRef: { name: secret } },
    ["url", "secretRef", "ref", "interval"],
    ` fluxguard fix: placeholder. Create Secret ${ns}/${secret} with the trusted signers' public keys\n (<name>.asc for PGP, <name>.sshpub for SSH) before this syncs, or it stops at the next commit.`,
  );
  ctx.changes.push({
    fix: "add-verify",
    object,
    message: `spec.verify added (mode HEAD) naming placeholder Secret ${secret}, which you must create`,
    threats: ["adversary-1-malicious-commit", "weakness-2-unverified-commits"],
  });
  ctx.todos.push({
    object,
    message: `create Secret ${ns}/${secret} with the signers' public keys: kubectl create secret generic ${secret} -n ${ns} --from-file=<signer>.asc=<key.asc> (or <signer>.sshpub=<key.pub>); every commit on the tracked branch must be signed by one of them`,
  });
}

/** Applies every object-level fix to one parsed document. */
export function fixObjectDocument(doc: Document, ctx: DocContext): void {
  const root = doc.contents;
  if (!isMap(root)) return;
  const md = getMap(root, "metadata");
  if (!str(root.get("kind", true)) || !str(root.get("apiVersion", true)) || !md || !str(md.get("name", true))) return;
  migrate(doc, root, ctx);
  const api = str(root.get("apiVersion", true))!;
  const kind = str(root.get("kind", true))!;
  const group = api.split("/")[0];
  if (group === "kustomize.toolkit.fluxcd.io" && kind === "Kustomization") fixKustomization(doc, root, ctx);
  if (group === "image.toolkit.fluxcd.io" && kind === "ImagePolicy") fixImagePolicy(root, ctx);
  if (group === "source.toolkit.fluxcd.io" && kind === "GitRepository") fixGitRepository(doc, root, ctx);
  if (group === "fluxcd.controlplane.io" && kind === "FluxInstance") {
    const cluster = getMap(getMap(root, "spec") ?? new YAMLMap(), "cluster");
    const mt = cluster?.get("multitenant", true);
    if (!(isScalar(mt) && mt.value === true)) {
      ctx.leftAlone.push({ object: describeObject(root), message: "spec.cluster.multitenant is not true; set it (and tenantDefaultServiceAccount) to lock Flux down (weakness-4-unscoped-kustomization)" });
    }
  }
}

/** A kustomize config that installs Flux: its `resources` include gotk-components.yaml. */
export function isFluxSystemKustomization(doc: Document): boolean {
  const root = doc.contents;
  if (!isMap(root)) return false;
  const api = str(root.get("apiVersion", true));
  if (api !== undefined && !api.startsWith("kustomize.config.k8s.io/")) return false;
  const res = root.get("resources", true);
  return isSeq(res) && res.items.some((i) => /(^|\/)gotk-components\.ya?ml$/.test(str(i) ?? ""));
}

/** Adds the multi-tenancy lockdown patches a flux-system kustomization.yaml lacks. */
export function fixFluxSystemKustomization(doc: Document, file: string, ctx: DocContext): void {
  const root = doc.contents as YAMLMap;
  const existing = root.get("patches", true);
  if (existing !== undefined && !isSeq(existing)) {
    ctx.leftAlone.push({ object: file, message: "patches is not a list; add the lockdown patches by hand" });
    return;
  }
  const text = JSON.stringify(existing?.toJSON() ?? []);
  const seq = existing ?? new YAMLSeq();
  const added: string[] = [];
  for (const [name, l] of Object.entries(LOCKDOWN_TEXT)) {
    if (text.includes(`--${name}`)) continue;
    const node = doc.createNode({ patch: addArgPatch(l.flag), target: { kind: "Deployment", name: l.target } });
    if (added.length === 0) node.commentBefore = " fluxguard fix: Flux multi-tenancy lockdown (https://fluxcd.io/flux/installation/configuration/multitenancy/)";
    seq.items.push(node);
    added.push(l.flag);
  }
  if (!/\/spec\/serviceAccountName/.test(text)) {
    seq.items.push(
      doc.createNode({
        patch: "- op: add\n  path: /spec/serviceAccountName\n  value: kustomize-controller\n",
        target: { kind: "Kustomization", name: "flux-system" },
      }),
    );
    added.push("serviceAccountName: kustomize-controller on the flux-system Kustomization");
  }
  if (added.length === 0) return;
  if (existing === undefined) root.set("patches", seq);
  ctx.changes.push({
    fix: "add-lockdown",
    object: file,
    message: `multi-tenancy lockdown patches added: ${added.join(", ")}`,
    threats: ["weakness-4-unscoped-kustomization", "adversary-3-kustomization-escalation", "weakness-1-cluster-admin"],
  });
  if (added.includes(LOCKDOWN_TEXT["default-service-account"].flag)) {
    ctx.todos.push({
      object: file,
      message: "Kustomizations and HelmReleases without spec.serviceAccountName now run as the 'default' service account of their namespace, which has no rights: give each one a service account before you push",
    });
  }
}
