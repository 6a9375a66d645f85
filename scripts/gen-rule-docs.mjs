#!/usr/bin/env node
// Regenerates docs/rules/<rule-id>.md, docs/rules/README.md and the rule ids in
// schemas/fluxguard-config.schema.json from the rules' metadata (src/docs/rule-docs.ts).
// Run through `npm run docs`, which compiles first: it reads ALL_RULES from dist/.
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
let mods;
try {
  mods = await Promise.all([import("../dist/src/docs/rule-docs.js"), import("../dist/src/rules/index.js")]);
} catch (e) {
  console.error(`fluxguard docs: cannot load the compiled rules (${e.message}); run \`npm run docs\`, which compiles first`);
  process.exit(2);
}
const [{ writeDocs }, { ALL_RULES }] = mods;
const touched = writeDocs(root, ALL_RULES);
console.log(touched.length ? `fluxguard docs: updated ${touched.length} file(s):\n  ${touched.join("\n  ")}` : `fluxguard docs: ${ALL_RULES.length} rule pages up to date`);
