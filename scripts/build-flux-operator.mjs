#!/usr/bin/env node
// Builds the Flux Operator CLI (`flux-operator`) from its Go module at a pinned version into
// dist/flux-operator/. fluxguard runs `flux-operator build resourceset` (offline) to expand
// ResourceSets; without it, what a ResourceSet creates is reported "not assessed".
//
// Beside it, for `flux-operator build instance` offline: tools/flux-distribution built as
// fluxguard-flux-distribution (a loopback OCI registry, go-containerregistry's), and the layer
// it serves, flux-distribution.tar.gz: `config/data/flux` of the same flux-operator module
// version, i.e. the Flux manifests the operator ships in its own image. Without them a
// FluxInstance's controller arguments are inferred from spec.cluster (and the report says so).
//
// Cached per version in $FLUXGUARD_TOOLS_CACHE, else $XDG_CACHE_HOME/fluxguard/tools, else
// ~/.cache/fluxguard/tools: a second `npm ci` copies the cached build instead of compiling.
// The module needs Go 1.27; an older local Go fetches go1.27.3 from the Go module proxy
// (GOTOOLCHAIN), which is the only network it uses.
//
//   node scripts/build-flux-operator.mjs             lenient (npm's prepare): no Go, or a failed build, is a warning
//   node scripts/build-flux-operator.mjs --required  `npm run build:flux-operator` and CI: any failure exits 1
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, chmodSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
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
const DIST_SERVER = "fluxguard-flux-distribution";
const DIST_LAYER = "flux-distribution.tar.gz";
// The distribution server's source changes with fluxguard, so its cache entry is keyed by its content.
const distSrc = join(root, "tools", "flux-distribution");
const distHash = existsSync(distSrc)
  ? createHash("sha256")
      .update(["go.mod", "go.sum", "main.go"].map((f) => readFileSync(join(distSrc, f), "utf8")).join("\0"))
      .digest("hex")
      .slice(0, 16)
  : null;
const distDir = join(cacheBase, `flux-distribution-${FLUX_OPERATOR_VERSION}-${distHash}`);

function copyInto(from, to, mode) {
  copyFileSync(from, `${to}.tmp`);
  renameSync(`${to}.tmp`, to);
  chmodSync(to, mode);
}

function install() {
  mkdirSync(outDir, { recursive: true });
  copyInto(cachedBin, outBin, 0o755);
}

function installDistribution() {
  copyInto(join(distDir, DIST_SERVER), join(outDir, DIST_SERVER), 0o755);
  copyInto(join(distDir, DIST_LAYER), join(outDir, DIST_LAYER), 0o644);
}

const distributionReady = () => existsSync(join(distDir, DIST_SERVER)) && existsSync(join(distDir, DIST_LAYER));
const distributionInstalled = () => existsSync(join(outDir, DIST_SERVER)) && existsSync(join(outDir, DIST_LAYER));

/**
 * Builds the distribution server and packs the layer from the flux-operator module (which
 * `go install` of the CLI has just put in the module cache; `go mod download` fetches it
 * otherwise, from the Go module proxy). Lenient: the CLI works without it.
 */
function buildDistribution(env) {
  if (!distHash) return "tools/flux-distribution is not in this package";
  const dl = spawnSync("go", ["mod", "download", "-json", `${FLUX_OPERATOR_MODULE}@${FLUX_OPERATOR_VERSION}`], { cwd: tmpdir(), encoding: "utf8", env });
  let moduleDir;
  try {
    moduleDir = JSON.parse(dl.stdout).Dir;
  } catch {
    return `go mod download ${FLUX_OPERATOR_MODULE}@${FLUX_OPERATOR_VERSION} failed: ${(dl.stderr || "").trim().split("\n")[0]}`;
  }
  const staging = `${distDir}.tmp-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  const b = spawnSync("go", ["build", "-trimpath", "-ldflags=-s -w", "-o", join(staging, DIST_SERVER), "."], { cwd: distSrc, stdio: ["ignore", "inherit", "inherit"], env: { ...env, CGO_ENABLED: "0" } });
  if (b.status !== 0) {
    rmSync(staging, { recursive: true, force: true });
    return `building tools/flux-distribution failed (exit ${b.status})`;
  }
  const p = spawnSync(join(staging, DIST_SERVER), ["pack", "-data", join(moduleDir, "config", "data"), "-o", join(staging, DIST_LAYER)], { stdio: ["ignore", "inherit", "inherit"] });
  if (p.status !== 0) {
    rmSync(staging, { recursive: true, force: true });
    return `packing the Flux distribution from ${moduleDir}/config/data failed (exit ${p.status})`;
  }
  rmSync(distDir, { recursive: true, force: true });
  mkdirSync(cacheBase, { recursive: true });
  renameSync(staging, distDir);
  return null;
}

/** Makes sure the distribution is installed; a failure is a warning (--required: an error). */
function ensureDistribution(env) {
  if (!force && distributionInstalled() && distributionReady()) return;
  if (force || !distributionReady()) {
    const problem = spawnSync("go", ["version"], { stdio: "ignore" }).status === 0 ? buildDistribution(env) : "Go is not on PATH";
    if (problem) {
      console.error(`fluxguard: ${problem}; FluxInstance controller arguments will be inferred from spec.cluster`);
      if (required) process.exit(1);
      return;
    }
  }
  installDistribution();
}

function goEnv() {
  const goVersion = spawnSync("go", ["env", "GOVERSION"], { encoding: "utf8" }).stdout?.trim() ?? "";
  const [, major, minor] = /^go(\d+)\.(\d+)/.exec(goVersion) ?? [];
  const env = { ...process.env, CGO_ENABLED: "0" };
  // The module declares go 1.27; an older Go may fetch the approved toolchain from the proxy.
  if (!process.env.GOTOOLCHAIN && (Number(major) < 1 || (Number(major) === 1 && Number(minor) < 27))) env.GOTOOLCHAIN = TOOLCHAIN;
  return env;
}

if (!force && existsSync(outBin)) {
  const v = spawnSync(outBin, ["version", "--client"], { encoding: "utf8" });
  if (v.status === 0 && v.stdout.includes(FLUX_OPERATOR_VERSION.slice(1))) {
    ensureDistribution(goEnv());
    process.exit(0);
  }
}
if (!force && existsSync(cachedBin)) {
  install();
  console.error(`fluxguard: flux-operator ${FLUX_OPERATOR_VERSION} copied from the cache ${cacheDir}`);
  ensureDistribution(goEnv());
  process.exit(0);
}

if (spawnSync("go", ["version"], { stdio: "ignore" }).status !== 0) give_up("Go is not on PATH; not building the Flux Operator CLI");
const env = goEnv();

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
ensureDistribution(env);
