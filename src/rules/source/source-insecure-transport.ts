import { SOURCE_USER_KINDS } from "../../core/model-kinds.js";
import { asObject, GROUP, path, str } from "../../core/flux.js";
import { defineRule } from "../../core/rule.js";
import { sourceVerification } from "../../core/verification.js";
import { auditedObjects, describe, isFluxKind, isTemplated } from "../util.js";
import { effectiveSource, isApplied, usersOf } from "./usage.js";

/** Where each kind keeps its address. */
const URL_FIELD: Record<string, string> = {
  GitRepository: "url",
  HelmRepository: "url",
  OCIRepository: "url",
  Bucket: "endpoint",
  ImageRepository: "image",
};

export default defineRule({
  meta: {
    id: "source-insecure-transport",
    title: "Source fetched over plain HTTP or without TLS",
    severity: "high",
    severityVaries: "high when credentials travel in the clear or an unverified source is applied; medium otherwise",
    threats: ["adversary-1-malicious-commit", "adversary-2-credential-exfiltration", "weakness-3-git-credentials"],
    summary: "an http:// or git:// URL, or insecure: true, on a GitRepository, HelmRepository, OCIRepository, Bucket or ImageRepository",
    rationale:
      "Without TLS anyone on the path can read the credentials Flux sends and replace what it fetches: manifests, charts, artifacts, or the tag list image automation picks from. Signature verification still catches tampered Git commits and OCI artifacts, but not the credential exposure, and nothing protects unverified content.",
    remediation: {
      text: "Use https://, ssh:// or oci:// over TLS and drop `insecure: true`; for a private CA, give the source a certSecretRef.",
      snippet: `spec:
  url: https://charts.example.com
  certSecretRef:
    name: internal-ca      # ca.crt`,
    },
    references: ["https://fluxcd.io/flux/components/source/", "https://fluxcd.io/flux/components/image/imagerepositories/"],
    reads: [...new Set<string>(["GitRepository", "OCIRepository", "HelmRepository", "Bucket", "ImageRepository", "Secret", ...SOURCE_USER_KINDS])],
  },
  check({ model, report }) {
    for (const m of auditedObjects(model)) {
      const kind = m.object.kind;
      const group = kind === "ImageRepository" ? GROUP.image : GROUP.source;
      const field = URL_FIELD[kind];
      if (!field || !isFluxKind(m, group, kind)) continue;
      const obj = effectiveSource(m);
      const addr = str(obj, "spec", field);
      const plain = addr !== undefined && addr !== "" && !isTemplated(addr) && /^(http|git):\/\//i.test(addr);
      const insecure = path(obj, "spec", "insecure") === true;
      if (!plain && !insecure) continue;
      const creds = asObject(path(obj, "spec", "secretRef")) !== undefined;
      const verification = sourceVerification(model, m);
      const verified = verification?.state === "verified";
      const unseen = verification?.state === "not-assessed" ? verification.problems[0] : undefined;
      const applied = kind === "ImageRepository" || isApplied(usersOf(model, m));
      const severity = creds || (applied && !verified) ? "high" : "medium";
      const consequence = creds ? "its credentials (secretRef) travel in clear text" : verified ? "signatures still protect the content, but not its confidentiality" : unseen ? `whether signatures protect the content was not assessed (${unseen})` : "anyone on the path can replace what Flux fetches";
      if (plain) {
        report({ object: m, pointer: `/spec/${field}`, severity, message: `${describe(m)} fetches from ${addr.replace(/\/\/[^@/]*@/, "//***@")} without TLS: ${consequence}` });
      }
      if (insecure) {
        report({ object: m, pointer: "/spec/insecure", severity, message: `${describe(m)} sets insecure: true (plain HTTP): ${consequence}` });
      }
    }
  },
});
