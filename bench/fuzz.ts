/**
 * `npm run bench -- fuzz`: 2,000 seeded hostile trees (src/testing/fuzz.ts), every one audited
 * with the kustomize server (or CLI) when present. Prints the counts issue 11 asks for:
 * internal errors, runs past 20 s, unparsable outputs (and leaked canaries). Override with
 * FLUXGUARD_FUZZ_CASES and FLUXGUARD_FUZZ_SEED.
 */
import { findKustomize } from "../src/loader/kustomize.js";
import { runFuzz } from "../src/testing/fuzz.js";

export async function run(): Promise<void> {
  const cases = Number(process.env["FLUXGUARD_FUZZ_CASES"] ?? 2000);
  const seed = Number(process.env["FLUXGUARD_FUZZ_SEED"] ?? 1);
  const tool = findKustomize({ PATH: process.env["PATH"] });
  const t0 = Date.now();
  const s = await runFuzz({
    seed,
    cases,
    tool: () => tool,
    onCase: (c, i) => {
      if (c.internalError || c.unparsable || c.leaked || c.ms > 20_000) console.log(`  seed ${c.seed} (${c.base}: ${c.mutations.join(", ")}): ${c.internalError ?? c.unparsable ?? c.leaked ?? `${c.ms} ms`}`);
      if ((i + 1) % 250 === 0) console.log(`  ${i + 1}/${cases} cases, ${Math.round((Date.now() - t0) / 1000)} s`);
    },
  });
  console.log(`fuzz: ${s.cases} trees from seed ${seed} (kustomize: ${tool?.label ?? "built-in resolver"}) in ${Math.round((Date.now() - t0) / 1000)} s`);
  console.log(`  internal errors:     ${s.internalErrors.length}`);
  console.log(`  runs past 20 s:      ${s.slow.length} (slowest ${s.maxMs} ms, mean ${Math.round(s.totalMs / Math.max(1, s.cases))} ms)`);
  console.log(`  unparsable outputs:  ${s.unparsable.length}`);
  console.log(`  leaked canaries:     ${s.leaks.length}`);
}
