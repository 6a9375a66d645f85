import { defaultedVariables, hasSubstitutionDefault, substitutionLiteral } from "../../core/envsubst.js";
import { asObject, GROUP, isFluxApiGroup, isFluxKustomization, isHelmRelease, path } from "../../core/flux.js";
import type { FleetModel, ModelObject } from "../../core/model.js";
import { escapeToken, getAt } from "../../core/pointer.js";
import { defineRule } from "../../core/rule.js";
import type { JsonValue } from "../../core/types.js";
import { auditedObjects, describe, isFluxKind, isTemplated, oncePerLine } from "../util.js";
import { isCredentialKey, isLiteralCredential } from "./secrets.js";

/** Pointers (below `base`) of literal credentials in a values tree. */
function literals(v: JsonValue | undefined, base: string, out: string[] = []): string[] {
  if (Array.isArray(v)) v.forEach((x, i) => literals(x, `${base}/${i}`, out));
  else if (v !== null && typeof v === "object") {
    // `env`-style entries: { name: DB_PASSWORD, value: ... }
    const name = v["name"];
    if (typeof name === "string" && typeof v["value"] === "string" && isCredentialKey(name) && isLiteralCredential(name, v["value"])) out.push(`${base}/value`);
    for (const [k, x] of Object.entries(v)) {
      const p = `${base}/${escapeToken(k)}`;
      if (typeof x === "string" && isCredentialKey(k) && isLiteralCredential(k, x)) out.push(p);
      else literals(x, p, out);
    }
  }
  return out;
}

/** After `://`: `user:password@` and a host character; the password is group 1 (sticky: tried at one place). */
const USERINFO_PASSWORD = /[^\s:/@]+:([^\s@/]+)@[^\s]/y;

/**
 * The password of the first `scheme://user:password@host` in a string, as the regular
 * expression `/[a-z][a-z0-9+.-]*:\/\/[^\s:/@]+:([^\s@/]+)@[^\s]/i` finds it, in linear time:
 * unanchored, that expression backtracks quadratically over long runs of letters (a hostile
 * value of a few MB in an AdmissionReview would hold the webhook for minutes).
 */
export function urlPassword(v: string): string | null {
  for (let at = v.indexOf("://"); at >= 0; at = v.indexOf("://", at + 3)) {
    // The scheme: the run of [a-z0-9+.-] before `://`, which must hold a letter to start with.
    let start = at;
    let letter = false;
    while (start > 0 && /[a-z0-9+.-]/i.test(v[start - 1]!)) {
      start--;
      if (/[a-z]/i.test(v[start]!)) letter = true;
    }
    if (!letter) continue;
    USERINFO_PASSWORD.lastIndex = at + 3;
    const m = USERINFO_PASSWORD.exec(v);
    if (m) return m[1]!;
  }
  return null;
}

/** Whether a string carries a credential whatever its key: a password in a URL, or a substitution default of a credential-named variable. */
function credentialInString(v: string): boolean {
  const password = urlPassword(v);
  if (password !== null && isLiteralCredential("password", substitutionLiteral(password) ?? password) && !/^\$\{[^}:=+?-]*\}$/.test(password)) return true;
  if (!v.includes("${")) return false;
  const literal = substitutionLiteral(v);
  return literal !== null && defaultedVariables(v).some((name) => isCredentialKey(name) && isLiteralCredential(name, literal));
}

/**
 * Pointers of clear-text credentials in a manifest that is neither a Secret (plaintext-secret-in-git
 * judges those) nor a Flux object: ConfigMap data and container `env` entries with a
 * credential-named key and a literal value, and anywhere, a URL with a password or a
 * credential-named variable's substitution default.
 */
function manifestLiterals(v: JsonValue | undefined, base: string, out: string[] = []): string[] {
  if (typeof v === "string") {
    if (credentialInString(v)) out.push(base);
  } else if (Array.isArray(v)) v.forEach((x, i) => manifestLiterals(x, `${base}/${i}`, out));
  else if (v !== null && typeof v === "object") {
    const name = v["name"];
    if (typeof name === "string" && typeof v["value"] === "string" && isCredentialKey(name) && isLiteralCredential(name, v["value"]) && !isTemplated(v["value"])) out.push(`${base}/value`);
    for (const [k, x] of Object.entries(v)) {
      const p = `${base}/${escapeToken(k)}`;
      if (!out.includes(p)) manifestLiterals(x, p, out);
    }
  }
  return out;
}

/**
 * The object as written in Git, for a rendered one: a value that is a `${var}` there was
 * substituted by Flux, and is reported where the variable is defined.
 */
function gitForm(files: () => Map<string, ModelObject[]>, m: ModelObject): ModelObject | undefined {
  if (m.origin.kind !== "rendered" || !m.origin.file) return undefined;
  const same = files().get(`${m.origin.file}\u0000${m.object.kind}`) ?? [];
  return same.find((f) => m.object.metadata.name.includes(f.object.metadata.name)) ?? (same.length === 1 ? same[0] : undefined);
}

/** The model's file objects by file and kind (`file NUL kind`), in model order: gitForm's index, built at most once per check. */
function fileObjectsByFileAndKind(model: FleetModel): Map<string, ModelObject[]> {
  const index = new Map<string, ModelObject[]>();
  for (const f of model.fileObjects) {
    if (f.origin.file === undefined) continue;
    const key = `${f.origin.file}\u0000${f.object.kind}`;
    const list = index.get(key);
    if (list) list.push(f);
    else index.set(key, [f]);
  }
  return index;
}

/** ConfigMap `data` keys that name a credential and hold a literal. */
function keyedData(o: { [k: string]: unknown }): string[] {
  const data = asObject(o["data"] as JsonValue | undefined) ?? {};
  return Object.entries(data)
    .filter(([k, x]) => typeof x === "string" && isCredentialKey(k) && isLiteralCredential(k, x) && !isTemplated(x))
    .map(([k]) => `/data/${escapeToken(k)}`);
}

export default defineRule({
  meta: {
    id: "hardcoded-credential-in-values",
    // Every object outside Flux's API groups is searched, so the rule names the kinds it skips:
    // Secrets (plaintext-secret-in-git's) and the Flux kinds other than HelmRelease, Kustomization
    // and ResourceSet (whose templates it reads). Kind names only Flux uses; Bucket, Alert,
    // Provider and Receiver are also other projects' kinds, which it reads.
    reads: {
      allKindsBut: ["Secret", "GitRepository", "OCIRepository", "HelmRepository", "HelmChart", "ExternalArtifact", "ImageRepository", "ImagePolicy", "ImageUpdateAutomation", "FluxInstance", "ResourceSetInputProvider"],
      why: "the strings of every object outside Flux's API groups (URL passwords, credential-named keys)",
    },
    title: "Credential written in clear text into values, variables or manifests",
    severity: "high",
    threats: ["adversary-2-credential-exfiltration", "weakness-3-git-credentials"],
    summary: "HelmRelease spec.values or Kustomization postBuild.substitute hold a literal value under a password, token or secret-like key; or a manifest Flux applies (a ConfigMap, a container env entry, any URL) holds one in clear text, directly or as a `${VAR:=literal}` default of a credential-named variable",
    rationale:
      "`spec.values` and `postBuild.substitute` are plain fields of objects in Git and in the cluster: anyone who can read the repository, or get HelmReleases and Kustomizations (far more people than can read Secrets), reads the credential. Flux can take both from Secrets instead: `valuesFrom` with kind Secret, and `substituteFrom` with kind Secret, SOPS-encrypted in Git. A `${VAR:=literal}` default (or `${VAR:-…}`, `${VAR=…}`, `${VAR:?…}`, `${VAR:+…}`) is a literal too: Flux applies it whenever VAR is unset. The same holds for any manifest Flux applies: a ConfigMap key or a container `env` value named like a credential, a password in a URL (`postgres://app:…@db`), or the default of a credential-named variable are readable by everyone who can read the repository or the object; Secrets are judged by plaintext-secret-in-git.",
    remediation: {
      text: "Move the value into a (SOPS-encrypted) Secret and reference it.",
      snippet: `apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
spec:
  valuesFrom:
    - kind: Secret
      name: payments-api-db
      valuesKey: password
      targetPath: database.password
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
spec:
  postBuild:
    substituteFrom:
      - kind: Secret
        name: cluster-secrets`,
    },
    references: ["https://fluxcd.io/flux/components/helm/helmreleases/#values-references", "https://fluxcd.io/flux/components/kustomize/kustomizations/#post-build-variable-substitution"],
  },
  check({ model, report }) {
    const once = oncePerLine(report);
    // Built on first use: only rendered objects ask (none in a cluster's or an admission's model).
    let index: Map<string, ModelObject[]> | null = null;
    const files = (): Map<string, ModelObject[]> => (index ??= fileObjectsByFileAndKind(model));
    for (const m of auditedObjects(model)) {
      let hits: string[] = [];
      if (isHelmRelease(m.object)) {
        const git = gitForm(files, m);
        // A `${var}` in Git was substituted by Flux (reported where the variable is defined), unless
        // it carries its own literal (`${var:=literal}`): that literal is in Git, here.
        hits = literals(path(m.object, "spec", "values"), "/spec/values").filter((p) => {
          const g = getAt(git?.object, p);
          return !isTemplated(g) || (typeof g === "string" && hasSubstitutionDefault(g));
        });
      }
      else if (isFluxKustomization(m.object) && isFluxKind(m, GROUP.kustomize, "Kustomization")) {
        const sub = asObject(path(m.object, "spec", "postBuild", "substitute"));
        hits = sub ? literals(sub, "/spec/postBuild/substitute") : [];
      }
      else if (m.object.kind !== "Secret" && !isFluxApiGroup(m.object.apiVersion)) {
        // As written in Git: a `${VAR}` the cluster fills in is no literal, its `${VAR:=literal}` default is.
        const git = gitForm(files, m) ?? m;
        const target = git.object;
        hits = m.object.kind === "ConfigMap" ? manifestLiterals(target["data"] as JsonValue | undefined, "/data").concat(keyedData(target)) : manifestLiterals(target as unknown as JsonValue, "");
        for (const p of [...new Set(hits)]) once({ object: git, pointer: p, message: `${describe(m)} has a clear-text credential at ${p.slice(1).split("/").join(".")} (value not shown)` });
        continue;
      }
      for (const p of hits) {
        once({ object: m, pointer: p, message: `${describe(m)} has a literal credential at ${p.slice(1).split("/").join(".")} (value not shown)` });
      }
    }
  },
});
