/**
 * substitute() (Flux postBuild variables over a rendered object) copies only what it changes:
 * what holds no variable is returned as it is, never modified.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { JsonValue } from "../core/types.js";
import { substitute } from "./render.js";

describe("substitute", () => {
  it("returns what holds no variable as it is, and copies (never mutates) what it changes", () => {
    const untouched: JsonValue = { kind: "ConfigMap", metadata: { name: "a", labels: { x: "y" } }, data: { list: ["a", "b"] } };
    assert.equal(substitute(untouched, { VAR: "v" }), untouched);
    const input: JsonValue = { kind: "ConfigMap", metadata: { name: "a", labels: { x: "y" } }, data: { env: "${ENV}", n: "${N}", keep: ["a"], list: ["a", "${ENV}-b"] } };
    const before = JSON.stringify(input);
    const out = substitute(input, { ENV: "prod", N: "3" }) as { [k: string]: JsonValue };
    assert.equal(JSON.stringify(input), before, "the input is not modified");
    assert.deepEqual(out, { kind: "ConfigMap", metadata: { name: "a", labels: { x: "y" } }, data: { env: "prod", n: 3, keep: ["a"], list: ["a", "prod-b"] } });
    assert.deepEqual(Object.keys(out["data"] as object), ["env", "n", "keep", "list"], "key order is kept");
    assert.equal(out["metadata"], (input as { [k: string]: JsonValue })["metadata"], "unchanged parts are shared");
  });
});
