import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { Ajv2020 } from "ajv/dist/2020.js";
import { parse } from "yaml";
import { REPO_ROOT } from "../testing/paths.js";
import { STARTER_SPEC } from "./init.js";
import { SPEC_KEYS } from "./spec.js";
import { nativeRuleIds } from "./rule-policies.js";

type Schema = { properties?: Record<string, Schema>; items?: Schema; $ref?: string; $defs?: Record<string, Schema> };
const schema = JSON.parse(readFileSync(join(REPO_ROOT, "schemas", "fleet-spec.schema.json"), "utf8")) as Schema;

function keysAt(s: Schema): string[] {
  const resolved = s.$ref ? schema.$defs![s.$ref.replace("#/$defs/", "")]! : s;
  return Object.keys(resolved.properties ?? {}).sort();
}

test("schema: the fleet spec schema accepts the starter and example specs", () => {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  const validate = ajv.compile(schema);
  const specs = [STARTER_SPEC, ...["minimal", "multi-tenant", "flux-operator"].map((n) => readFileSync(join(REPO_ROOT, "examples", "specs", `${n}.yaml`), "utf8"))];
  for (const text of specs) assert.ok(validate(parse(text)), JSON.stringify(validate.errors));
  assert.ok(!validate(parse("platform:\n  repository: ssh://git@x/y\n  typo: 1\n")));
});

test("schema: keys agree with the validator's", () => {
  const p = schema.properties!;
  const tenant = p["tenants"]!.items!;
  const chart = tenant.properties!["charts"]!.items!;
  const pairs: Array<[readonly string[], string[]]> = [
    [SPEC_KEYS.top, keysAt(schema)],
    [SPEC_KEYS.platform, keysAt(p["platform"]!)],
    [SPEC_KEYS.defaults, keysAt(p["defaults"]!)],
    [SPEC_KEYS.network, keysAt(p["platform"]!.properties!["network"]!)],
    [SPEC_KEYS.monitoring, keysAt(p["platform"]!.properties!["monitoring"]!)],
    [SPEC_KEYS.admission, keysAt(p["platform"]!.properties!["admission"]!)],
    [nativeRuleIds(), keysAt(p["platform"]!.properties!["admission"]!.properties!["rules"]!)],
    [SPEC_KEYS.alerts, keysAt(p["platform"]!.properties!["alerts"]!)],
    [SPEC_KEYS.signingKey, keysAt(p["platform"]!.properties!["signingKeys"]!.items!)],
    [SPEC_KEYS.cluster, keysAt(p["clusters"]!.items!)],
    [SPEC_KEYS.tenant, keysAt(tenant)],
    [SPEC_KEYS.chart, keysAt(chart)],
    [SPEC_KEYS.chartVerify, keysAt(chart.properties!["verify"]!)],
    [SPEC_KEYS.image, keysAt(tenant.properties!["images"]!.items!)],
  ];
  for (const [code, sch] of pairs) assert.deepEqual([...code].sort(), sch);
});
