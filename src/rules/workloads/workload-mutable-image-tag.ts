import { POD_KINDS, RECONCILER_KINDS } from "../../core/model-kinds.js";
import { asArray, path, str } from "../../core/flux.js";
import type { FleetModel, ModelObject } from "../../core/model.js";
import { defineRule, type Report } from "../../core/rule.js";
import type { SourceLocation } from "../../core/types.js";
import { containersOf, describe, isTemplated, oncePerLine, parseImage, podSpecs, renderingReconciler, isAppliedContent } from "../util.js";

/**
 * Where an image was set by a kustomize `images` entry (a kustomization file's, or the Flux
 * Kustomization's own `spec.images`), so the finding points at the transformer, not the base.
 */
function imagesEntry(model: FleetModel, m: ModelObject, image: string): SourceLocation | null {
  const patched = m.origin.patchedBy ?? [];
  if (patched.length === 0) return null;
  const { registry, repository } = parseImage(image);
  const matches = (entry: unknown): boolean => {
    const name = str(entry, "newName") ?? str(entry, "name");
    if (!name) return false;
    const ref = parseImage(name);
    return ref.registry === registry && ref.repository === repository;
  };
  for (const kf of model.kustomizeFiles) {
    if (!patched.includes(kf.file)) continue;
    const i = asArray(kf.config["images"]).findIndex(matches);
    if (i >= 0) return kf.locate(`/images/${i}`);
  }
  if (patched.includes("flux")) {
    const r = renderingReconciler(model, m);
    const i = asArray(path(r?.object.object, "spec", "images")).findIndex(matches);
    if (r && i >= 0) return r.object.locate(`/spec/images/${i}`);
  }
  return null;
}

export default defineRule({
  meta: {
    id: "workload-mutable-image-tag",
    reads: [...new Set<string>([...POD_KINDS, ...RECONCILER_KINDS])],
    title: "Workload image without a fixed version",
    severity: "medium",
    threats: ["adversary-5-image-automation", "adversary-1-malicious-commit"],
    summary: "a rendered workload's image is `:latest` or has no tag (kustomize `images` transformers included)",
    rationale:
      "`:latest` (or no tag, which means latest) is whatever the registry serves at pull time: Git no longer says what runs, a node restart can change the workload, and anyone who can push the tag (Adversary 5) deploys without a commit. A version tag, better a digest, keeps the deployed image in review.",
    remediation: {
      text: "Pin a version tag or a digest, in the manifest or in the kustomize `images` entry; let image automation update it through Git if it should move.",
      snippet: `images:
  - name: ghcr.io/example/payments-api
    newTag: 1.4.2
    digest: sha256:...   # optional, strongest`,
    },
    references: ["https://kubernetes.io/docs/concepts/containers/images/#image-names", "https://fluxcd.io/flux/guides/image-update/"],
  },
  check({ model, report }) {
    const once = oncePerLine(report);
    for (const m of model.objects) {
      if (!isAppliedContent(m)) continue;
      for (const { pointer, spec } of podSpecs(m.object)) {
        for (const { pointer: cp, container } of containersOf(pointer, spec)) {
          const image = container["image"];
          if (typeof image !== "string" || image === "" || isTemplated(image)) continue;
          const ref = parseImage(image);
          if (ref.digest || (ref.tag !== null && ref.tag !== "latest")) continue;
          const at = imagesEntry(model, m, image);
          const r: Report & { object: ModelObject; pointer: string } = {
            object: m,
            pointer: `${cp}/image`,
            message: `${describe(m)} runs ${image}${ref.tag === null ? " with no tag (latest)" : ""}: the registry, not Git, decides what runs`,
          };
          if (at) r.location = at;
          once(r, image);
        }
      }
    }
  },
});
