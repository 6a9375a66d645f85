import { asArray, asObject } from "../../core/flux.js";
import { pointer } from "../../core/pointer.js";
import { defineRule } from "../../core/rule.js";
import type { JsonObject } from "../../core/types.js";
import { describe } from "../util.js";
import { generatorEntries, isCriticalKey, secretEntries } from "./secrets.js";

export default defineRule({
  meta: {
    id: "plaintext-secret-in-git",
    title: "Secret in plain text in Git",
    severity: "critical",
    severityVaries: "critical when the clear values look like Git or registry credentials; high otherwise",
    threats: ["adversary-2-credential-exfiltration", "weakness-3-git-credentials"],
    summary: "a Secret with data or stringData that is not SOPS-encrypted, or a kustomize secretGenerator with plain-text literals, files or envs (sops metadata without ENC[...] values is plain text)",
    rationale:
      "Everything in the repository is readable by everyone who can clone it, forever: history keeps a value after it is deleted. Flux decrypts SOPS-encrypted Secrets (and secretGenerator inputs) at apply time with `spec.decryption`, so nothing needs to be in Git in the clear. Git deploy keys, tokens and registry credentials in plain text are Adversary 2 without even touching the cluster. What is encrypted is a value (`ENC[...]`), not a file with a `sops:` block: sops writes its metadata even when the creation rule's `encrypted_regex` selects no key (a Helm values file under the Secret rule `^(data|stringData)$` has neither key), and then everything stays in the clear. A file with some `ENC[...]` values is judged by the credential-named keys it leaves in the clear. A substitution expression is no hiding place either: Flux applies the literal of `${VAR:=literal}` (and of `${VAR=…}`, `${VAR:-…}`, `${VAR:?…}`, `${VAR:+…}`) whenever VAR is unset, so that literal is a value in Git.",
    remediation: {
      text: "Encrypt with SOPS (age or a KMS) and set `spec.decryption` on the Kustomization, or keep the value out of Git with External Secrets; rotate any credential that was committed in the clear.",
      snippet: `# .sops.yaml
creation_rules:
  - path_regex: .*\\.sops\\.yaml$
    encrypted_regex: ^(data|stringData)$
    age: age1...
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
spec:
  decryption:
    provider: sops
    secretRef:
      name: sops-age`,
    },
    references: ["https://fluxcd.io/flux/guides/mozilla-sops/", "https://fluxcd.io/flux/security/best-practices/ (Secret Decryption)"],
    modes: ["files"],
  },
  check({ model, report }) {
    for (const m of model.fileObjects) {
      if (m.object.kind !== "Secret" || m.object.apiVersion !== "v1") continue;
      const o = m.object as unknown as JsonObject;
      const plain = secretEntries(o).filter((e) => e.plaintext);
      if (plain.length === 0) continue;
      const critical = plain.some((e) => isCriticalKey(e.key));
      const meta = asObject(o["sops"]);
      const selector = meta ? ["encrypted_regex", "encrypted_suffix", "unencrypted_regex", "unencrypted_suffix"].find((k) => typeof meta[k] === "string") : undefined;
      const sops = meta === undefined ? "" : `, although the file has sops metadata${selector ? ` (its ${selector} ${String(meta![selector])} leaves them in the clear)` : ""}`;
      const defaults = plain.filter((e) => e.substitutionDefault).map((e) => e.key);
      const viaDefault = defaults.length ? `; ${defaults.join(", ")} ${defaults.length === 1 ? "is a" : "are"} \${VAR:=literal} default${defaults.length === 1 ? "" : "s"}, which Flux applies whenever the variable is unset` : "";
      report({
        object: m,
        pointer: pointer(plain[0]!.field, plain[0]!.key),
        severity: critical ? "critical" : "high",
        message: `${describe(m)} holds ${plain.length} value(s) in plain text in Git (key(s): ${plain.map((e) => e.key).join(", ")})${sops}${viaDefault}${critical ? "; they look like Git or registry credentials" : ""}`,
      });
    }
    for (const kf of model.kustomizeFiles) {
      asArray(kf.config["secretGenerator"]).forEach((g, i) => {
        const gen = asObject(g);
        if (!gen) return;
        const plain = generatorEntries(gen, kf.readInput?.bind(kf)).filter((e) => e.plaintext === true);
        if (plain.length === 0) return;
        const critical = plain.some((e) => isCriticalKey(e.key));
        const notes = [...new Set(plain.flatMap((e) => (e.note ? [e.note] : [])))];
        report({
          file: kf,
          pointer: `/secretGenerator/${i}${plain[0]!.pointer}`,
          severity: critical ? "critical" : "high",
          message: `secretGenerator ${typeof gen["name"] === "string" ? gen["name"] : `#${i}`} in ${kf.file} takes ${plain.length} value(s) from plain text in Git (key(s): ${[...new Set(plain.map((e) => e.key))].join(", ")})${critical ? "; they look like Git or registry credentials" : ""}${notes.length ? `; ${notes.join("; ")}` : ""}`,
        });
      });
    }
  },
});
