#!/usr/bin/env node
// Builds fluxguard-kustomize (tools/kustomize-server) into dist/kustomize-server/ when Go is
// on PATH. fluxguard uses it for kustomize builds when present (several times faster than a
// `kubectl kustomize` process per build) and falls back to kustomize or kubectl otherwise.
//
//   node scripts/build-kustomize-server.mjs             lenient (npm's prepare): no Go, or a failed build, is a warning
//   node scripts/build-kustomize-server.mjs --required  `npm run build:kustomize`: any failure exits 1
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, statSync } from "node:fs";
import { join } from "node:path";

const required = process.argv.includes("--required");
const root = new URL("..", import.meta.url).pathname;
const src = join(root, "tools", "kustomize-server");
const out = join(root, "dist", "kustomize-server", "fluxguard-kustomize");

function give_up(message) {
  console.error(`fluxguard: ${message}`);
  process.exit(required ? 1 : 0);
}

if (spawnSync("go", ["version"], { stdio: "ignore" }).status !== 0) {
  give_up("Go is not on PATH; not building fluxguard-kustomize (audits use kustomize or `kubectl kustomize` instead)");
}
const newest = Math.max(...["main.go", "go.mod", "go.sum"].map((f) => statSync(join(src, f)).mtimeMs));
if (existsSync(out) && statSync(out).mtimeMs >= newest && !process.argv.includes("--force")) process.exit(0);
mkdirSync(join(root, "dist", "kustomize-server"), { recursive: true });
const t0 = Date.now();
const r = spawnSync("go", ["build", "-trimpath", "-ldflags=-s -w", "-o", out, "."], { cwd: src, stdio: ["ignore", "inherit", "inherit"], env: { ...process.env, CGO_ENABLED: "0" } });
if (r.status !== 0) give_up(`building fluxguard-kustomize failed (exit ${r.status}); audits use kustomize or \`kubectl kustomize\` instead`);
console.error(`fluxguard: built ${out} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
