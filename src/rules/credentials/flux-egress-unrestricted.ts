import { CONTROLLER_KINDS } from "../../core/model-kinds.js";
import { asArray, asObject, path, str } from "../../core/flux.js";
import type { FluxCluster, ModelObject } from "../../core/model.js";
import { selectorMatches } from "../../core/rbac.js";
import { defineRule } from "../../core/rule.js";
import type { JsonObject, JsonValue } from "../../core/types.js";
import { checkedClusters, describe } from "../util.js";

interface Verdict {
  policy: ModelObject;
  /** "open": some rule allows all egress; "wide": any public address is allowed (on some ports). */
  kind: "open" | "wide" | "tight";
  pointer: string;
  detail: string;
  /** Flux's own policies: a partial measure (ingress), rated lower than nothing at all. */
  fluxDefault?: boolean;
}

function ports(rule: JsonObject): string {
  const ps = asArray(rule["ports"]).map((p) => String(path(p, "port") ?? "all")).filter(Boolean);
  return ps.length ? `port(s) ${ps.join(", ")}` : "every port";
}

/** How much egress a NetworkPolicy (networking.k8s.io or Cilium) lets the selected pods have. */
function judge(p: ModelObject): Verdict | null {
  const spec = asObject(p.object["spec"] as JsonValue) ?? {};
  if (p.object.kind === "NetworkPolicy") {
    const types = asArray(spec["policyTypes"]).filter((t): t is string => typeof t === "string");
    const egress = asArray(spec["egress"]);
    if (!(types.includes("Egress") || (types.length === 0 && spec["egress"] !== undefined))) return null;
    let wide: Verdict | null = null;
    for (const [i, r] of egress.entries()) {
      const rule = asObject(r) ?? {};
      const to = asArray(rule["to"]);
      if (to.length === 0 && asArray(rule["ports"]).length === 0) {
        // Flux's own allow-egress (flux bootstrap --network-policy, FluxInstance networkPolicy) isolates ingress only.
        const fluxDefault = p.object.metadata.name === "allow-egress" && types.includes("Ingress");
        return { policy: p, kind: "open", pointer: `/spec/egress/${i}`, detail: `${describe(p)} allows all egress (an empty rule${fluxDefault ? "; this is Flux's default policy, which isolates ingress only" : ""})`, fluxDefault };
      }
      if (wide) continue;
      if (to.length === 0) wide = { policy: p, kind: "wide", pointer: `/spec/egress/${i}`, detail: `${describe(p)} allows egress to any address on ${ports(rule)}` };
      for (const t of to) {
        const cidr = str(t, "ipBlock", "cidr");
        if (!wide && (cidr === "0.0.0.0/0" || cidr === "::/0")) {
          const except = asArray(path(t, "ipBlock", "except")).length;
          wide = { policy: p, kind: "wide", pointer: `/spec/egress/${i}`, detail: `${describe(p)} allows egress to any ${except ? "public " : ""}address (${cidr}${except ? " minus private ranges" : ""}) on ${ports(rule)}` };
        }
      }
    }
    if (wide) return wide;
    return { policy: p, kind: "tight", pointer: "/spec/egress", detail: "" };
  }
  // CiliumNetworkPolicy
  const egress = asArray(spec["egress"]);
  if (egress.length === 0 && spec["egressDeny"] === undefined) return null;
  for (const [i, r] of egress.entries()) {
    const rule = asObject(r) ?? {};
    const entities = asArray(rule["toEntities"]).filter((e): e is string => typeof e === "string");
    const cidrs = [...asArray(rule["toCIDR"]), ...asArray(rule["toCIDRSet"]).map((c) => str(c, "cidr") ?? "")];
    if (entities.includes("all") || entities.includes("world") || cidrs.includes("0.0.0.0/0")) {
      return { policy: p, kind: rule["toPorts"] === undefined ? "open" : "wide", pointer: `/spec/egress/${i}`, detail: `${describe(p)} allows egress to ${entities.length ? `entity ${entities.join(", ")}` : "0.0.0.0/0"}` };
    }
  }
  return { policy: p, kind: "tight", pointer: "/spec/egress", detail: "" };
}

function sourceControllerLabels(cluster: FluxCluster): Record<string, string> {
  const d = cluster.controllers.get("source-controller")?.object.object;
  const labels = asObject(path(d, "spec", "template", "metadata", "labels"));
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels ?? {})) if (typeof v === "string") out[k] = v;
  return Object.keys(out).length ? out : { app: "source-controller" };
}

export default defineRule({
  meta: {
    id: "flux-egress-unrestricted",
    reads: [...new Set<string>(["NetworkPolicy", "CiliumNetworkPolicy", ...CONTROLLER_KINDS])],
    title: "Flux can reach any address on the network",
    severity: "medium",
    severityVaries: "medium when source-controller's egress is unrestricted; low for Flux's own default policy or a partial restriction",
    threats: ["adversary-2-credential-exfiltration", "weakness-3-git-credentials"],
    summary: "no NetworkPolicy restricts egress from source-controller in the Flux namespace (Flux's own policies allow all egress)",
    rationale:
      "source-controller holds every Git deploy key and token and fetches from URLs that tenants and developers choose. With unrestricted egress, a compromised controller, a malicious source URL or a poisoned chart hook can send credentials and manifests anywhere. `flux bootstrap --network-policy` and the Flux Operator's `networkPolicy: true` install `allow-egress`, whose `egress: [{}]` allows all egress: they isolate ingress only, so fluxguard rates them low rather than medium. The seed's Step 3 policy allows 0.0.0.0/0 minus private ranges on 22 and 443, which blocks the cluster network but not exfiltration to any public host.",
    remediation: {
      text: "Add an egress NetworkPolicy for source-controller that allows DNS, the API server and your Git and registry hosts only (CIDRs, or FQDN rules with Cilium), next to Flux's own policies.",
      snippet: `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: source-controller-egress
  namespace: flux-system
spec:
  podSelector:
    matchLabels:
      app: source-controller
  policyTypes: [Egress]
  egress:
    - to:                       # your Git server(s) only
        - ipBlock:
            cidr: 140.82.112.0/20   # github.com (see api.github.com/meta)
      ports:
        - port: 22
    - to:
        - namespaceSelector: {}
          podSelector:
            matchLabels:
              k8s-app: kube-dns
      ports:
        - port: 53
          protocol: UDP`,
    },
    references: ["https://fluxcd.io/flux/security/best-practices/ (Network Isolation)", "https://github.com/fluxcd/flux2/blob/main/manifests/policies/allow-egress.yaml"],
    aggregate: true,
  },
  check({ model, report }) {
    for (const cluster of checkedClusters(model)) {
      // Without a cluster entrypoint fluxguard cannot say what is deployed with Flux: it judges the policies it sees, but not their absence.
      const anchor = cluster.fluxInstance ?? cluster.controllers.get("source-controller")?.object ?? cluster.entrypoint;
      if (!anchor && cluster.id !== "(unattached)") continue;
      const ns = cluster.fluxNamespace;
      const labels = sourceControllerLabels(cluster);
      const pool = model.objects.filter((m) => m.clusterId === cluster.id || m.clusterId === "(unattached)");
      const verdicts = pool
        .filter((m) => (m.object.kind === "NetworkPolicy" && m.object.apiVersion.startsWith("networking.k8s.io/")) || m.object.kind === "CiliumNetworkPolicy")
        .filter((m) => (m.object.metadata.namespace ?? ns) === ns)
        .filter((m) => selectorMatches(path(m.object, "spec", m.object.kind === "NetworkPolicy" ? "podSelector" : "endpointSelector"), labels))
        .map(judge)
        .filter((v): v is Verdict => v !== null);
      const open = verdicts.find((v) => v.kind === "open" && !v.fluxDefault) ?? verdicts.find((v) => v.kind === "open");
      const own = verdicts.find((v) => v.kind !== "open");
      const wide = verdicts.find((v) => v.kind === "wide");
      const instNP = cluster.fluxInstance ? path(cluster.fluxInstance.object, "spec", "cluster", "networkPolicy") : undefined;
      const fluxDefault = cluster.fluxInstance && instNP !== false ? " (the FluxInstance's networkPolicy installs allow-egress, which allows all egress)" : "";
      if (open) {
        // NetworkPolicies add up: one that allows everything makes every restriction moot.
        const moot = own ? `; ${describe(own.policy)} restricts nothing while it exists, because NetworkPolicies add up` : "";
        report({ object: open.policy, pointer: open.pointer, severity: open.fluxDefault && !own ? "low" : "medium", message: `egress from source-controller in ${ns} is unrestricted: ${open.detail}${moot}` });
      } else if (wide) {
        report({ object: wide.policy, pointer: wide.pointer, severity: "low", message: `egress from source-controller in ${ns} is only partly restricted: ${wide.detail}, so credentials can still leave to any public host` });
      } else if (verdicts.length === 0 && anchor) {
        const where = cluster.fluxInstance ? { object: cluster.fluxInstance, pointer: instNP === undefined ? "/spec/cluster" : "/spec/cluster/networkPolicy" } : { object: anchor, pointer: "" };
        report({ ...where, severity: fluxDefault ? "low" : "medium", message: `no NetworkPolicy restricts egress from source-controller in ${ns}${fluxDefault}: the controller holding the Git credentials can reach any address` });
      }
    }
  },
});
