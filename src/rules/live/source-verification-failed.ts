import { asArray, asObject, asString, path as at } from "../../core/flux.js";
import { defineRule } from "../../core/rule.js";
import { describe } from "../util.js";

const VERIFY_REASONS = new Set(["InvalidCommitSignature", "InvalidTagSignature", "InvalidGitObject", "InvalidVerificationMode", "VerificationError"]);

export default defineRule({
  meta: {
    id: "source-verification-failed",
    reads: ["GitRepository", "OCIRepository"],
    title: "A source is failing signature verification right now",
    severity: "high",
    threats: ["adversary-1-malicious-commit", "weakness-2-unverified-commits"],
    summary: "a live GitRepository or OCIRepository reports SourceVerified=False: an unsigned or wrongly signed revision was pushed",
    rationale:
      "When verification fails, source-controller keeps serving the last verified artifact and the Kustomizations keep the last good revision; that is the defence working. But someone pushed a revision that is not signed by an allowed key: either a malicious commit (Adversary 1) or a signing key problem (the seed's 'GPG key expired' failure mode). Either way it needs a human now.",
    remediation: {
      text: "Find who pushed the revision; if it is legitimate, re-sign it with an allowed key (or rotate the keys Secret); if not, revert it and rotate the Git credentials.",
      snippet: `# what Flux saw:
kubectl -n flux-system get gitrepository flux-system -o jsonpath='{.status.conditions}'
# verify every commit since the last good revision:
fluxguard verify --repo . --keys allowed-signers/ --range <last-verified>..origin/main`,
    },
    references: ["https://fluxcd.io/flux/components/source/gitrepositories/#verification"],
    modes: ["cluster"],
  },
  check({ model, report }) {
    for (const m of model.objects) {
      if (m.object.kind !== "GitRepository" && m.object.kind !== "OCIRepository") continue;
      const conditions = asArray(at(m.object, "status", "conditions"));
      const verified = conditions.map(asObject).find((c) => c && asString(c["type"]) === "SourceVerified");
      const ready = conditions.map(asObject).find((c) => c && asString(c["type"]) === "Ready");
      const failed = (verified && asString(verified["status"]) === "False") || (ready && asString(ready["status"]) === "False" && VERIFY_REASONS.has(asString(ready["reason"]) ?? ""));
      if (!failed) continue;
      const c = verified && asString(verified["status"]) === "False" ? verified : ready!;
      report({
        object: m,
        pointer: "/status/conditions",
        message: `${describe(m)} is failing verification: ${asString(c["reason"]) ?? "unknown reason"}: ${(asString(c["message"]) ?? "").slice(0, 300)}`,
      });
    }
  },
});
