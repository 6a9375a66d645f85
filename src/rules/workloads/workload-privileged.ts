import { POD_KINDS, RECONCILER_KINDS } from "../../core/model-kinds.js";
import { defineRule } from "../../core/rule.js";
import type { Severity } from "../../core/types.js";
import { describe, oncePerLine, podSpecs, renderingReconciler, isAppliedContent } from "../util.js";
import { podPrivileges, type Privilege } from "./privilege.js";

export default defineRule({
  meta: {
    id: "workload-privileged",
    reads: [...new Set<string>([...POD_KINDS, ...RECONCILER_KINDS])],
    title: "Privileged workload in what Flux applies",
    severity: "critical",
    severityVaries: "critical for host-level privileges (privileged, host PID/IPC, node paths, dangerous capabilities) in a tenant's workload; high for other privileges there, or host-level ones the platform applies; medium for the platform's other privileges",
    threats: ["adversary-4-helm-values-injection", "adversary-3-kustomization-escalation", "weakness-4-unscoped-kustomization"],
    summary: "a Deployment, StatefulSet, DaemonSet, Job, CronJob or Pod that a Flux Kustomization renders is privileged, uses host namespaces, escalation, root, dangerous capabilities or hostPath",
    rationale:
      "A privileged container, the host's PID or IPC namespace, a hostPath of the node's root or runtime socket, or SYS_ADMIN is root on the node, and from there every Secret on it and often the cluster. Each workload is one finding listing all its privileges, at the severity of the worst. The check runs on the effective, rendered object, so an overlay patch that turns a hardened base privileged is caught at the patch that does it. Tenant Kustomizations are rated higher than platform ones: infrastructure such as CNI agents legitimately needs some of this, a team's application does not.",
    remediation: {
      text: "Remove the setting (or the overlay patch that adds it), run as a non-root user without added capabilities, and enforce the restricted Pod Security Standard on tenant namespaces.",
      snippet: `spec:
  template:
    spec:
      securityContext:
        runAsNonRoot: true
        seccompProfile:
          type: RuntimeDefault
      containers:
        - name: app
          securityContext:
            allowPrivilegeEscalation: false
            capabilities:
              drop: ["ALL"]
---
apiVersion: v1
kind: Namespace
metadata:
  name: payments
  labels:
    pod-security.kubernetes.io/enforce: restricted`,
    },
    references: ["https://kubernetes.io/docs/concepts/security/pod-security-standards/", "https://fluxcd.io/flux/security/best-practices/ (Node Isolation)"],
  },
  check({ model, report }) {
    const once = oncePerLine(report);
    for (const m of model.objects) {
      if (!isAppliedContent(m)) continue;
      const pods = podSpecs(m.object);
      if (pods.length === 0) continue;
      const r = renderingReconciler(model, m);
      const tenant = r?.tier === "tenant";
      for (const { pointer, spec } of pods) {
        // One workload, one finding: every privilege it has, at the severity of the worst.
        const privileges = podPrivileges(pointer, spec);
        if (privileges.length === 0) continue;
        const rank = (p: Privilege): number => (p.host ? 1 : 0);
        const worst = privileges.reduce((a, b) => (rank(b) > rank(a) ? b : a));
        const severity: Severity = tenant ? (worst.host ? "critical" : "high") : worst.host ? "high" : "medium";
        const setBy = privileges.map((p) => {
          const loc = m.locate(p.pointer);
          return loc && m.origin.file && loc.file !== m.origin.file ? loc.file : null;
        });
        const files = new Set(setBy);
        const oneFile = files.size === 1 ? setBy[0] : null;
        const items = privileges.map((p, i) => (files.size > 1 && setBy[i] ? `${p.what} (set by ${setBy[i]})` : p.what));
        const by = r ? ` (applied by ${describe(r.object)}, ${r.tier} tier${oneFile ? `, set by ${oneFile}` : ""})` : oneFile ? ` (set by ${oneFile})` : "";
        once({ object: m, pointer: worst.pointer, severity, message: `${describe(m)}: ${items.join("; ")}${by}` }, items.join("; "));
      }
    }
  },
});
