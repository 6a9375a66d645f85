#!/usr/bin/env node
// Builds the Flux Operator CLI (`flux-operator`) from its Go module at a pinned version into
// dist/flux-operator/. fluxguard runs `flux-operator build resourceset` (offline) to expand
// ResourceSets; without it, what a ResourceSet creates is reported "not assessed".
//
// Cached per version in $FLUXGUARD_TOOLS_CACHE, else $XDG_CACHE_HOME/fluxguard/tools, else
// ~/.cache/fluxguard/tools: a second `npm ci` copies the cached build instead of compiling.
// The module needs Go 1.27; an older local Go fetches go1.27.3 from the Go module proxy
// (GOTOOLCHAIN), which is the only network it uses.
//
//   node scripts/build-flux-operator.mjs             lenient (npm's prepare): no Go, or a failed build, is a warning
//   node scripts/build-flux-operator.mjs --required  `npm run build:flux-operator` and CI: any failure exits 1
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, renameSync, rmSync, chmodSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

export const FLUX_OPERATOR_MODULE = "github.com/controlplaneio-fluxcd/flux-operator";
export const FLUX_OPERATOR_VERSION = "v0.59.0";
const TOOLCHAIN = "go1.27.3";

const required = process.argv.includes("--required");
const force = process.argv.includes("--force");
const root = new URL("..", import.meta.url).pathname;
const outDir = join(root, "dist", "flux-operator");
const outBin = join(outDir, "flux-operator");

function give_up(message) {
  console.error(`fluxguard: ${message}; what ResourceSets create will be reported "not assessed"`);
  process.exit(required ? 1 : 0);
}

const cacheBase =
  process.env.FLUXGUARD_TOOLS_CACHE ??
  join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "fluxguard", "tools");
const cacheDir = join(cacheBase, `flux-operator-${FLUX_OPERATOR_VERSION}`);
const cachedBin = join(cacheDir, "flux-operator");

function install() {
  mkdirSync(outDir, { recursive: true });
  copyFileSync(cachedBin, `${outBin}.tmp`);
  renameSync(`${outBin}.tmp`, outBin);
  chmodSync(outBin, 0o755);
}

if (!force && existsSync(outBin)) {
  const v = spawnSync(outBin, ["version", "--client"], { encoding: "utf8" });
  if (v.status === 0 && v.stdout.includes(FLUX_OPERATOR_VERSION.slice(1))) process.exit(0);
}
if (!force && existsSync(cachedBin)) {
  install();
  console.error(`fluxguard: flux-operator ${FLUX_OPERATOR_VERSION} copied from the cache ${cacheDir}`);
  process.exit(0);
}

if (spawnSync("go", ["version"], { stdio: "ignore" }).status !== 0) give_up("Go is not on PATH; not building the Flux Operator CLI");
const goVersion = spawnSync("go", ["env", "GOVERSION"], { encoding: "utf8" }).stdout.trim();
const [, major, minor] = /^go(\d+)\.(\d+)/.exec(goVersion) ?? [];
const env = { ...process.env, CGO_ENABLED: "0" };
// The module declares go 1.27; an older Go may fetch the approved toolchain from the proxy.
if (!process.env.GOTOOLCHAIN && (Number(major) < 1 || (Number(major) === 1 && Number(minor) < 27))) env.GOTOOLCHAIN = TOOLCHAIN;

const staging = `${cacheDir}.tmp-${process.pid}`;
rmSync(staging, { recursive: true, force: true });
mkdirSync(staging, { recursive: true });
const t0 = Date.now();
const built = spawnSync(
  "go",
  ["install", "-trimpath", `-ldflags=-s -w -X main.VERSION=${FLUX_OPERATOR_VERSION.slice(1)}`, `${FLUX_OPERATOR_MODULE}/cmd/cli@${FLUX_OPERATOR_VERSION}`],
  { cwd: staging, stdio: ["ignore", "inherit", "inherit"], env: { ...env, GOBIN: staging } },
);
if (built.status !== 0) {
  rmSync(staging, { recursive: true, force: true });
  give_up(`building ${FLUX_OPERATOR_MODULE}/cmd/cli@${FLUX_OPERATOR_VERSION} failed (exit ${built.status})`);
}
renameSync(join(staging, "cli"), join(staging, "flux-operator"));
rmSync(cacheDir, { recursive: true, force: true });
mkdirSync(cacheBase, { recursive: true });
renameSync(staging, cacheDir);
install();
console.error(`fluxguard: built flux-operator ${FLUX_OPERATOR_VERSION} in ${((Date.now() - t0) / 1000).toFixed(1)} s (cached in ${cacheDir})`);
