import { FLUX_KINDS, FLUX_VERSION_KINDS } from "../../core/model-kinds.js";
import { formatFluxVersion, olderThan, parseMinor } from "../../core/flux-version.js";
import { clusterOf, type FluxCluster, type ModelObject } from "../../core/model.js";
import { defineRule } from "../../core/rule.js";
import { auditedObjects, describe, isTemplated, oncePerLine } from "../util.js";
import { crdFor, FLUX_GROUPS, FLUX_MINOR, groupOf, migrationHint, removedIn, versionOf } from "./crds.js";
import { fieldPath, validate } from "./validate.js";

export default defineRule({
  meta: {
    id: "flux-api-removed",
    title: "Flux API version that current Flux no longer serves",
    severity: "high",
    severityVaries: "high when the Flux the cluster declares (else current Flux) no longer serves the version; low (upgrade debt) when the declared Flux still serves it and a later release removed it",
    threats: ["weakness-2-unverified-commits", "weakness-4-unscoped-kustomization", "weakness-6-no-alerting"],
    summary: "an object uses a Flux apiVersion the Flux 2.9 CRDs no longer serve (v1beta1/v1beta2 sources and Kustomizations, HelmRelease v2beta1/v2beta2, …); with a declared older Flux, what a later release removed is upgrade debt",
    rationale:
      "Flux v2.7 removed the v1beta1 APIs (source, kustomize, image, notification) and helm.toolkit.fluxcd.io/v2beta1; v2.8 removed source.toolkit.fluxcd.io/v1beta2, kustomize.toolkit.fluxcd.io/v1beta2 and helm.toolkit.fluxcd.io/v2beta2 from its CRDs; v2.9 removed the v1beta2 image and notification APIs. An object still written against them no longer applies: the server-side dry run of the whole Kustomization fails, so every hardening in it (verification, service accounts, alerts) silently stops being applied while the old objects stay in the cluster. The seed's HelmRelease is `helm.toolkit.fluxcd.io/v2beta2` and its ImagePolicy and ImageRepository are `image.toolkit.fluxcd.io/v1beta2`.",
    remediation: {
      text: "Move the object to the served version and make the field changes the finding lists; `flux migrate` rewrites manifests in a repository.",
      snippet: `apiVersion: helm.toolkit.fluxcd.io/v2          # was v2beta2 (removed in Flux v2.8)
kind: HelmRelease
---
apiVersion: image.toolkit.fluxcd.io/v1          # was v1beta2 (removed in Flux v2.9)
kind: ImagePolicy
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3   # Alert and Provider
kind: Alert`,
    },
    references: ["https://fluxcd.io/flux/cmd/flux_migrate/", "https://github.com/fluxcd/flux2/releases"],
    reads: [...new Set<string>([...FLUX_KINDS, ...FLUX_VERSION_KINDS])],
  },
  check({ model, report }) {
    const once = oncePerLine(report);
    // Upgrade debt, per cluster and apiVersion: removed after the Flux the cluster declares.
    const debt = new Map<string, { cluster: FluxCluster; apiVersion: string; removed: string; target: string; objects: ModelObject[] }>();
    for (const m of auditedObjects(model)) {
      if (m.origin.kind === "synthesized" && !m.key.startsWith("template:")) continue;
      const { apiVersion, kind } = m.object;
      if (!FLUX_GROUPS.has(groupOf(apiVersion)) || isTemplated(apiVersion)) continue;
      const crd = crdFor(apiVersion, kind);
      if (!crd || crd.versions[versionOf(apiVersion)] || !crd.storage) continue;
      const target = `${crd.group}/${crd.storage}`;
      const schema = crd.versions[crd.storage]!.schema;
      const changes = validate(m.object as never, schema, { isUnknown: isTemplated })
        .filter((v) => v.code === "unknown-field" || v.code === "type")
        .map((v) => {
          const hint = migrationHint(apiVersion, kind, v.pointer);
          if (hint) return `${fieldPath(v.pointer)}: ${hint}`;
          return v.code === "unknown-field" ? `${fieldPath(v.pointer)}: not in ${crd.storage}, remove or rename it` : v.message;
        });
      const removed = removedIn(apiVersion);
      const cluster = clusterOf(model, m);
      const declared = cluster?.fluxVersion ?? null;
      const removedMinor = removed ? parseMinor(removed) : null;
      if (declared && removedMinor && olderThan(declared.version, removedMinor.major, removedMinor.minor)) {
        const k = `${cluster!.id}|${apiVersion}`;
        const entry = debt.get(k) ?? { cluster: cluster!, apiVersion, removed: removed!, target, objects: [] };
        entry.objects.push(m);
        debt.set(k, entry);
        continue;
      }
      const judged = declared
        ? `Flux ${formatFluxVersion(declared.version)} (declared by ${declared.evidence.detail})`
        : `Flux ${FLUX_MINOR}`;
      once({
        object: m,
        pointer: "/apiVersion",
        message:
          `${describe(m)} uses ${apiVersion}, which ${judged} no longer serves${removed ? ` (removed in Flux ${removed})` : ""}: ` +
          `the apply fails and the Kustomization that holds it stops reconciling. Migrate to ${target}` +
          (changes.length ? `; field changes: ${changes.join("; ")}` : " (no field changes needed)") +
          (declared ? "" : ` (no Flux version is declared in the repository; judged against Flux ${FLUX_MINOR})`),
      });
    }
    for (const d of [...debt.values()].sort((a, b) => a.cluster.id.localeCompare(b.cluster.id) || a.apiVersion.localeCompare(b.apiVersion))) {
      const objects = [...d.objects].sort((a, b) => (a.origin.file ?? "").localeCompare(b.origin.file ?? "") || describe(a).localeCompare(describe(b)));
      const declared = d.cluster.fluxVersion!;
      const names = [...new Set(objects.map(describe))];
      report({
        object: objects[0]!,
        pointer: "/apiVersion",
        severity: "low",
        message:
          `upgrade debt: ${names.length} object(s) use ${d.apiVersion}, which Flux ${formatFluxVersion(declared.version)} (declared by ${declared.evidence.detail}) still serves but Flux ${d.removed} removed; ` +
          `migrate them to ${d.target} before upgrading to ${d.removed} or later: ${names.join(", ")}`,
      });
    }
  },
});
