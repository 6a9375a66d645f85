import { SOURCE_USER_KINDS } from "../../core/model-kinds.js";
import { GROUP, str } from "../../core/flux.js";
import { defineRule } from "../../core/rule.js";
import { auditedObjects, describe, isFluxKind, isTemplated } from "../util.js";
import { effectiveSource } from "../source/usage.js";
import { secretKeys } from "./secrets.js";

export default defineRule({
  meta: {
    id: "ssh-known-hosts-missing",
    title: "SSH Git credentials without known_hosts",
    severity: "medium",
    threats: ["adversary-2-credential-exfiltration", "weakness-3-git-credentials"],
    summary: "an SSH GitRepository's credential Secret (in the repository, SOPS-encrypted counts) has no known_hosts key",
    rationale:
      "source-controller authenticates SSH only against a pinned host key: fluxcd/pkg refuses SSH auth options without `known_hosts` ('known_hosts' is required), so this source cannot fetch. The usual 'fix' under pressure is an unverified `ssh-keyscan` from wherever the operator happens to be, which pins whatever answered; pin keys obtained out of band instead.",
    remediation: {
      text: "Add a known_hosts entry with the Git server's host keys, checked against the provider's published fingerprints.",
      snippet: `apiVersion: v1
kind: Secret
metadata:
  name: payments-deploy-key
stringData:                    # SOPS-encrypted in Git
  identity: ENC[...]
  known_hosts: github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl`,
    },
    references: ["https://fluxcd.io/flux/components/source/gitrepositories/#ssh-authentication", "https://docs.github.com/en/authentication/keeping-your-account-and-data-secure/githubs-ssh-key-fingerprints"],
    reads: [...new Set<string>(["GitRepository", "Secret", ...SOURCE_USER_KINDS])],
  },
  check({ model, report }) {
    for (const m of auditedObjects(model)) {
      if (!isFluxKind(m, GROUP.source, "GitRepository")) continue;
      const obj = effectiveSource(m);
      const url = str(obj, "spec", "url");
      const secret = str(obj, "spec", "secretRef", "name");
      if (!url || !secret || isTemplated(url) || !/^(ssh:\/\/|[^/:@]+@[^/:]+:)/i.test(url)) continue;
      const ns = m.object.metadata.namespace ?? "default";
      const found = secretKeys(model, ns, secret, m);
      if (!found || found.keys.length === 0 || found.keys.includes("known_hosts")) continue;
      report({
        object: m,
        pointer: "/spec/secretRef",
        related: found.where ? [found.where] : [],
        message: `${describe(m)} connects over SSH with Secret ${ns}/${secret}, which has no known_hosts key (keys: ${found.keys.join(", ")}): source-controller refuses SSH without a pinned host key`,
      });
    }
  },
});
