import { asArray, asObject, asString, isHelmRelease, path, str } from "../../core/flux.js";
import { defineRule } from "../../core/rule.js";
import type { JsonValue, Severity } from "../../core/types.js";
import { parseYamlValue } from "../../loader/yaml.js";
import { auditedObjects, describe, isTemplated, oncePerLine, reconcilerOf } from "../util.js";
import { valuesPrivileges } from "../workloads/privilege.js";

export default defineRule({
  meta: {
    id: "helmrelease-privileged-values",
    title: "HelmRelease values that make workloads privileged",
    severity: "high",
    threats: ["adversary-4-helm-values-injection"],
    summary: "HelmRelease values (inline, or from a ConfigMap in the repository) enable privileged, host namespaces, privilege escalation, root, dangerous capabilities or hostPath",
    rationale:
      "Helm values are where Adversary 4 lives: one line such as `securityContext.privileged: true` in a values file, and the chart renders a container that owns the node. fluxguard cannot render the chart, so it looks anywhere in the values tree (and in `valuesFrom` ConfigMaps it can see) for the settings charts pass through to pod specs. HelmReleases reconciled by tenants are rated higher than platform ones.",
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
