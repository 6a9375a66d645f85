/**
 * Hostile repositories (issue 11): what a pull request can put in the scanned tree must never
 * make fluxguard or kustomize read outside the root, and spec.path is clamped like Flux does.
 * Each kind runs with the kustomize server (confined file system) and with the kustomize CLI
 * (handed a mirror without outside links).
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { runAudit } from "../engine/audit.js";
import { formatJson } from "../formatters/json.js";
import { formatText } from "../formatters/text.js";
import { crb, fluxKustomization, hostileDir, mkfleet, writeTree } from "../testing/hostile.js";
import { findKustomize, type KustomizeTool } from "./kustomize.js";

const ENV = { PATH: process.env["PATH"], FLUXGUARD_CACHE: "off" };
const server = findKustomize({ PATH: process.env["PATH"] });
const cli = findKustomize({ PATH: process.env["PATH"], FLUXGUARD_KUSTOMIZE: "kubectl" });
const TOOLS: Array<[string, KustomizeTool | null]> = [
  ["server", server?.server ? server : null],
  ["kubectl kustomize", cli],
];

async function outputs(root: string, tool: KustomizeTool | null, env: Record<string, string | undefined> = ENV): Promise<{ all: string; json: string }> {
  const report = await runAudit({ root, env, ...(tool ? { kustomize: tool } : {}) });
  const json = formatJson(report);
  return { json, all: json + formatText(report, { color: false, verbose: true, quiet: false }) };
}

/** A fleet beside an `outside/` directory holding a ClusterRoleBinding named `outside-crb-canary`. */
function withOutside(): { d: string; t: string; outside: string } {
  const d = hostileDir();
  const outside = join(d, "outside");
  writeTree(outside, {
    "o.yaml": crb("outside-crb-canary"),
    "kustomization.yaml": "resources: [o.yaml]\n",
    "patch.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: innocent, namespace: default}\ndata: {leak: OUTSIDE-PATCH-CANARY}\n",
    "secret.txt": "OUTSIDE-FILE-CANARY\n",
  });
  return { d, t: mkfleet(join(d, "t")), outside };
}

const ESCAPES: Array<[string, (t: string, outside: string) => void]> = [
  ["a file link in a Flux-generated path", (t, o) => symlinkSync(join(o, "o.yaml"), join(t, "apps/evil/o.yaml"))],
  ["resources: [link]", (t, o) => {
    symlinkSync(join(o, "o.yaml"), join(t, "apps/evil/o.yaml"));
    writeFileSync(join(t, "apps/evil/kustomization.yaml"), "resources: [cm.yaml, o.yaml]\n");
  }],
  ["a symlinked directory as a base", (t, o) => {
    symlinkSync(o, join(t, "apps/base"));
    writeFileSync(join(t, "apps/evil/kustomization.yaml"), "resources: [cm.yaml, ../base]\n");
  }],
  ["a symlinked kustomization.yaml", (t, o) => {
    writeFileSync(join(o, "k.yaml"), "resources: [o.yaml]\n");
    symlinkSync(join(o, "k.yaml"), join(t, "apps/evil/kustomization.yaml"));
  }],
  ["a symlinked spec.path", (t, o) => {
    symlinkSync(o, join(t, "apps/linked"));
    writeFileSync(join(t, "clusters/prod/evil.yaml"), fluxKustomization("evil", "./apps/linked"));
  }],
  ["a symlinked Flux spec.components entry", (t, o) => {
    writeTree(o, { "comp/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources: [../o.yaml]\n" });
    symlinkSync(join(o, "comp"), join(t, "apps/comp"));
    writeFileSync(join(t, "apps/evil/kustomization.yaml"), "resources: [cm.yaml]\n");
    writeFileSync(join(t, "clusters/prod/evil.yaml"), fluxKustomization("evil", "./apps/evil", "  components: [../comp]\n"));
  }],
  ["a symlinked patch file", (t, o) => {
    symlinkSync(join(o, "patch.yaml"), join(t, "apps/evil/patch.yaml"));
    writeFileSync(join(t, "apps/evil/kustomization.yaml"), "resources: [cm.yaml]\npatches:\n  - path: patch.yaml\n");
  }],
  // Variants of our own: a generator input link, a lexical ../ escape, an absolute resource.
  ["a configMapGenerator file link", (t, o) => {
    symlinkSync(join(o, "secret.txt"), join(t, "apps/evil/secret.txt"));
    writeFileSync(join(t, "apps/evil/kustomization.yaml"), "resources: [cm.yaml]\nconfigMapGenerator:\n  - name: leak\n    files: [secret.txt]\n");
  }],
  ["a lexical ../ resource", (t) => writeFileSync(join(t, "apps/evil/kustomization.yaml"), "resources: [cm.yaml, ../../../outside/o.yaml]\n")],
  ["an absolute resource path", (t, o) => writeFileSync(join(t, "apps/evil/kustomization.yaml"), `resources: [cm.yaml, ${join(o, "o.yaml")}]\n`)],
  ["a directory link inside a base's tree", (t, o) => {
    mkdirSync(join(t, "apps/base2"));
    symlinkSync(o, join(t, "apps/base2/sub"));
    writeFileSync(join(t, "apps/base2/kustomization.yaml"), "resources: [sub/o.yaml]\n");
    writeFileSync(join(t, "apps/evil/kustomization.yaml"), "resources: [cm.yaml, ../base2]\n");
  }],
];

describe("symlink-escape: nothing outside the scanned root is read", () => {
  for (const [label, tool] of TOOLS) {
    for (const [name, plant] of ESCAPES) {
      it(`${name} (${label})`, { skip: tool === null ? `no ${label}` : false, timeout: 60_000 }, async () => {
        const { t, outside } = withOutside();
        plant(t, outside);
        const { all } = await outputs(t, tool);
        for (const canary of ["outside-crb-canary", "OUTSIDE-PATCH-CANARY", "OUTSIDE-FILE-CANARY"]) {
          assert.ok(!all.includes(canary), `${canary} must not appear in the output`);
        }
        // The fleet's own content is still audited.
        assert.match(all, /innocent|evil/);
      });
    }
  }
});

describe("environ-to-cache: the process environment never reaches output or the render cache", () => {
  for (const [label, tool] of TOOLS) {
    it(`a generator over /proc/self/environ (${label})`, { skip: tool === null ? `no ${label}` : false, timeout: 60_000 }, async () => {
      const d = hostileDir();
      const t = mkfleet(join(d, "t"));
      symlinkSync("/proc/self/environ", join(t, "apps/evil/environ.txt"));
      writeFileSync(join(t, "apps/evil/kustomization.yaml"), "resources: [cm.yaml]\nconfigMapGenerator:\n  - name: leak\n    files: [environ.txt]\n    envs: [environ.txt]\n");
      const cache = join(d, "cache");
      const { all } = await outputs(t, tool, { ...ENV, FLUXGUARD_CACHE: undefined, FLUXGUARD_CACHE_DIR: cache, CI_TOKEN: "ENVIRON-CANARY-91b2" });
      assert.ok(!all.includes("ENVIRON-CANARY-91b2"));
      for (const f of existsSync(cache) ? readdirSync(cache) : []) assert.ok(!readFileSync(join(cache, f), "utf8").includes("ENVIRON-CANARY-91b2"), f);
    });
  }
});

describe("spec-path-absolute: spec.path is clamped to the source root, as Flux's securejoin does", () => {
  for (const p of ["./apps/evil", "/apps/evil", "../apps/evil", "../../../../apps/evil", "/../apps/./evil/"]) {
    it(`path ${p} renders ./apps/evil`, { timeout: 60_000 }, async () => {
      const t = mkfleet(join(hostileDir(), "t"), {
        "apps/evil/crb.yaml": crb("team-escalate", "team"),
        "clusters/prod/evil.yaml": `apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: team, namespace: team}\nspec:\n  interval: 10m\n  path: "${p}"\n  prune: true\n  serviceAccountName: team-sa\n  targetNamespace: team\n  sourceRef: {kind: GitRepository, name: flux-system, namespace: flux-system}\n`,
      });
      const report = await runAudit({ root: t, env: ENV, ...(server ? { kustomize: server } : {}) });
      const f = report.findings.find((x) => x.ruleId === "tenant-applies-cluster-scoped");
      assert.ok(f, "the tenant's ClusterRoleBinding is rendered and flagged");
      assert.equal(f.severity, "high");
      assert.ok(!report.findings.some((x) => x.ruleId === "kustomization-not-rendered" && /leaves the source root/.test(x.message)));
    });
  }
});

describe("symlink-loop-hang: link loops end", () => {
  it("two `-> .` links in a Flux-generated path render the ConfigMap once, quickly", { timeout: 30_000 }, async () => {
    const t = mkfleet(join(hostileDir(), "t"));
    symlinkSync(".", join(t, "apps/evil/l1"));
    symlinkSync(".", join(t, "apps/evil/l2"));
    // Our variant: a loop through a parent directory.
    symlinkSync("..", join(t, "apps/evil/up"));
    const t0 = Date.now();
    const report = await runAudit({ root: t, env: ENV, ...(server ? { kustomize: server } : {}) });
    assert.ok(Date.now() - t0 < 20_000);
    const evil = report.rendering.reconcilers.find((r) => r.reconciler.startsWith("Kustomization/flux-system/evil"));
    assert.equal(evil?.objects, 1);
  });
});

describe("evasion-skipped-file: an object the audit cannot read never lets a run pass", () => {
  const CRB = crb("team-a-escalate", "team-a");
  const variants: Array<[string, string | Buffer]> = [
    ["padded past 4 MiB with a comment", `${CRB}# ${"p".repeat(4 * 1024 * 1024)}\n`],
    ["UTF-16 without a byte order mark", Buffer.from(CRB, "utf16le")],
    ["past the document bound", `${"---\n".repeat(10_001)}${CRB}`],
  ];
  for (const [name, content] of variants) {
    it(name, { timeout: 60_000 }, async () => {
      const t = mkfleet(join(hostileDir(), "t"), { "apps/evil/crb.yaml": content });
      const report = await runAudit({ root: t, env: ENV, ...(server ? { kustomize: server } : {}) });
      const f = report.findings.find((x) => x.ruleId === "input-not-assessed" && x.location?.file === "apps/evil/crb.yaml");
      assert.ok(f, "a high input-not-assessed finding names the file");
      assert.equal(f.severity, "high");
      assert.equal(report.summary.failed, true);
      assert.ok(report.posture.every((p) => p.verdict !== "defended"), "no threat is defended");
      assert.ok(report.posture.some((p) => p.verdict === "not-assessed" && p.because.includes("apps/evil/crb.yaml")), "the posture names what was not seen");
    });
  }
  for (const [name, encode] of [
    ["UTF-16 with a BOM", (s: string) => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(s, "utf16le")])],
    ["UTF-16BE with a BOM", (s: string) => Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(s, "utf16le").swap16()])],
    ["UTF-8 with a BOM", (s: string) => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(s)])],
  ] as const) {
    it(`${name} is read and audited like UTF-8`, { timeout: 60_000 }, async () => {
      const t = mkfleet(join(hostileDir(), "t"), {
        "apps/evil/crb.yaml": encode(CRB),
        "clusters/prod/evil.yaml": fluxKustomization("evil", "./apps/evil", "  serviceAccountName: team-sa\n  targetNamespace: team-a\n"),
      });
      const report = await runAudit({ root: t, env: ENV, ...(server ? { kustomize: server } : {}) });
      assert.ok(!report.findings.some((x) => x.ruleId === "input-not-assessed"));
      assert.ok(report.findings.some((x) => x.ruleId === "tenant-applies-cluster-scoped" && x.message.includes("team-a-escalate")), "the ClusterRoleBinding is audited");
    });
  }
});

describe("guard: secureJoin and decodeText", () => {
  it("secureJoin clamps like securejoin.SecureJoin", async () => {
    const { secureJoin } = await import("./guard.js");
    const d = hostileDir();
    mkdirSync(join(d, "a/b"), { recursive: true });
    symlinkSync("/etc", join(d, "a/etc-link"));
    symlinkSync("../../..", join(d, "a/up"));
    assert.equal(secureJoin(d, "/a/b"), join(d, "a/b"));
    assert.equal(secureJoin(d, "../../a/./b/"), join(d, "a/b"));
    assert.equal(secureJoin(d, "a/etc-link/passwd"), join(d, "etc/passwd"), "an absolute link target starts at the root");
    assert.equal(secureJoin(d, "a/up/x"), join(d, "x"), "a link climbing out stays at the root");
    assert.equal(secureJoin(d, ""), d);
  });
  it("decodeText reads BOM-marked UTF-16/32 and refuses other binary content", async () => {
    const { decodeText } = await import("./guard.js");
    const text = "kind: ConfigMap # é 😀\n";
    const le32 = Buffer.alloc(4 * [...text].length);
    [...text].forEach((ch, i) => le32.writeUInt32LE(ch.codePointAt(0)!, i * 4));
    assert.deepEqual(decodeText(Buffer.concat([Buffer.from([0xff, 0xfe, 0, 0]), le32])), { ok: true, text });
    assert.deepEqual(decodeText(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, "utf16le")])), { ok: true, text });
    assert.equal(decodeText(Buffer.from("a\0b")).ok, false);
  });
});

describe("temporary render directories are removed when a run is killed, or at the next start", () => {
  it("a dead run's directory is swept at the next start; a live one's is kept", { timeout: 60_000 }, async () => {
    const { spawnSync } = await import("node:child_process");
    const { tmpdir } = await import("node:os");
    const dead = spawnSync(process.execPath, ["-e", "0"]).pid!;
    const stale = join(tmpdir(), `fluxguard-render-${dead}-test`);
    const live = join(tmpdir(), `fluxguard-render-${process.pid}-test`);
    mkdirSync(join(stale, "w0"), { recursive: true });
    mkdirSync(live, { recursive: true });
    await runAudit({ root: mkfleet(join(hostileDir(), "t")), env: ENV, ...(server ? { kustomize: server } : {}) });
    assert.equal(existsSync(stale), false);
    assert.equal(existsSync(live), true);
    const { rmSync } = await import("node:fs");
    rmSync(live, { recursive: true });
  });

  it("SIGTERM removes the run's own directories and exits 143", { timeout: 120_000 }, async () => {
    const { spawn } = await import("node:child_process");
    const { tmpdir } = await import("node:os");
    const { REPO_ROOT } = await import("../testing/paths.js");
    const { rmSync } = await import("node:fs");
    let observed = false;
    for (let attempt = 0; attempt < 5 && !observed; attempt++) {
      const child = spawn(process.execPath, [join(REPO_ROOT, "dist/src/bin/fluxguard.js"), "audit", join(REPO_ROOT, "examples/fleet"), "--format", "json"], {
        env: { ...ENV, PATH: process.env["PATH"] },
        stdio: "ignore",
      });
      const exited = new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
      const mine = (): string[] => readdirSync(tmpdir()).filter((n) => n.startsWith(`fluxguard-render-${child.pid}-`));
      // Wait until the run is rendering (its own temporary directory exists), then kill it.
      let done = false;
      void exited.then(() => (done = true));
      while (!done && mine().length === 0) await new Promise((r) => setTimeout(r, 5));
      if (!done) child.kill("SIGTERM");
      const code = await exited;
      if (code === 143) {
        observed = true;
        assert.deepEqual(mine(), [], "no directory of the killed run is left");
      } else for (const n of mine()) rmSync(join(tmpdir(), n), { recursive: true, force: true });
    }
    assert.ok(observed, "a run was killed mid-render at least once");
  });
});

describe("bounds: hostile YAML never reaches kustomize, and fails the run in bounded time", () => {
  const bomb = "  x: &a [l,l,l,l,l,l,l,l,l]\n" + "bcdefghi".split("").map((c, i) => `  ${c}: &${c} [${Array(9).fill(`*${i === 0 ? "a" : "bcdefghi"[i - 1]}`).join(",")}]\n`).join("");
  const cases: Array<[string, Record<string, string>]> = [
    ["alias-bomb (billion laughs) in a rendered file", { "apps/evil/cm.yaml": `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: innocent, namespace: default}\ndata:\n${bomb}`, "apps/evil/kustomization.yaml": "resources: [cm.yaml]\n" }],
    ["alias-fanout (99 aliases of a 20,000-item list)", { "apps/evil/cm.yaml": `${"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: innocent, namespace: default}\n"}---\nbase: &x [${Array(20_000).fill("1").join(",")}]\n${Array.from({ length: 99 }, (_, k) => `u${k}: *x\n`).join("")}`, "apps/evil/kustomization.yaml": "resources: [cm.yaml]\n" }],
    ["deepnest-kustomize (a 5,000-deep flow mapping)", { "apps/evil/cm.yaml": `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: innocent, namespace: default}\nx-deep: ${"{a: ".repeat(5000)}1${"}".repeat(5000)}\n`, "apps/evil/kustomization.yaml": "resources: [cm.yaml]\n" }],
    ["our variant: a 300-deep block of sequences", { "apps/evil/cm.yaml": `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: innocent, namespace: default}\ndata:\n${Array.from({ length: 300 }, (_, i) => `${"  ".repeat(i + 1)}- `).join("\n")}x\n`, "apps/evil/kustomization.yaml": "resources: [cm.yaml]\n" }],
    ["docsep-storm (100,000 empty documents before a kustomization)", { "apps/evil/kustomization.yaml": `${"---\n".repeat(100_000)}resources: [cm.yaml]\n` }],
  ];
  for (const [name, files] of cases) {
    it(name, { timeout: 60_000 }, async () => {
      const t = mkfleet(join(hostileDir(), "t"), files);
      const t0 = Date.now();
      const report = await runAudit({ root: t, env: ENV, ...(server ? { kustomize: server } : {}) });
      assert.ok(Date.now() - t0 < 20_000, `took ${Date.now() - t0} ms`);
      const f = report.findings.find((x) => x.ruleId === "input-not-assessed" && x.location?.file?.startsWith("apps/evil/"));
      assert.ok(f, JSON.stringify(report.findings.map((x) => [x.ruleId, x.message])));
      assert.equal(report.summary.failed, true);
      const evil = report.rendering.reconcilers.find((r) => r.reconciler.startsWith("Kustomization/flux-system/evil"));
      assert.ok(!evil?.problems.some((p) => /kustomize failed|timed out/.test(p)), "never handed to kustomize");
    });
  }

  it("oversized-resource-read: a 2 GiB (sparse) resource is never read, by fluxguard or kustomize", { timeout: 60_000 }, async () => {
    const t = mkfleet(join(hostileDir(), "t"), { "apps/evil/kustomization.yaml": "resources: [cm.yaml, big.yaml]\n" });
    const { truncateSync } = await import("node:fs");
    writeFileSync(join(t, "apps/evil/big.yaml"), "");
    truncateSync(join(t, "apps/evil/big.yaml"), 2 * 1024 ** 3);
    const t0 = Date.now();
    const report = await runAudit({ root: t, env: ENV, ...(server ? { kustomize: server } : {}) });
    assert.ok(Date.now() - t0 < 20_000);
    assert.ok(report.findings.some((x) => x.ruleId === "input-not-assessed" && x.location?.file === "apps/evil/big.yaml" && /larger than 4194304 bytes/.test(x.message)));
  });

  it("dupdocs: a sync file repeated 300 times audits in linear time", { timeout: 60_000 }, async () => {
    const { GOTK_SYNC } = await import("../testing/hostile.js");
    const t = mkfleet(join(hostileDir(), "t"), { "clusters/prod/flux-system/gotk-sync.yaml": `${GOTK_SYNC}---\n`.repeat(300) });
    const t0 = Date.now();
    const report = await runAudit({ root: t, env: ENV, ...(server ? { kustomize: server } : {}) });
    assert.ok(Date.now() - t0 < 20_000, `took ${Date.now() - t0} ms`);
    assert.deepEqual(report.summary.clusters.filter((c) => !c.startsWith("(")), ["clusters/prod"]);
  });

  it("collection-key-warning: no library warning reaches stderr", { timeout: 30_000 }, async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(w.message);
    process.on("warning", onWarning);
    try {
      const t = mkfleet(join(hostileDir(), "t"), { "apps/evil/x.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  ? {a: 1}\n  : 2\n  name: x\n" });
      await runAudit({ root: t, env: ENV, kustomize: null });
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      process.off("warning", onWarning);
    }
    assert.deepEqual(warnings, []);
  });
});
