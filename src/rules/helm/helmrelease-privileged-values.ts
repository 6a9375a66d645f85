import { RECONCILER_KINDS } from "../../core/model-kinds.js";
import { asArray, asObject, asString, isHelmRelease, path, str } from "../../core/flux.js";
import { POST_RENDER_STAND_IN } from "../../core/model.js";
import { defineRule } from "../../core/rule.js";
import type { JsonValue, K8sObject, Severity } from "../../core/types.js";
import { parseYamlValue } from "../../loader/yaml.js";
import { auditedObjects, containersOf, describe, isTemplated, oncePerLine, podSpecs, reconcilerOf } from "../util.js";
import { podPrivileges, valuesPrivileges } from "../workloads/privilege.js";

/**
 * What a post-renderer patch put on the stand-ins (src/core/model.ts PostRendered): privileged
 * settings (as in values), and a service account or image the chart did not choose.
 * `host` is null when nothing privileged is set, else whether any setting is host-level.
 */
function postRenderFindings(objects: readonly K8sObject[]): { items: string[]; host: boolean | null; kinds: string } {
  const items: string[] = [];
  let host: boolean | null = null;
  const add = (what: string): void => {
    const w = what.replace(new RegExp(`container ${POST_RENDER_STAND_IN.container}\\b`, "g"), "the chart's first container");
    if (!items.includes(w)) items.push(w);
  };
  for (const o of objects) {
    for (const { pointer, spec } of podSpecs(o)) {
      for (const p of podPrivileges(pointer, spec)) {
        add(p.what);
        host = (host ?? false) || p.host;
      }
      const sa = spec["serviceAccountName"] ?? spec["serviceAccount"];
      if (typeof sa === "string" && sa !== "" && sa !== "default") add(`sets serviceAccountName ${sa}`);
      for (const { container } of containersOf(pointer, spec)) {
        const name = typeof container["name"] === "string" ? container["name"] : "?";
        const image = typeof container["image"] === "string" ? container["image"] : null;
        // A named container without an image merges into the chart's container of that name.
        if (name !== POST_RENDER_STAND_IN.container) {
          if (image) add(`adds or re-images container ${name} (image ${image})`);
        }
        else if (image && image !== POST_RENDER_STAND_IN.image) add(`sets the chart's first container's image to ${image}`);
      }
    }
  }
  const kinds = [...new Set(objects.map((o) => o.kind))];
  return { items, host, kinds: kinds.length === 1 ? `${kinds[0]}${objects[0] && objects[0].metadata.name !== "target" ? ` ${objects[0].metadata.name}` : ""}` : kinds.join(", ") };
}

export default defineRule({
  meta: {
    id: "helmrelease-privileged-values",
    title: "HelmRelease values that make workloads privileged",
    severity: "critical",
    severityVaries: "critical for host-level settings in a tenant's HelmRelease; high for its other settings, or host-level ones in a platform HelmRelease; medium for a platform HelmRelease's other settings",
    threats: ["adversary-4-helm-values-injection"],
    summary: "HelmRelease values (inline, or from a ConfigMap in the repository) or post-renderer patches enable privileged, host namespaces, privilege escalation, root, dangerous capabilities or hostPath (post-renderers: also another service account or image)",
    rationale:
      "Helm values are where Adversary 4 lives: one line such as `securityContext.privileged: true` in a values file, and the chart renders a container that owns the node. fluxguard cannot render the chart, so it looks anywhere in the values tree (and in `valuesFrom` ConfigMaps it can see) for the settings charts pass through to pod specs. HelmReleases reconciled by tenants are rated higher than platform ones. Post-renderers (`spec.postRenderers[].kustomize`: `patches`, `images`, and the older `patchesStrategicMerge`/`patchesJson6902`) change what the chart deploys after the values are applied, so a patch that sets privileged, a host namespace, a hostPath, an added capability, root, a service account or another image is judged like the same setting in values. fluxguard does not render the chart: kustomize applies each patch to a stand-in of every workload kind it targets, and what the stand-in carries afterwards is what the patch imposes; a patch kustomize refuses is not assessed.",
    remediation: {
      text: "Remove the value, or move the release to the platform tier with a reviewed exception; enforce the restricted Pod Security Standard in tenant namespaces so a value cannot override it.",
      snippet: `spec:
  values:
    securityContext:
      runAsNonRoot: true
      runAsUser: 65534
    containerSecurityContext:
      allowPrivilegeEscalation: false
      privileged: false
      capabilities:
        drop: ["ALL"]`,
    },
    references: ["https://kubernetes.io/docs/concepts/security/pod-security-standards/", "https://fluxcd.io/flux/components/helm/helmreleases/#values"],
    reads: [...new Set<string>(["HelmRelease", "ConfigMap", "Secret", "ResourceSet", ...RECONCILER_KINDS])],
  },
  check({ model, report }) {
    const once = oncePerLine(report);
    for (const m of auditedObjects(model)) {
      if (!isHelmRelease(m.object)) continue;
      const tenant = reconcilerOf(model, m)?.tier === "tenant";
      const sev = (host: boolean): Severity => (tenant ? (host ? "critical" : "high") : host ? "high" : "medium");
      for (const p of valuesPrivileges(path(m.object, "spec", "values"), "/spec/values")) {
        once({ object: m, pointer: p.pointer, severity: sev(p.host), message: `${describe(m)} values set ${p.what.replace(/^spec\.values\./, "")}` });
      }
      // Post-renderers: what their patches impose on the chart's workloads (src/loader/postrender.ts).
      for (const pr of (model.postRendered ?? []).filter((x) => x.release === m)) {
        if (pr.image) {
          once({ object: m, pointer: pr.pointer, severity: tenant ? "medium" : "low", message: `${describe(m)}: its post-renderer replaces image ${pr.image.name} with ${pr.image.to} in the chart's output` });
          continue;
        }
        const found = postRenderFindings(pr.objects);
        if (found.items.length === 0) continue;
        const severity: Severity = found.host !== null ? sev(found.host) : tenant ? "medium" : "low";
        once({ object: m, pointer: pr.pointer, severity, message: `${describe(m)}: its post-renderer patch changes the chart's ${found.kinds}: ${found.items.join("; ")}` });
      }
      // valuesFrom ConfigMaps that are in the repository.
      const ns = m.object.metadata.namespace ?? "default";
      asArray(path(m.object, "spec", "valuesFrom")).forEach((ref) => {
        if (str(ref, "kind") !== "ConfigMap") return;
        const name = str(ref, "name");
        if (!name || isTemplated(name)) return;
        const key = str(ref, "valuesKey") ?? "values.yaml";
        const cm = model.objects.find(
          (o) => o.object.kind === "ConfigMap" && o.clusterId === m.clusterId && (o.object.metadata.namespace ?? ns) === ns && (o.object.metadata.name === name || new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}-[a-z0-9]{10}$`).test(o.object.metadata.name)),
        );
        const text = cm ? asString(asObject(cm.object["data"] as JsonValue)?.[key]) : undefined;
        if (!cm || text === undefined) return;
        let values: JsonValue;
        try {
          const parsed = parseYamlValue(text);
          if (parsed === undefined) return;
          values = str(ref, "targetPath") ? { [str(ref, "targetPath")!]: parsed } : parsed;
        } catch {
          return;
        }
        // The pointer continues into the values document, so a generated ConfigMap's finding
        // is located in the values file itself (without targetPath, which is not in the file).
        const keyPointer = `/data/${key.replace(/~/g, "~0").replace(/\//g, "~1")}`;
        for (const p of valuesPrivileges(values, "")) {
          once({ object: cm, pointer: str(ref, "targetPath") ? keyPointer : `${keyPointer}${p.pointer}`, severity: sev(p.host), message: `${describe(cm)} (values of ${describe(m)}, key ${key}) sets ${p.what}` }, p.pointer);
        }
      });
    }
  },
});
