/**
 * Node.js support: every file-based command runs on Node 20.19+ (what many machines and CI
 * images ship), `audit --cluster` included (its client is loader/kube-http.ts on node:https).
 * Only what needs @kubernetes/client-node (kubeconfig `exec`/`auth-provider` users, the
 * webhook's informers) needs Node >= 22.19, and says so when it is used.
 * The bin is run with the Node this suite runs on, and with the machine's own Node 20 at
 * /usr/bin/node (or FLUXGUARD_NODE20) when it exists.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { VERSION } from "../core/version.js";
import { KUBE_CLIENT_MIN_NODE, nodeAtLeast } from "../loader/kube-client.js";
import { runCli } from "../testing/cli.js";
import { REPO_ROOT } from "../testing/paths.js";

const BIN = join(REPO_ROOT, "dist", "src", "bin", "fluxguard.js");

/** A Node 20 binary: FLUXGUARD_NODE20, or the machine's /usr/bin/node when it is version 20. */
function node20(): string | null {
  for (const p of [process.env["FLUXGUARD_NODE20"], "/usr/bin/node"]) {
    if (!p || !existsSync(p)) continue;
    const v = spawnSync(p, ["-p", "process.versions.node"], { encoding: "utf8" }).stdout.trim();
    if (v.startsWith("20.")) return p;
  }
  return null;
}

test("nodeAtLeast compares major and minor", () => {
  assert.equal(nodeAtLeast("20.20.2", [22, 19]), false);
  assert.equal(nodeAtLeast("22.12.0", [22, 19]), false);
  assert.equal(nodeAtLeast("22.19.0", [22, 19]), true);
  assert.equal(nodeAtLeast("24.1.0", [22, 19]), true);
  assert.equal(nodeAtLeast("23.0.0", [22, 19]), true);
});

test("audit --cluster on this Node: no Node version error when the client can load", { skip: !nodeAtLeast(process.versions.node, KUBE_CLIENT_MIN_NODE) && "this Node is older than the cluster client needs" }, async () => {
  const r = await runCli(["audit", "--cluster", "--kubeconfig", "/nonexistent/kubeconfig"]);
  assert.equal(r.code, 2);
  assert.doesNotMatch(r.stderr, /needs Node\.js/);
});

const n20 = node20();
const skip20 = n20 ? false : "no Node 20 on this machine (/usr/bin/node or FLUXGUARD_NODE20)";

test("Node 20: --version, a file audit, verify's usage and explain run", { skip: skip20 }, () => {
  const run = (...args: string[]) => spawnSync(n20!, [BIN, ...args], { encoding: "utf8", cwd: REPO_ROOT, env: { ...process.env, FLUXGUARD_CACHE: "off" } });
  const v = run("--version");
  assert.equal(v.status, 0, v.stderr);
  assert.equal(v.stdout.trim(), VERSION);
  const a = run("audit", "examples/fleet", "--format", "json");
  assert.equal(a.status, 1, a.stderr);
  const report = JSON.parse(a.stdout) as { summary: { findings: number } };
  assert.ok(report.summary.findings > 10);
  const e = run("explain", "gitrepository-unverified");
  assert.equal(e.status, 0, e.stderr);
  const h = run("verify", "--help");
  assert.equal(h.status, 0, h.stderr);
});

test("Node 20: audit --cluster runs (a missing context is the error), and an exec kubeconfig user says, alone and clearly, that it needs a newer Node", { skip: skip20 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "fluxguard-node20-"));
  const env = { PATH: process.env["PATH"] ?? "", HOME: dir };
  const none = spawnSync(n20!, [BIN, "audit", "--cluster"], { encoding: "utf8", cwd: REPO_ROOT, env });
  assert.equal(none.status, 2);
  assert.match(none.stderr, /^fluxguard: no Kubernetes context is set/);
  const kubeconfig = join(dir, "exec.yaml");
  writeFileSync(
    kubeconfig,
    "apiVersion: v1\nkind: Config\ncurrent-context: x\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:9'}}]\nusers: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: /bin/false}}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n",
  );
  const r = spawnSync(n20!, [BIN, "audit", "--cluster", "--kubeconfig", kubeconfig], { encoding: "utf8", cwd: REPO_ROOT, env });
  assert.equal(r.status, 2);
  assert.equal(r.stdout, "");
  const lines = r.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 2, r.stderr);
  assert.match(lines[0]!, /^fluxguard: a kubeconfig user with exec needs Node\.js >= 22\.19 .*this is Node\.js v20\./);
  assert.match(lines[1]!, /^hint: run it with Node 24 LTS/);
});
