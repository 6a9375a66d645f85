import { CONTROLLER_KINDS, FLUX_KINDS, FLUX_VERSION_KINDS } from "../../core/model-kinds.js";
import { parseYamlValue } from "../../loader/yaml.js";
import { asArray, asObject, asString, GROUP, path, str } from "../../core/flux.js";
import type { ModelObject } from "../../core/model.js";
import { parsePointer } from "../../core/pointer.js";
import { defineRule, type Report } from "../../core/rule.js";
import type { JsonValue } from "../../core/types.js";
import { auditedObjects, describe, isTemplated, oncePerLine } from "../util.js";
import { crdFor, FLUX_GROUPS, FLUX_MINOR, FLUX_RELEASE, groupOf, versionOf, type CrdKind } from "./crds.js";
import { fieldPath, validate, type StructuralSchema, type Violation } from "./validate.js";

/** Whether a schema declares the field at a JSON pointer (patch paths; `-` appends to a list). */
function declares(schema: StructuralSchema, pointer: string): boolean {
  let s: StructuralSchema | undefined = schema;
  for (const token of parsePointer(pointer)) {
    if (!s) return false;
    if (s["x-kubernetes-preserve-unknown-fields"]) return true;
    if (s.type === "array") s = s.items;
    else if (s.properties?.[token]) s = s.properties[token];
    else if (typeof s.additionalProperties === "object") s = s.additionalProperties;
    else return s.properties === undefined && s.type === "object"; // a free-form object: cannot tell
  }
  return true;
}

function served(crd: CrdKind, apiVersion: string): StructuralSchema | undefined {
  return crd.versions[versionOf(apiVersion)]?.schema;
}

/**
 * Inline patches of a Flux Kustomization that cannot work: a JSON 6902 patch without a target
 * (kustomize refuses it), or one that adds a field the target Flux kind does not declare.
 */
function checkPatches(m: ModelObject, crd: CrdKind, report: (r: Report & { object: ModelObject; pointer: string }) => void): void {
  asArray(path(m.object, "spec", "patches")).forEach((p, i) => {
    const text = asString(path(p, "patch"));
    if (!text || isTemplated(text)) return;
    let doc: unknown;
    try {
      doc = parseYamlValue(text);
      if (doc === undefined) return;
    } catch {
      return;
    }
    const target = asObject(path(p, "target"));
    if (!Array.isArray(doc)) return;
    const problems: string[] = [];
    if (!target) problems.push("it is a JSON 6902 patch without a target, which kustomize-controller refuses, so the build fails");
    // Without a target, the author usually meant this Kustomization itself; with one, a Flux kind we know.
    const targetCrd = target ? findKind(asString(target["kind"]), asString(target["group"])) : crd;
    const schema = targetCrd?.storage ? targetCrd.versions[targetCrd.storage]?.schema : undefined;
    if (schema && targetCrd) {
      for (const op of doc) {
        const kind = str(op, "op");
        const at = str(op, "path");
        if ((kind === "add" || kind === "replace") && at && !isTemplated(at) && !declares(schema, at)) {
          problems.push(`${target ? "" : "if it meant this Kustomization: "}${targetCrd.kind} ${targetCrd.group}/${targetCrd.storage} declares no ${at}${at === "/spec/allowed" ? " (Flux has no per-Kustomization allowlist of kinds; restrict what it may apply with serviceAccountName and RBAC)" : ""}`);
        }
      }
    }
    if (problems.length) report({ object: m, pointer: `/spec/patches/${i}/patch`, message: `${describe(m)}: spec.patches[${i}]: ${problems.join("; ")}` });
  });
}

/** The Flux kind a patch target names (its group, when given, must match). */
function findKind(kind: string | undefined, group: string | undefined): CrdKind | undefined {
  if (!kind) return undefined;
  for (const g of FLUX_GROUPS) {
    if (group !== undefined && group !== g) continue;
    const c = crdFor(`${g}/v`, kind);
    if (c) return c;
  }
  return undefined;
}

/**
 * Schema validation of one object, remembered for as long as the object lives: model objects
 * are never changed once loaded, and the admission webhook judges every request against the
 * same cached objects, so each is validated once, not once per request.
 */
const validations = new WeakMap<object, Map<StructuralSchema, Violation[]>>();
function validated(value: JsonValue, schema: StructuralSchema): Violation[] {
  if (value === null || typeof value !== "object") return validate(value, schema, { isUnknown: isTemplated });
  let bySchema = validations.get(value);
  if (!bySchema) validations.set(value, (bySchema = new Map()));
  let out = bySchema.get(schema);
  if (!out) bySchema.set(schema, (out = validate(value, schema, { isUnknown: isTemplated })));
  return out;
}

export default defineRule({
  meta: {
    id: "flux-schema-violation",
    title: "Flux object the Flux 2.9 CRD schema rejects",
    severity: "medium",
    threats: ["weakness-4-unscoped-kustomization", "weakness-2-unverified-commits", "weakness-6-no-alerting"],
    summary: "an unknown field (e.g. a Kustomization's spec.allowed), a wrong type or enum value, a missing required field, or a failed CEL rule (e.g. HelmRelease chart together with chartRef)",
    rationale:
      "Flux applies with server-side apply, so the API server validates every object against the CRD schema: an unknown field fails with `field not declared in schema`, and the CRDs' CEL rules (x-kubernetes-validations) refuse contradictions such as a HelmRelease with both `chart` and `chartRef`. The whole Kustomization then stops reconciling. Worse, a field that does not exist protects nothing: the seed 'restricts resource types' with a Kustomization `spec.allowed`, which Flux has never had. The schemas are those of the controllers the Flux release pins, plus source-watcher's ArtifactGenerator and the Flux Operator's FluxInstance and ResourceSet.",
    remediation: {
      text: "Fix the field the finding names. To limit what a Kustomization may apply, give it a serviceAccountName bound to a namespaced Role; for a HelmRelease, set either chart or chartRef.",
      snippet: `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
spec:
  serviceAccountName: payments-flux-sa   # what it may apply is what this SA may do
  targetNamespace: payments
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
spec:
  chartRef:                # either chartRef ...
    kind: OCIRepository
    name: payments-api-chart
  # chart: ...             # ... or chart, never both`,
    },
    references: ["https://github.com/fluxcd/kustomize-controller/issues/804", `https://github.com/fluxcd/flux2/releases/tag/${FLUX_RELEASE} (the CRDs fluxguard validates against)`],
    reads: [...new Set<string>([...FLUX_KINDS, ...CONTROLLER_KINDS, ...FLUX_VERSION_KINDS])],
  },
  check({ model, report }) {
    const once = oncePerLine(report);
    for (const m of auditedObjects(model)) {
      if (m.origin.kind === "synthesized" && !m.key.startsWith("template:")) continue;
      const { apiVersion, kind } = m.object;
      if (!FLUX_GROUPS.has(groupOf(apiVersion)) || isTemplated(apiVersion)) continue;
      const crd = crdFor(apiVersion, kind);
      if (!crd) continue;
      let schema = served(crd, apiVersion);
      let note = "";
      let removed = false;
      if (!schema) {
        // flux-api-removed reports the version and the fields it drops; what else fails after migrating is ours.
        if (!crd.storage) continue;
        schema = crd.versions[crd.storage]!.schema;
        note = ` (checked against ${crd.group}/${crd.storage}, the version it must move to)`;
        removed = true;
      }
      for (const v of validated(m.object as unknown as JsonValue, schema)) {
        if (removed && (v.code === "unknown-field" || v.code === "type")) continue;
        const msg = v.code === "unknown-field" ? `${fieldPath(v.pointer)} is not a field of ${kind} in Flux ${FLUX_MINOR}: the apply fails with "field not declared in schema"` : v.message;
        once({ object: m, pointer: v.pointer, message: `${describe(m)}: ${msg}${note}` }, msg);
      }
      if (kind === "Kustomization" && crd.group === GROUP.kustomize) checkPatches(m, crd, (r) => once(r, r.message));
    }
  },
});
