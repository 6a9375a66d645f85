import { FLUX_KINDS } from "../../core/model-kinds.js";
import { GROUP, groupOf, path } from "../../core/flux.js";
import { defineRule } from "../../core/rule.js";
import { auditedObjects, describe, oncePerLine } from "../util.js";

const GROUPS = new Set<string>([GROUP.source, GROUP.kustomize, GROUP.helm, GROUP.image, GROUP.notification]);

export default defineRule({
  meta: {
    id: "reconciliation-suspended",
    title: "Suspended Flux object",
    severity: "info",
    threats: ["weakness-6-no-alerting"],
    summary: "a Flux object has spec.suspend: true",
    rationale:
      "A suspended Kustomization, HelmRelease or source is neither applied nor reported: drift and failures go unnoticed, and a suspended Alert forwards nothing. Suspension is a legitimate break-glass tool; left in Git it becomes a silent hole.",
    remediation: { text: "Resume it (remove spec.suspend) once the reason is gone, or delete the object.", snippet: `spec:\n  suspend: false` },
    references: ["https://fluxcd.io/flux/cmd/flux_suspend/"],
    reads: [...new Set<string>([...FLUX_KINDS])],
  },
  check({ model, report }) {
    const once = oncePerLine(report);
    for (const m of auditedObjects(model)) {
      if (!GROUPS.has(groupOf(m.object.apiVersion)) || path(m.object, "spec", "suspend") !== true) continue;
      const effect = m.object.kind === "Alert" || m.object.kind === "Provider" ? "its events are not forwarded" : "Flux neither applies nor reports it, so drift and failures go unnoticed";
      once({ object: m, pointer: "/spec/suspend", message: `${describe(m)} is suspended: ${effect}` });
    }
  },
});
