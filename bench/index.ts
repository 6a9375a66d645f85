/**
 * `npm run bench`: runs every benchmark module in this folder (each exports `run()`), or
 * the ones named on the command line: `npm run bench -- audit verify`.
 * Benchmarks print figures; they are not timed tests and never fail on speed.
 */
import { readdirSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2);
const modules = readdirSync(here)
  .filter((f) => f.endsWith(".js") && f !== "index.js" && !f.startsWith("_"))
  .map((f) => f.replace(/\.js$/, ""))
  .filter((name) => wanted.length === 0 || wanted.includes(name))
  .sort();
for (const name of modules) {
  const mod = (await import(pathToFileURL(`${here}/${name}.js`).href)) as { run?: () => Promise<void> };
  if (typeof mod.run !== "function") continue;
  console.log(`\n### bench: ${name}`);
  await mod.run();
}
