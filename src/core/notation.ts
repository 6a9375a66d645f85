/**
 * Notation trust policies (Notary Project `trustpolicy.json`, version 1.0) judged for one
 * artifact, defined once. Followed: notaryproject/notation-go `verifier/trustpolicy`
 * (policy selection: a registry scope equal to the artifact's repository, else the `*`
 * policy; levels strict, permissive, audit and skip; per-check overrides) and Flux's
 * OCIRepository/HelmChart `verify.provider: notation`, whose `secretRef` Secret holds the
 * CA certificates (`.pem`/`.crt`) and `trustpolicy.json` (FLUX-FACTS.md §1.3).
 */
import { asArray, asObject, asString } from "./flux.js";
import type { JsonValue } from "./types.js";

/** What one trust policy does for the artifact, and why it is weak (empty when it is not). */
export interface NotationVerdict {
  /** The policy that applies to the artifact, or null when none does. */
  policy: string | null;
  /** `strict`, `permissive`, `audit`, `skip` (or what the file says). */
  level: string | null;
  /** Weaknesses in words, for messages; never a secret value. */
  problems: string[];
  /**
   * Whether an artifact whose signature is not by a trusted identity is refused. False at level
   * `skip` (source-controller's notation verifier returns "ignored": the artifact is used, never
   * marked verified), at level `audit` and with an `authenticity` override of `log` or `skip`
   * (a failed authenticity check is logged and the result is "ignored"). True otherwise,
   * including when no policy applies or the policy is broken (notation then fails closed).
   */
  enforcesAuthenticity: boolean;
}

/** Notary Project trust policy 1.0: the authenticity action each level takes by default. */
const AUTHENTICITY_BY_LEVEL: Record<string, string> = { strict: "enforce", permissive: "enforce", audit: "log", skip: "skip" };

/** `oci://registry/ns/repo:tag` or `registry/ns/repo@sha256:…` → `registry/ns/repo`. */
export function ociRepositoryOf(url: string): string {
  const u = url.trim().replace(/^oci:\/\//, "");
  const at = u.indexOf("@");
  const noDigest = at >= 0 ? u.slice(0, at) : u;
  const slash = noDigest.lastIndexOf("/");
  const colon = noDigest.lastIndexOf(":");
  return colon > slash ? noDigest.slice(0, colon) : noDigest;
}

const WEAK_LEVEL: Record<string, string> = {
  skip: "signatureVerification level skip: notation fetches no signature and verifies nothing",
  audit: "signatureVerification level audit: a signature by an untrusted identity is only logged, and the artifact is used",
  permissive: "signatureVerification level permissive: expiry and revocation failures are only logged",
};

/**
 * Judges a `trustpolicy.json` for an artifact repository (`registry/ns/repo`, null when
 * unknown: then the `*` policy or the only policy is judged). `certificates` is how many CA
 * certificates (`.pem`/`.crt` keys) the Secret holds, or null when unknown. Returns null when
 * the text is not a trust policy document (not assessed), never throws.
 */
export function judgeTrustPolicy(text: string, artifact: string | null, certificates: number | null): NotationVerdict | null {
  let doc: JsonValue;
  try {
    doc = JSON.parse(text) as JsonValue;
  } catch {
    return null;
  }
  if (!asObject(doc) || !Array.isArray(asObject(doc)!["trustPolicies"])) return null;
  const policies = asArray(asObject(doc)!["trustPolicies"]).flatMap((p) => (asObject(p) ? [asObject(p)!] : []));
  const scopes = (p: (typeof policies)[number]): string[] => asArray(p["registryScopes"]).filter((s): s is string => typeof s === "string");
  const exact = artifact ? policies.find((p) => scopes(p).includes(artifact)) : undefined;
  const wildcard = policies.find((p) => scopes(p).includes("*"));
  const chosen = exact ?? wildcard ?? (artifact === null && policies.length === 1 ? policies[0] : undefined);
  if (!chosen) {
    return {
      policy: null,
      level: null,
      problems: [`no trust policy's registryScopes cover ${artifact ?? "the artifact"} (${policies.length} polic${policies.length === 1 ? "y" : "ies"}, scopes ${policies.flatMap(scopes).join(", ") || "none"})`],
      enforcesAuthenticity: true,
    };
  }
  const name = asString(chosen["name"]) ?? "(unnamed)";
  const sv = asObject(chosen["signatureVerification"]) ?? {};
  const level = asString(sv["level"]) ?? null;
  const problems: string[] = [];
  const override = asObject(sv["override"]) ?? {};
  const authenticity = level === "skip" ? "skip" : (asString(override["authenticity"]) ?? AUTHENTICITY_BY_LEVEL[level ?? ""] ?? "enforce");
  // Level audit with authenticity overridden to enforce is as strong as permissive.
  if (level === "audit" && authenticity === "enforce") problems.push(WEAK_LEVEL["permissive"]!.replace("level permissive", "level audit with authenticity enforced"));
  else if (level && WEAK_LEVEL[level]) problems.push(WEAK_LEVEL[level]!);
  if (level !== "skip") {
    for (const check of ["integrity", "authenticity"]) {
      const action = asString(override[check]);
      if (action === "log" || action === "skip") problems.push(`signatureVerification override ${check}: ${action}, so a failed ${check} check does not reject the artifact`);
    }
    const stores = asArray(chosen["trustStores"]).filter((s) => typeof s === "string");
    if (stores.length === 0) problems.push("trustStores is empty: no certificate is trusted");
    else if (certificates === 0) problems.push("the Secret holds no .pem or .crt certificate: the trust store is empty");
  }
  return { policy: name, level, problems: problems.map((p) => `trust policy ${name}, ${p}`), enforcesAuthenticity: authenticity === "enforce" };
}
