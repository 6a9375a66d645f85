import { hasSubstitutionDefault } from "../../core/envsubst.js";
import { asObject, GROUP, isFluxKustomization, isHelmRelease, path } from "../../core/flux.js";
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

/**
 * The object as written in Git, for a rendered one: a value that is a `${var}` there was
 * substituted by Flux, and is reported where the variable is defined.
 */
function gitForm(model: FleetModel, m: ModelObject): ModelObject | undefined {
  if (m.origin.kind !== "rendered" || !m.origin.file) return undefined;
  const same = model.fileObjects.filter((f) => f.origin.file === m.origin.file && f.object.kind === m.object.kind);
  return same.find((f) => m.object.metadata.name.includes(f.object.metadata.name)) ?? (same.length === 1 ? same[0] : undefined);
}

export default defineRule({
  meta: {
    id: "hardcoded-credential-in-values",
    title: "Credential written into HelmRelease values or postBuild variables",
    severity: "high",
    threats: ["adversary-2-credential-exfiltration", "weakness-3-git-credentials"],
    summary: "HelmRelease spec.values or Kustomization postBuild.substitute hold a literal value under a password, token or secret-like key",
    rationale:
      "`spec.values` and `postBuild.substitute` are plain fields of objects in Git and in the cluster: anyone who can read the repository, or get HelmReleases and Kustomizations (far more people than can read Secrets), reads the credential. Flux can take both from Secrets instead: `valuesFrom` with kind Secret, and `substituteFrom` with kind Secret, SOPS-encrypted in Git. A `${VAR:=literal}` default (or `${VAR:-…}`, `${VAR=…}`, `${VAR:?…}`, `${VAR:+…}`) is a literal too: Flux applies it whenever VAR is unset.",
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
    for (const m of auditedObjects(model)) {
      let hits: string[] = [];
      if (isHelmRelease(m.object)) {
        const git = gitForm(model, m);
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
      for (const p of hits) {
        once({ object: m, pointer: p, message: `${describe(m)} has a literal credential at ${p.slice(1).split("/").join(".")} (value not shown)` });
      }
    }
  },
});
