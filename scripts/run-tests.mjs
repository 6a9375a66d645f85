#!/usr/bin/env node
// Runs the compiled test files with node's built-in test runner.
// Unit tests: dist/src/**/*.test.js. End-to-end tests (--e2e): dist/src/**/*.e2e.test.js.
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";

const e2e = process.argv.includes("--e2e");
const extra = process.argv.slice(2).filter((a) => a !== "--e2e");
const root = new URL("..", import.meta.url).pathname;
const files = [];
function walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith(".test.js") && name.endsWith(".e2e.test.js") === e2e) files.push(p);
  }
}
walk(join(root, "dist", "src"));
files.sort();
if (files.length === 0) {
  if (e2e) {
    console.log("fluxguard tests: no end-to-end tests found");
    process.exit(0);
  }
  console.error("fluxguard tests: no compiled tests found; run `npx tsc -p .` first");
  process.exit(2);
}
const filter = extra.filter((a) => !a.startsWith("-"));
const selected = filter.length ? files.filter((f) => filter.some((x) => f.includes(x))) : files;
// One reporter (scripts/test-reporter.mjs) that ends with `N passed, N failed`; flags given
// after `--` (e.g. --test-name-pattern) pass through to node.
const reporter = join(root, "scripts", "test-reporter.mjs");
const r = spawnSync(
  process.execPath,
  ["--test", `--test-reporter=${reporter}`, "--test-reporter-destination=stdout", ...extra.filter((a) => a.startsWith("-")), ...selected],
  { stdio: "inherit" },
);
process.exit(r.status ?? 1);
