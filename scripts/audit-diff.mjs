#!/usr/bin/env node
// Guards speed work: records `fluxguard audit <dir> --format json` for a set of trees, then
// compares a later build's output with the record, byte for byte. Any difference (a finding, a
// location, a posture row, a render note) is printed and the script exits 1.
//
//   node scripts/audit-diff.mjs record  <record-dir> [dir...]
//   node scripts/audit-diff.mjs compare <record-dir> [dir...]
//
// Without dirs: the bench's synthetic fleet (bench/synthetic-fleet.ts; `npm run bench` builds
// dist/bench), every tree in examples/, src/loader/fixtures/ (clusters, field layouts,
// ResourceSet fleets) and, when present, every repository of ../shared/corpus (or
// $FLUXGUARD_DIFF_CORPUS). Runs cold (FLUXGUARD_CACHE=off); the environment picks the renderer
// as usual (FLUXGUARD_KUSTOMIZE_SERVER, FLUXGUARD_KUSTOMIZE).
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";

const root = resolve(new URL("..", import.meta.url).pathname);
// $FLUXGUARD_DIFF_DIST: another compiled tree to run (e.g. `tsc --outDir dist2` while dist is in use).
const dist = resolve(root, process.env["FLUXGUARD_DIFF_DIST"] ?? "dist");
const cli = join(dist, "src", "bin", "fluxguard.js");
const [mode, recordDir, ...given] = process.argv.slice(2);
if ((mode !== "record" && mode !== "compare") || !recordDir) {
  console.error("usage: audit-diff.mjs record|compare <record-dir> [dir...]");
  process.exit(2);
}
if (!existsSync(cli)) {
  console.error("compile first (npx tsc -p .)");
  process.exit(2);
}

const subdirs = (d) => (existsSync(d) ? readdirSync(d).sort().map((n) => join(d, n)).filter((p) => statSync(p).isDirectory()) : []);

async function defaultDirs() {
  const dirs = [];
  const bench = join(dist, "bench", "synthetic-fleet.js");
  if (existsSync(bench)) {
    const { syntheticFleet } = await import(bench);
    dirs.push(syntheticFleet().dir);
  } else console.error("note: dist/bench not built; the synthetic fleet is not compared");
  dirs.push(...subdirs(join(root, "examples")));
  for (const d of subdirs(join(root, "src", "loader", "fixtures"))) {
    // A fixture folder holds trees (field/<layout>) or is one.
    const inner = subdirs(d);
    if (existsSync(join(d, "expected.json")) || inner.length === 0 || readdirSync(d).some((n) => /\.ya?ml$/.test(n))) dirs.push(d);
    else dirs.push(...inner);
  }
  const corpus = process.env["FLUXGUARD_DIFF_CORPUS"] ?? resolve(root, "..", "..", "shared", "corpus");
  dirs.push(...subdirs(corpus));
  return dirs;
}

const dirs = given.length ? given.map((d) => resolve(d)) : await defaultDirs();
mkdirSync(recordDir, { recursive: true });
const nameOf = (d) => relative("/", d).replace(/[/\\]/g, "__") + ".json";
let differ = 0;
for (const dir of dirs) {
  const r = spawnSync(process.execPath, [cli, "audit", dir, "--format", "json"], {
    env: { ...process.env, FLUXGUARD_CACHE: "off" },
    encoding: "utf8",
    maxBuffer: 1 << 30,
  });
  if (r.status !== 0 && r.status !== 1) {
    console.error(`${dir}: audit exited ${r.status}: ${(r.stderr || "").trim().split("\n").pop()}`);
    differ++;
    continue;
  }
  const file = join(recordDir, nameOf(dir));
  if (mode === "record") {
    writeFileSync(file, r.stdout);
    const s = JSON.parse(r.stdout).summary;
    console.log(`recorded ${dir}: ${s.objects} objects, ${s.findings} findings`);
    continue;
  }
  if (!existsSync(file)) {
    console.log(`NEW  ${dir} (no record)`);
    differ++;
    continue;
  }
  const before = readFileSync(file, "utf8");
  if (before === r.stdout) {
    console.log(`same ${dir}`);
    continue;
  }
  differ++;
  console.log(`DIFF ${dir}`);
  writeFileSync(`${file}.now`, r.stdout);
  try {
    execFileSync("diff", ["-u", file, `${file}.now`], { stdio: ["ignore", "inherit", "inherit"] });
  } catch {
    /* diff exits 1 on a difference */
  }
}
console.log(mode === "record" ? `${dirs.length} trees recorded in ${recordDir}` : `${dirs.length} trees compared: ${differ ? `${differ} differ` : "all identical"}`);
process.exit(differ ? 1 : 0);
