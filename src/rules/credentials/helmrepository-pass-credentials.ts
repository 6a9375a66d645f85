import { SOURCE_USER_KINDS } from "../../core/model-kinds.js";
import { GROUP, path, str } from "../../core/flux.js";
import { defineRule } from "../../core/rule.js";
import { auditedObjects, describe, isFluxKind } from "../util.js";

export default defineRule({
  meta: {
    id: "helmrepository-pass-credentials",
    title: "Helm repository credentials passed to other hosts",
    severity: "medium",
    threats: ["adversary-2-credential-exfiltration", "weakness-3-git-credentials"],
    summary: "a HelmRepository with a secretRef sets passCredentials: true, so its credentials go to whatever host the index points chart URLs at",
    rationale:
      "`passCredentials: true` makes source-controller send the repository's credentials to hosts that do not match the repository URL, wherever the index.yaml says a chart lives. Whoever can change that index (a compromised repository, a CDN misconfiguration) can point a chart URL at their own server and collect the credentials.",
    remediation: {
      text: "Leave passCredentials off; if charts really live on another host, give that host its own HelmRepository and credentials.",
      snippet: `apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
spec:
  url: https://charts.example.com
  secretRef:
    name: charts-auth
  passCredentials: false`,
    },
    references: ["https://fluxcd.io/flux/components/source/helmrepositories/#pass-credentials"],
    reads: [...new Set<string>(["HelmRepository", ...SOURCE_USER_KINDS])],
  },
  check({ model, report }) {
    for (const m of auditedObjects(model)) {
      if (!isFluxKind(m, GROUP.source, "HelmRepository") || path(m.object, "spec", "passCredentials") !== true) continue;
      const secret = str(m.object, "spec", "secretRef", "name");
      if (!secret) continue;
      report({ object: m, pointer: "/spec/passCredentials", message: `${describe(m)} passes the credentials of Secret ${secret} to any host its index names, not only ${str(m.object, "spec", "url") ?? "its own"}` });
    }
  },
});
