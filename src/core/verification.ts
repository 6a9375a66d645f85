/**
 * Whether Flux verifies a source's signatures, defined once for every rule, the posture and
 * the webhook. Followed: source-controller's verifiers (`spec.verify` on GitRepository,
 * OCIRepository, HelmChart; helm-controller copies a HelmRelease's `spec.chart.spec.verify`
 * into the HelmChart it creates) and FLUX-FACTS.md §1.2–1.3:
 * - cosign with a `secretRef` verifies against the `.pub` keys in that Secret;
 * - keyless cosign verifies against `matchOIDCIdentity` (none, or one whose subject or issuer
 *   matches anything, accepts a signature from anyone's Sigstore identity);
 * - notation is what its trust policy (`trustpolicy.json` in the `secretRef` Secret) makes it:
 *   source-controller's notation verifier returns "ignored", never "verified", at level `skip`
 *   and when a failed authenticity check is only logged (level `audit`, or an `authenticity`
 *   override), and the artifact is then used (src/core/notation.ts judges the policy);
 * - GitRepository verification (OpenPGP / SSH keys in `secretRef`) refuses an unsigned commit.
 */
import { asArray, asObject, asString, GROUP, groupOf, isTemplated, path, str } from "./flux.js";
import type { FleetModel, ModelObject } from "./model.js";
import { judgeTrustPolicy, ociRepositoryOf } from "./notation.js";
import type { JsonObject } from "./types.js";

/**
 * - `verified`: Flux refuses an artifact or commit that no trusted key or identity signed
 *   (`problems` may still name weaknesses, e.g. an unanchored identity or a permissive policy);
 * - `unverified`: no `verify`, or a `verify` that lets an artifact signed by no one trusted
 *   through (notation `skip`/`audit`, keyless cosign that matches any identity);
 * - `not-assessed`: a `verify` whose strength depends on content fluxguard did not see
 *   (a notation trust policy whose Secret is not in the repository, is encrypted, or does not
 *   parse). Never counted as verified.
 */
export type VerificationState = "verified" | "unverified" | "not-assessed";

/** One place where Flux may verify signatures, judged. */
export interface SourceVerification {
  /** The object that carries the `verify` block (a source, or a HelmRelease's chart template). */
  owner: ModelObject;
  /** The source kind whose controller verifies: GitRepository, OCIRepository or HelmChart. */
  verifier: "GitRepository" | "OCIRepository" | "HelmChart";
  /** JSON pointer of the `verify` block in `owner` (where it belongs when absent). */
  pointer: string;
  /** The `verify` block, or undefined when there is none. */
  verify: JsonObject | undefined;
  /** `cosign`, `notation`, or for a GitRepository `pgp` / `ssh` (Flux's `provider` default is cosign / pgp). */
  provider: string | null;
  state: VerificationState;
  /**
   * Why it is unverified or weak, or what was not seen (not-assessed), in words for messages;
   * never a secret value. Empty for a plain missing `verify` and for clean verification.
   */
  problems: string[];
}

/** A Go regular expression (cosign identity) that matches any identity. */
function matchesAnything(re: string): boolean {
  const t = re.trim();
  return t === "" || t === "*" || /^\^?\.?[*+]\$?$/.test(t);
}

/** `Kind/namespace/name` of a reference, or null. */
function refKeyOf(ref: unknown, ns: string): string | null {
  const kind = str(ref, "kind");
  const name = str(ref, "name");
  return kind && name ? `${kind}/${str(ref, "namespace") ?? ns}/${name}` : null;
}

const indexCache = new WeakMap<FleetModel, Map<string, ModelObject[]>>();

/** An object of the model (applied objects first, then Git's) by `Kind/namespace/name`, same cluster preferred. */
function lookup(model: FleetModel, key: string, near: ModelObject): ModelObject | undefined {
  let idx = indexCache.get(model);
  if (!idx) {
    idx = new Map();
    for (const m of [...model.objects, ...model.fileObjects]) {
      const k = `${m.object.kind}/${m.object.metadata.namespace ?? "default"}/${m.object.metadata.name}`;
      const list = idx.get(k);
      if (list) list.push(m);
      else idx.set(k, [m]);
    }
    indexCache.set(model, idx);
  }
  const hits = idx.get(key) ?? [];
  return hits.find((m) => m.clusterId === near.clusterId) ?? hits[0];
}

/** A key of a Secret, decoded (`data` is base64); null when absent or SOPS-encrypted. */
function secretValue(secret: ModelObject, key: string): string | null {
  const sd = asString(path(secret.object, "stringData", key));
  const raw = sd ?? asString(path(secret.object, "data", key));
  if (raw === undefined || /^ENC\[[A-Z0-9_]+,/.test(raw.trim())) return null;
  if (sd !== undefined) return sd;
  try {
    return Buffer.from(raw, "base64").toString("utf8");
  } catch {
    return null;
  }
}

/** The OCI repository (`registry/ns/repo`) the verified artifact comes from, when known. */
function artifactOf(model: FleetModel, owner: ModelObject, verifier: SourceVerification["verifier"]): string | null {
  if (verifier === "OCIRepository") {
    const url = str(owner.object, "spec", "url");
    return url && !isTemplated(url) ? ociRepositoryOf(url) : null;
  }
  if (verifier !== "HelmChart") return null;
  const ns = owner.object.metadata.namespace ?? "default";
  const template = owner.object.kind === "HelmRelease";
  const chart = template ? str(owner.object, "spec", "chart", "spec", "chart") : str(owner.object, "spec", "chart");
  const key = refKeyOf(template ? path(owner.object, "spec", "chart", "spec", "sourceRef") : path(owner.object, "spec", "sourceRef"), ns);
  const repo = key ? lookup(model, key, owner) : undefined;
  const url = repo ? str(repo.object, "spec", "url") : undefined;
  if (!url || !chart || isTemplated(url) || isTemplated(chart)) return null;
  return `${ociRepositoryOf(url).replace(/\/+$/, "")}/${chart}`;
}

/** A notation `verify` judged by the trust policy in its `secretRef` Secret. */
function judgeNotation(model: FleetModel, owner: ModelObject, verify: JsonObject, artifact: string | null): Pick<SourceVerification, "state" | "problems"> {
  const name = str(verify, "secretRef", "name");
  const ns = owner.object.metadata.namespace ?? "default";
  const unseen = (why: string): Pick<SourceVerification, "state" | "problems"> => ({ state: "not-assessed", problems: [`notation verification not assessed: ${why}`] });
  if (!name) return unseen("no secretRef, so no trust policy");
  if (isTemplated(name)) return unseen(`the trust policy Secret's name '${name}' is filled in by Flux`);
  const secret = lookup(model, `Secret/${ns}/${name}`, owner);
  if (!secret) return unseen(`Secret ${ns}/${name} (its trustpolicy.json) is not in the repository`);
  const policy = secretValue(secret, "trustpolicy.json");
  if (policy === null) return unseen(`Secret ${ns}/${name} has no readable trustpolicy.json (absent or encrypted)`);
  const keys = [...Object.keys(asObject(path(secret.object, "data")) ?? {}), ...Object.keys(asObject(path(secret.object, "stringData")) ?? {})];
  const verdict = judgeTrustPolicy(policy, artifact, keys.filter((k) => /\.(pem|crt)$/.test(k)).length);
  if (!verdict) return unseen(`Secret ${ns}/${name}'s trustpolicy.json is not a trust policy document`);
  return {
    state: verdict.enforcesAuthenticity ? "verified" : "unverified",
    problems: verdict.problems.map((p) => `notation verification is weak (Secret ${ns}/${name}, ${p})`),
  };
}

/** A cosign `verify`: keys, or keyless identities. */
function judgeCosign(verify: JsonObject): Pick<SourceVerification, "state" | "problems"> {
  if (asObject(verify["secretRef"])) return { state: "verified", problems: [] };
  const ids = asArray(verify["matchOIDCIdentity"]);
  if (ids.length === 0) return { state: "unverified", problems: ["keyless cosign verification without matchOIDCIdentity accepts a signature by any Sigstore identity"] };
  const problems: string[] = [];
  let anyone = false;
  ids.forEach((id, i) => {
    let open = 0;
    for (const field of ["subject", "issuer"]) {
      const v = str(id, field);
      if (v === undefined || isTemplated(v)) continue;
      const t = v.trim();
      if (matchesAnything(t)) {
        open++;
        problems.push(`matchOIDCIdentity[${i}].${field} '${v}' matches any identity`);
      } else if (!t.startsWith("^") || !t.endsWith("$")) problems.push(`matchOIDCIdentity[${i}].${field} '${v}' is not anchored with ^…$, so it matches any identity that merely contains it`);
    }
    // Matchers are OR'ed: one whose subject matches anything lets any Sigstore signer through.
    if (open > 0 && matchesAnything(str(id, "subject") ?? "")) anyone = true;
  });
  return { state: anyone ? "unverified" : "verified", problems };
}

/**
 * Where the object may configure signature verification: GitRepository, OCIRepository and
 * HelmChart `spec.verify`, a HelmRelease's `spec.chart.spec.verify`; null for other objects and
 * for a HelmRelease with a `chartRef` (its OCIRepository or HelmChart verifies).
 */
function placeOf(m: ModelObject): { verifier: SourceVerification["verifier"]; pointer: string; at: string[] } | null {
  const group = groupOf(m.object.apiVersion);
  if (group === GROUP.source && (m.object.kind === "GitRepository" || m.object.kind === "OCIRepository" || m.object.kind === "HelmChart")) return { verifier: m.object.kind, pointer: "/spec/verify", at: ["spec", "verify"] };
  if (group === GROUP.helm && m.object.kind === "HelmRelease" && asObject(path(m.object, "spec", "chart"))) return { verifier: "HelmChart", pointer: "/spec/chart/spec/verify", at: ["spec", "chart", "spec", "verify"] };
  return null;
}

const cache = new WeakMap<FleetModel, WeakMap<ModelObject, SourceVerification | null>>();

/**
 * Whether Flux verifies the signatures of what this object fetches (see VerificationState).
 * `m` is a GitRepository, OCIRepository, HelmChart, or a HelmRelease with `spec.chart`; any
 * other object gives null. Reads the notation trust policy Secret from the model. Pure, cached
 * per model and object, never throws.
 */
export function sourceVerification(model: FleetModel, m: ModelObject): SourceVerification | null {
  let byObject = cache.get(model);
  if (!byObject) cache.set(model, (byObject = new WeakMap()));
  const hit = byObject.get(m);
  if (hit !== undefined) return hit;
  const place = placeOf(m);
  let out: SourceVerification | null = null;
  if (place) {
    const verify = asObject(path(m.object, ...place.at));
    const base = { owner: m, verifier: place.verifier, pointer: place.pointer, verify };
    if (!verify) out = { ...base, provider: null, state: "unverified", problems: [] };
    else if (place.verifier === "GitRepository") out = { ...base, provider: asString(verify["provider"]) ?? "pgp", state: "verified", problems: [] };
    else {
      const provider = asString(verify["provider"]) ?? "cosign";
      const judged =
        provider === "notation" ? judgeNotation(model, m, verify, artifactOf(model, m, place.verifier)) : provider === "cosign" ? judgeCosign(verify) : { state: "not-assessed" as const, problems: [`verification provider '${provider}' is not known to fluxguard`] };
      out = { ...base, provider, ...judged };
    }
  }
  byObject.set(m, out);
  return out;
}
