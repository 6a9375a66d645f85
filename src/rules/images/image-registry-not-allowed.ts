import { POD_KINDS, RECONCILER_KINDS } from "../../core/model-kinds.js";
import { GROUP, isFluxDistributionImage, isFluxInstance, str } from "../../core/flux.js";
import type { ModelObject } from "../../core/model.js";
import { defineRule } from "../../core/rule.js";
import { auditedObjects, containersOf, describe, isFluxKind, isTemplated, oncePerLine, parseImage, podSpecs, isAppliedContent } from "../util.js";

/** `ghcr.io/example` → `ghcr.io/example`; `library/nginx` → `docker.io/library/nginx`. */
function normalizePrefix(prefix: string): string {
  const p = prefix.trim().replace(/\/+$/, "");
  const first = p.split("/")[0]!;
  const isHost = first.includes(".") || first.includes(":") || first === "localhost";
  return isHost ? p.replace(/^(index\.docker\.io|registry-1\.docker\.io)(?=\/|$)/, "docker.io") : `docker.io/${p}`;
}

export function allowedBy(image: string, prefixes: readonly string[]): boolean {
  const ref = parseImage(image);
  const full = `${ref.registry}/${ref.repository}`;
  return prefixes.some((p) => full === p || full.startsWith(`${p}/`) || ref.registry === p);
}

export default defineRule({
  meta: {
    id: "image-registry-not-allowed",
    // Applied content (inventories, the applying reconciler), pod specs, unexpanded ResourceSets' templates, and whether a FluxInstance exists (its message).
    reads: [...new Set<string>(["ImageRepository", "ResourceSet", ...POD_KINDS, ...RECONCILER_KINDS])],
    title: "Image from a registry outside allowedRegistries",
    severity: "high",
    severityVaries: "high for workload and automation images; low, once per audit, for Flux's own controller images from the Flux distribution",
    threats: ["adversary-5-image-automation", "adversary-1-malicious-commit"],
    summary: "an ImageRepository, or a workload image in rendered content, comes from a registry not in the config's allowedRegistries (only when that list is set)",
    rationale:
      "Image automation follows whatever registry an ImageRepository names, and a workload runs whatever its image reference points at. Restricting both to registries you control (and scan, and sign into) keeps Adversary 5's 'registry compromise' to registries you watch. fluxguard only checks this when `.fluxguard.yaml` sets `allowedRegistries`. Flux's own controller Deployments running images from the Flux distribution (ghcr.io/fluxcd, docker.io/fluxcd, ghcr.io/controlplaneio-fluxcd) are not what the list is for: they give one low finding for the whole install, with the `--registry` mirror advice. A Flux-named Deployment running any other image is reported like a workload.",
    remediation: {
      text: "Mirror the image into an allowed registry, or add the registry to allowedRegistries after review; enforce the same list at admission.",
      snippet: `# .fluxguard.yaml
allowedRegistries:
  - registry.internal.example.com
  - ghcr.io/example`,
    },
    references: ["https://fluxcd.io/flux/components/image/imagerepositories/", "https://kyverno.io/policies/best-practices/restrict-image-registries/restrict-image-registries/"],
  },
  check({ model, config, report }) {
    if (!config.allowedRegistries) return;
    const allowed = config.allowedRegistries.map(normalizePrefix);
    const list = config.allowedRegistries.join(", ");
    const report1 = oncePerLine(report);
    const once = (m: ModelObject, pointer: string, image: string, what: string): void => {
      if (isTemplated(image) || allowedBy(image, allowed)) return;
      report1({ object: m, pointer, message: `${describe(m)} ${what} ${image}, from ${parseImage(image).registry}, which is not in allowedRegistries (${list})` }, image);
    };
    // Flux's own controllers: one low finding for the whole install, not one per Deployment.
    const fluxImages: Array<{ m: ModelObject; pointer: string; image: string }> = [];
    for (const m of auditedObjects(model)) {
      if (isFluxKind(m, GROUP.image, "ImageRepository")) {
        const image = str(m.object, "spec", "image");
        if (image) once(m, "/spec/image", image, "scans");
        continue;
      }
      if (!isAppliedContent(m)) continue;
      for (const { pointer, spec } of podSpecs(m.object)) {
        for (const { pointer: cp, container } of containersOf(pointer, spec)) {
          const image = container["image"];
          if (typeof image !== "string") continue;
          const ref = parseImage(image);
          if (m.object.kind === "Deployment" && isFluxDistributionImage(m.object.metadata.name, `${ref.registry}/${ref.repository}`)) {
            if (!isTemplated(image) && !allowedBy(image, allowed)) fluxImages.push({ m, pointer: `${cp}/image`, image });
            continue;
          }
          once(m, `${cp}/image`, image, "runs");
        }
      }
    }
    if (fluxImages.length > 0) {
      const names = [...new Set(fluxImages.map((f) => f.m.object.metadata.name))].sort();
      const registries = [...new Set(fluxImages.map((f) => { const r = parseImage(f.image); return r.repository.includes("/") ? `${r.registry}/${r.repository.slice(0, r.repository.lastIndexOf("/"))}` : r.registry; }))].sort();
      const operator = model.objects.some((o) => isFluxInstance(o.object)) || names.includes("flux-operator");
      report({
        object: fluxImages[0]!.m,
        pointer: fluxImages[0]!.pointer,
        severity: "low",
        related: fluxImages.slice(1).map((f) => f.m),
        message: `Flux's own controller images (${names.join(", ")}) come from the Flux distribution (${registries.join(", ")}), which is not in allowedRegistries (${list}); allowedRegistries is meant for workload and automation images, so this is reported once: to pull Flux from your own registry, mirror its images and install with \`flux install --registry <mirror>\` (or \`flux bootstrap --registry\`)${operator ? ", or set FluxInstance spec.distribution.registry" : ""}, then add the mirror to allowedRegistries`,
      });
    }
  },
});
