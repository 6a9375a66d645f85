#!/usr/bin/env node
// Generates src/rules/api/schemas/flux-crds.json, the Flux CRD schema data that the
// flux-schema-violation and flux-api-removed rules validate against. Never edit that file by
// hand: run this script.
//
//   node scripts/gen-flux-schemas.mjs            # needs Go (1.21+) and the Go module proxy
//
// How it works:
//   1. `go mod download -json github.com/fluxcd/flux2/v2@<RELEASE>`: the release's
//      manifests/bases/<controller>/kustomization.yaml pins the controller versions it ships
//      (the URL of <controller>.crds.yaml).
//   2. `go mod download -json github.com/fluxcd/<controller>@<pinned version>`: the module
//      carries the CRDs the release installs, in config/crd/bases/*.yaml.
//   3. For every kind and served API version: the OpenAPI v3 schema with its validation
//      keywords and x-kubernetes-validations (CEL) rules, descriptions dropped, and where it
//      came from (module, file, sha256).
// Modules the proxy cannot serve are listed under "unavailable" in the output. Modules that
// `go mod download` refuses (a newer Go in their go.mod, or no checksum-database entry) are
// taken from the proxy's zip instead, and their "sum" is that zip's sha256.
// To move to a new Flux release, change RELEASE, run the script, and review the diff.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";

/** The flux2 release whose CRDs fluxguard validates against. */
const RELEASE = "v2.9.4";
/**
 * Modules beside the flux2 release: the Flux Operator (FluxInstance, ResourceSet). Its go.mod
 * asks for a newer Go than these machines have, which `go mod download` refuses even though
 * nothing is compiled; the script then takes the module zip from the proxy itself.
 */
const EXTRA = [{ component: "flux-operator", module: "github.com/controlplaneio-fluxcd/flux-operator", version: "v0.59.0" }];
const FLUX2 = "github.com/fluxcd/flux2/v2";
const root = fileURLToPath(new URL("..", import.meta.url));
const OUT = join(root, "src/rules/api/schemas/flux-crds.json");

function download(module, version) {
  try {
    const out = execFileSync("go", ["mod", "download", "-json", `${module}@${version}`], {
      encoding: "utf8",
      env: { ...process.env, GOFLAGS: "-mod=mod" },
      stdio: ["ignore", "pipe", "pipe"],
      cwd: root,
    });
    const info = JSON.parse(out);
    if (info.Error || !info.Dir) return { error: info.Error ?? "no Dir" };
    return { dir: info.Dir, sum: info.Sum };
  } catch (e) {
    let msg = e.message;
    try {
      msg = JSON.parse(e.stdout).Error ?? msg;
    } catch {
      /* not JSON */
    }
    return { error: msg.split("\n")[0] };
  }
}

/** A module's source straight from the Go module proxy (when `go mod download` refuses it). */
function downloadZip(module, version) {
  const proxy = execFileSync("go", ["env", "GOPROXY"], { encoding: "utf8" }).trim().split(/[,|]/).find((p) => p.startsWith("http"));
  if (!proxy) return { error: "no HTTP GOPROXY" };
  const dir = join(root, "node_modules", ".cache", "gen-flux-schemas", `${module.replaceAll("/", "_")}@${version}`);
  if (!existsSync(dir)) {
    mkdirSync(dir, { recursive: true });
    const zip = join(dir, "module.zip");
    execFileSync("curl", ["-fsSL", "-o", zip, `${proxy}/${module.toLowerCase()}/@v/${version}.zip`]);
    execFileSync("unzip", ["-q", zip, "-d", dir]);
  }
  const sum = `zip-sha256:${createHash("sha256").update(readFileSync(join(dir, "module.zip"))).digest("hex")}`;
  return { dir: join(dir, `${module}@${version}`), sum };
}

/** The module path of a controller; source-watcher moved to /v2 with its v2 releases. */
function modulePath(component, version) {
  const major = Number(version.replace(/^v/, "").split(".")[0]);
  return `github.com/fluxcd/${component}${major >= 2 ? `/v${major}` : ""}`;
}

function pins(flux2Dir) {
  const out = {};
  const bases = join(flux2Dir, "manifests/bases");
  for (const component of readdirSync(bases).sort()) {
    const k = join(bases, component, "kustomization.yaml");
    if (!existsSync(k)) continue;
    const m = new RegExp(`releases/download/(v[0-9][^/]*)/${component}\\.crds\\.yaml`).exec(readFileSync(k, "utf8"));
    if (m) out[component] = m[1];
  }
  return out;
}

/** Drops documentation from a schema; keeps every validation keyword. */
function strip(schema) {
  if (Array.isArray(schema)) return schema.map(strip);
  if (schema === null || typeof schema !== "object") return schema;
  const out = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k === "description") continue;
    // `properties` maps field names to schemas: keep a field even if it is called "description".
    if (k === "properties" || k === "patternProperties" || k === "definitions") {
      out[k] = Object.fromEntries(Object.entries(v).map(([name, s]) => [name, strip(s)]));
    } else out[k] = strip(v);
  }
  return out;
}

const flux2 = download(FLUX2, RELEASE);
if (flux2.error) {
  console.error(`fluxguard: cannot download ${FLUX2}@${RELEASE}: ${flux2.error}`);
  process.exit(2);
}
const pinned = pins(flux2.dir);
const kinds = {};
const modules = {};
const unavailable = [];
const sources = [
  ...Object.entries(pinned).map(([component, version]) => ({ component, module: modulePath(component, version), version })),
  ...EXTRA.map((e) => ({ ...e, zipFallback: true })),
];
for (const { component, module: mod, version, zipFallback } of sources) {
  let got = download(mod, version);
  // `go mod download` refuses a module whose go.mod wants a newer Go, or that the checksum
  // database does not list (source-watcher v2 at the time of writing); the proxy still serves
  // its zip over HTTPS, and the output records the zip's sha256.
  if (got.error && (zipFallback || /verifying go\.mod|sum\.golang\.org/.test(got.error)) && /requires go|verifying go\.mod|sum\.golang\.org/.test(got.error)) got = downloadZip(mod, version);
  if (got.error) {
    unavailable.push({ module: `${mod}@${version}`, error: got.error });
    console.error(`skip ${mod}@${version}: ${got.error}`);
    continue;
  }
  modules[component] = { module: mod, version, sum: got.sum };
  const crdDir = join(got.dir, "config/crd/bases");
  if (!existsSync(crdDir)) continue;
  for (const file of readdirSync(crdDir).filter((f) => /\.ya?ml$/.test(f)).sort()) {
    const text = readFileSync(join(crdDir, file), "utf8");
    const sha256 = createHash("sha256").update(text).digest("hex");
    for (const doc of parseAllDocuments(text)) {
      const crd = doc.toJS();
      if (crd?.kind !== "CustomResourceDefinition") continue;
      const { group, names, scope } = crd.spec;
      const versions = {};
      let storage = null;
      for (const v of crd.spec.versions) {
        if (v.storage) storage = v.name;
        if (!v.served) continue;
        versions[v.name] = { schema: strip(v.schema?.openAPIV3Schema ?? {}), ...(v.deprecated ? { deprecated: v.deprecationWarning ?? true } : {}) };
      }
      kinds[`${group}/${names.kind}`] = { group, kind: names.kind, plural: names.plural, scope, storage, versions, from: { module: `${mod}@${version}`, file: `config/crd/bases/${file}`, sha256 } };
    }
  }
}

const data = {
  $comment: "Generated by scripts/gen-flux-schemas.mjs from the CRDs in the Go modules of the Flux controllers that the flux2 release pins. Do not edit.",
  flux: RELEASE,
  modules,
  unavailable,
  kinds: Object.fromEntries(Object.keys(kinds).sort().map((k) => [k, kinds[k]])),
};
mkdirSync(dirname(OUT), { recursive: true });
const tmp = `${OUT}.tmp`;
writeFileSync(tmp, JSON.stringify(data, null, 1) + "\n");
renameSync(tmp, OUT);
console.log(`fluxguard: wrote ${Object.keys(kinds).length} kinds of Flux ${RELEASE} to ${OUT.slice(root.length)}`);
