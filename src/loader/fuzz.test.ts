/**
 * The seeded fuzz in the suite (issue 11): a few hundred hostile trees over the minimal fleet
 * and the examples. Any internal error, run past its bound, unparsable output or leaked canary
 * fails. The longer run is `npm run bench -- fuzz`.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import { runFuzz, type FuzzCase } from "../testing/fuzz.js";
import { findKustomize } from "./kustomize.js";

const CASES = Number(process.env["FLUXGUARD_FUZZ_CASES"] ?? 200);
const SEED = Number(process.env["FLUXGUARD_FUZZ_SEED"] ?? 20261129);

it(`fuzz: ${CASES} seeded hostile trees (seed ${SEED})`, { timeout: 300_000 }, async () => {
  const server = findKustomize({ PATH: process.env["PATH"] });
  // One case in four renders with kustomize (the server when built), the rest with the built-in resolver.
  const s = await runFuzz({ seed: SEED, cases: CASES, tool: (i) => (i % 4 === 0 ? server : null), slowMs: 20_000 });
  const show = (cs: FuzzCase[]): string => cs.map((c) => `seed ${c.seed} (${c.base}: ${c.mutations.join(", ")}): ${c.internalError ?? c.unparsable ?? c.leaked ?? `${c.ms} ms`}`).join("\n");
  assert.equal(s.internalErrors.length, 0, show(s.internalErrors));
  assert.equal(s.slow.length, 0, show(s.slow));
  assert.equal(s.unparsable.length, 0, show(s.unparsable));
  assert.equal(s.leaks.length, 0, show(s.leaks));
  assert.equal(s.cases, CASES);
});
