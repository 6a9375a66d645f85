import assert from "node:assert/strict";
import { test } from "node:test";
import { envsubst, hasSubstitutionDefault, substitutionLiteral } from "./envsubst.js";

test("envsubst: the default forms drone/envsubst accepts", () => {
  for (const op of ["=", ":=", ":-", ":?", ":+"]) {
    assert.equal(envsubst(`\${A${op}lit}`, {}), "lit", op);
    assert.equal(envsubst(`\${A${op}lit}`, { A: "" }), "lit", `${op} empty`);
    assert.equal(envsubst(`\${A${op}lit}`, { A: "set" }), "set", `${op} set`);
  }
  assert.equal(envsubst("${A}", {}), "${A}");
  assert.equal(envsubst("${A}", {}, false), "");
  assert.equal(envsubst("x-${A}-${B:=b}", { A: "a" }), "x-a-b");
  assert.equal(envsubst("${A:=${B:=inner}}", {}), "inner");
  assert.equal(envsubst("${A:=${B}}", { B: "b" }), "b");
  assert.equal(envsubst("${A-lit}", {}), "${A-lit}", "no colon: not a default form (a parse error in Flux)");
  assert.equal(envsubst("${A^^}", { A: "x" }), "${A^^}");
});

test("substitutionLiteral: what Flux applies with nothing set", () => {
  assert.equal(substitutionLiteral("${P:=Adm1n}"), "Adm1n");
  assert.equal(substitutionLiteral("amqp://u:${P=pw}@h"), "amqp://u:pw@h");
  assert.equal(substitutionLiteral("${P}"), null);
  assert.equal(substitutionLiteral("${P:=}"), "");
  assert.equal(substitutionLiteral("${P:=${Q}}"), "");
  assert.equal(substitutionLiteral("plain"), null);
  assert.ok(hasSubstitutionDefault("${P:?x}"));
  assert.ok(!hasSubstitutionDefault("${P}"));
});
