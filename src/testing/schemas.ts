/** JSON Schema validation for tests: fluxguard's published schemas and the vendored SARIF 2.1.0 schema. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import formatsModule from "ajv-formats";
import { REPO_ROOT } from "./paths.js";

const addFormats = formatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

export type { ValidateFunction };

export function loadSchema(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(REPO_ROOT, "schemas", name), "utf8")) as Record<string, unknown>;
}

/** One of fluxguard's schemas (schemas/<name>), compiled in strict mode: it must be a good schema too. */
export function compileSchema(name: string): ValidateFunction {
  const ajv = new Ajv2020({ strict: true, allowUnionTypes: true, allErrors: true });
  addFormats(ajv);
  return ajv.compile(loadSchema(name));
}

/** The official SARIF 2.1.0 schema (schemas/vendor/). */
export function sarifValidator(): ValidateFunction {
  // The vendored schema predates strict-mode conventions (e.g. `definitions` under 2020-12); validate, don't lint it.
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
  addFormats(ajv);
  return ajv.compile(loadSchema(join("vendor", "sarif-2.1.0.json")));
}

export function errorsOf(validate: ValidateFunction): string {
  return (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message ?? ""} ${JSON.stringify(e.params)}`).join("\n");
}
