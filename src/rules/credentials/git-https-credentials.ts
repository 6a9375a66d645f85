import { SOURCE_USER_KINDS } from "../../core/model-kinds.js";
import { GROUP, str } from "../../core/flux.js";
import { defineRule } from "../../core/rule.js";
import { auditedObjects, describe, isFluxKind, isTemplated } from "../util.js";
import { effectiveSource } from "../source/usage.js";
import { secretKeys } from "./secrets.js";

export default defineRule({
  meta: {
    id: "git-https-credentials",
    title: "Git over HTTPS with a token",
    severity: "medium",
    threats: ["adversary-2-credential-exfiltration", "weakness-3-git-credentials"],
    summary: "an HTTPS GitRepository authenticates with a secretRef (a token or password) instead of a read-only deploy key or a GitHub App",
    rationale:
      "An HTTPS credential for Git is often a personal or bot token: a classic one reaches every repository its owner can, can push, and rarely expires; a fine-grained or project token may be limited to one repository and read-only. fluxguard sees only the Secret's key names, not the token's scope, so it says what to check. Whoever reads it from the Flux namespace (Adversary 2) gets whatever it grants. A read-only SSH deploy key reaches one repository and cannot write; `provider: github` uses a GitHub App installation token that is short-lived and scoped to the repositories the App is installed on.",
    remediation: {
      text: "Use an SSH URL with a read-only deploy key (and known_hosts), or `provider: github` with a GitHub App Secret.",
      snippet: `apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
spec:
  url: ssh://git@github.com/example/payments-manifests
  secretRef:
    name: payments-deploy-key   # identity, identity.pub, known_hosts
# or, on GitHub:
#  url: https://github.com/example/payments-manifests
#  provider: github
#  secretRef:
#    name: github-app           # githubAppID, githubAppInstallationID, githubAppPrivateKey`,
    },
    references: ["https://fluxcd.io/flux/components/source/gitrepositories/#secret-reference", "https://fluxcd.io/flux/components/source/gitrepositories/#provider"],
    reads: [...new Set<string>(["GitRepository", "Secret", ...SOURCE_USER_KINDS])],
  },
  check({ model, report }) {
    for (const m of auditedObjects(model)) {
      if (!isFluxKind(m, GROUP.source, "GitRepository")) continue;
      const obj = effectiveSource(m);
      const url = str(obj, "spec", "url");
      const secret = str(obj, "spec", "secretRef", "name");
      if (!url || !secret || isTemplated(url) || !/^https:\/\//i.test(url)) continue;
      if (str(obj, "spec", "provider") && str(obj, "spec", "provider") !== "generic") continue;
      const ns = m.object.metadata.namespace ?? "default";
      const keys = secretKeys(model, ns, secret, m)?.keys ?? [];
      if (keys.some((k) => /^githubApp/.test(k))) {
        report({ object: m, pointer: "/spec/secretRef", message: `${describe(m)} has a GitHub App Secret ${ns}/${secret} but no provider: github, so source-controller does not use the App` });
        continue;
      }
      const what = keys.includes("bearerToken") ? "a bearer token" : keys.includes("password") ? "a username and password (a token)" : "a credential (token)";
      report({
        object: m,
        pointer: "/spec/secretRef",
        message: `${describe(m)} authenticates to ${url.replace(/\/\/[^@/]*@/, "//***@")} with ${what} from Secret ${ns}/${secret}; fluxguard cannot see what the token may do: check that it is read-only and scoped to this repository (a fine-grained personal access token, a project or deploy token), not a classic token that reaches every repository of its owner and can push; a read-only SSH deploy key or provider: github avoids the question`,
      });
    }
  },
});
