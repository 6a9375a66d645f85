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
      "An HTTPS credential for Git is usually a personal or bot token: it reaches every repository its owner can, it can often push, and it rarely expires. Whoever reads it from the Flux namespace (Adversary 2) gets all of that. A read-only SSH deploy key reaches one repository and cannot write; `provider: github` uses a GitHub App installation token that is short-lived and scoped to the repositories the App is installed on.",
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
  },
  check({ model, report }) {
    for (const m of auditedObjects(model)) {
      if (!isFluxKind(m, GROUP.source, "GitRepository")) continue;
      const obj = effectiveSource(model, m);
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
        message: `${describe(m)} authenticates to ${url.replace(/\/\/[^@/]*@/, "//***@")} with ${what} from Secret ${ns}/${secret}: such tokens usually reach every repository of their owner and can push; use a read-only SSH deploy key or provider: github`,
      });
    }
  },
});
