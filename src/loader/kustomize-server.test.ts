/**
 * fluxguard-kustomize (tools/kustomize-server): the same rendered objects, source files and
 * patch attributions as the kustomize CLI, over the example fleets, every rule fixture with a
 * kustomize tree, and the corpus; and the server's protocol, errors and safety.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { defaultConfig } from "../core/config.js";
import { CORPUS_DIR, REPO_ROOT } from "../testing/paths.js";
import { defaultServerPath, findKustomize, openKustomize, type KustomizeTool } from "./kustomize.js";
import { KustomizeServerPool } from "./kustomize-server.js";
import { loadRepository } from "./repository.js";

const serverPath = defaultServerPath();
const haveGo = spawnSync("go", ["version"], { stdio: "ignore" }).status === 0;
const server = existsSync(serverPath) ? findKustomize({ ...process.env, FLUXGUARD_KUSTOMIZE: serverPath }) : null;
const cli = findKustomize({ ...process.env, FLUXGUARD_KUSTOMIZE_SERVER: "none" });
const temps: string[] = [];
after(() => temps.forEach((d) => rmSync(d, { recursive: true, force: true })));

function temp(): string {
  const d = mkdtempSync(join(tmpdir(), "fg-kserver-"));
  temps.push(d);
  return d;
}

function write(root: string, files: Record<string, string>): void {
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(join(root, rel, ".."), { recursive: true });
    writeFileSync(join(root, rel), text);
  }
}

/** Key order inside objects is not meaning: JSON from Go sorts keys, YAML keeps the file's order. */
function canon(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canon);
  if (v && typeof v === "object") return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canon((v as Record<string, unknown>)[k])]));
  // go-yaml reads a folded scalar with more-indented lines with one newline too many when it
  // re-reads kustomize's own output (the CLI path); the server hands over the parsed value.
  if (typeof v === "string") return v.replace(/\n\n(?= )/g, "\n");
  return v;
}

async function rendered(root: string, tool: KustomizeTool): Promise<string[]> {
  const r = await loadRepository({ root, config: defaultConfig(), kustomize: tool, cacheDir: null });
  for (const n of r.model.renderNotes) for (const p of n.problems) assert.doesNotMatch(p, /kustomize failed/, `${root}: ${n.reconciler}: ${p}`);
  return r.model.objects
    .filter((o) => o.origin.kind === "rendered")
    .map((o) => JSON.stringify([o.key.replace(/#\d+$/, ""), o.origin.file ?? null, o.origin.patchedBy ?? [], canon(o.object)]))
    .sort();
}

/** Fixture directories (valid and invalid cases) that contain a kustomize tree. */
function kustomizeFixtures(): string[] {
  const out: string[] = [];
  const hasKustomization = (d: string): boolean =>
    readdirSync(d).some((n) => n === "kustomization.yaml" || (statSync(join(d, n)).isDirectory() && hasKustomization(join(d, n))));
  const walk = (d: string, depth: number): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (!statSync(p).isDirectory()) continue;
      if (/\/(valid|invalid)\/[^/]+$/.test(p)) {
        if (hasKustomization(p)) out.push(p);
      } else if (depth < 6) walk(p, depth + 1);
    }
  };
  walk(join(REPO_ROOT, "src", "rules"), 0);
  return out.sort();
}

describe("fluxguard-kustomize", { skip: !server && !haveGo && "Go is not installed, so the server is not built" }, () => {
  it("is built by npm ci when Go is present (npm run build:kustomize)", () => {
    assert.ok(server, `${serverPath} is missing or does not run: npm run build:kustomize`);
    assert.match(server.version ?? "", /^fluxguard-kustomize protocol \d+, sigs\.k8s\.io\/kustomize\/api v0\.21\.1$/, "the kustomize API of Flux's kustomize-controller v1.9.5");
    assert.equal(server.label, "fluxguard-kustomize");
    const chosen = findKustomize({ PATH: process.env["PATH"] });
    assert.equal(chosen?.server, true, "preferred when present");
    // A server from older sources (another protocol) is passed over for the CLI.
    const stale = join(temp(), "fluxguard-kustomize");
    writeFileSync(stale, "#!/bin/sh\necho 'fluxguard-kustomize protocol 1, sigs.k8s.io/kustomize/api v0.21.1'\n", { mode: 0o755 });
    assert.notEqual(findKustomize({ PATH: process.env["PATH"], FLUXGUARD_KUSTOMIZE_SERVER: stale })?.server, true);
  });

  it("renders what the kustomize CLI renders, with the same source files and patch attributions", { skip: !cli && "no kustomize CLI to compare with" }, async () => {
    const roots = [join(REPO_ROOT, "examples", "fleet"), join(REPO_ROOT, "examples", "hardened-fleet"), ...kustomizeFixtures()];
    if (existsSync(CORPUS_DIR)) for (const name of readdirSync(CORPUS_DIR).sort()) roots.push(join(CORPUS_DIR, name));
    let objects = 0;
    let patched = 0;
    for (const root of roots) {
      const [a, b] = [await rendered(root, cli!), await rendered(root, server!)];
      assert.deepEqual(b, a, root);
      objects += a.length;
      patched += a.filter((x) => !x.includes(",[],")).length;
    }
    assert.ok(roots.length > 10 && objects > 100 && patched > 20, `a real comparison: ${roots.length} trees, ${objects} objects, ${patched} patched`);
  });

  it("marks objects of generators, components and Flux's own patches like kustomize's buildMetadata", { skip: !cli && "no kustomize CLI to compare with" }, async () => {
    const root = temp();
    write(root, {
      "clusters/c/flux-system/kustomization.yaml": "resources: [sync.yaml]\n",
      "clusters/c/flux-system/sync.yaml": `apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: flux-system, namespace: flux-system}
spec: {url: "ssh://git@example.com/fleet", ref: {branch: main}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: flux-system, namespace: flux-system}
spec:
  path: ./clusters/c
  sourceRef: {kind: GitRepository, name: flux-system}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: app, namespace: flux-system}
spec:
  path: ./app/overlay
  targetNamespace: team
  images: [{name: nginx, newTag: "1.27.1"}]
  patches:
    - patch: '[{"op": "replace", "path": "/spec/replicas", "value": 5}]'
      target: {kind: Deployment}
  sourceRef: {kind: GitRepository, name: flux-system}
`,
      "app/base/kustomization.yaml": "resources: [deploy.yaml, list.yaml]\nconfigMapGenerator:\n  - name: settings\n    literals: [a=b]\n",
      "app/base/deploy.yaml":
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: 1\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: web, image: nginx}]}\n",
      "app/base/list.yaml": "apiVersion: v1\nkind: List\nitems:\n  - {apiVersion: v1, kind: ServiceAccount, metadata: {name: web}}\n  - {apiVersion: v1, kind: Service, metadata: {name: web}, spec: {ports: [{port: 80}]}}\n",
      "app/component/kustomization.yaml":
        "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources: [extra.yaml]\npatches:\n  - patch: '[{\"op\": \"add\", \"path\": \"/metadata/labels\", \"value\": {\"c\": \"yes\"}}]'\n    target: {kind: ServiceAccount}\n",
      "app/component/extra.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra}\ndata: {x: y}\n",
      "app/overlay/kustomization.yaml":
        "resources: [../base]\ncomponents: [../component]\nconfigMapGenerator:\n  - name: settings\n    behavior: merge\n    literals: [c=d]\npatches:\n  - path: replicas.yaml\n",
      "app/overlay/replicas.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {replicas: 3}\n",
    });
    const [a, b] = [await rendered(root, cli!), await rendered(root, server!)];
    assert.deepEqual(b, a);
    const deploy = b.map((x) => JSON.parse(x) as [string, string | null, string[], { kind: string }]).find((x) => x[3].kind === "Deployment")!;
    assert.equal(deploy[1], "app/base/deploy.yaml");
    assert.deepEqual(deploy[2], ["app/component/kustomization.yaml", "app/overlay/kustomization.yaml", "flux"]);
  });

  it("a process that audits with the server exits on its own, leaving no server behind", () => {
    // A private copy, so that servers of tests running in parallel are not counted.
    const copy = join(temp(), "fluxguard-kustomize");
    copyFileSync(serverPath, copy);
    chmodSync(copy, 0o755);
    const script = `
      import { runAudit } from ${JSON.stringify(join(REPO_ROOT, "dist", "src", "engine", "audit.js"))};
      const r = await runAudit({ root: ${JSON.stringify(join(REPO_ROOT, "examples", "fleet"))} });
      console.log(JSON.stringify({ kustomize: r.rendering.kustomize, findings: r.findings.length }));`;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
      encoding: "utf8",
      timeout: 60_000,
      env: { ...process.env, FLUXGUARD_CACHE: "off", FLUXGUARD_KUSTOMIZE: copy },
    });
    assert.equal(r.status, 0, r.stderr);
    // As many findings as the CLI golden of the same fleet (rendered with kubectl there).
    const golden = JSON.parse(readFileSync(join(REPO_ROOT, "src", "cli", "golden", "fleet.json"), "utf8")) as { summary: { findings: number } };
    assert.deepEqual(JSON.parse(r.stdout.trim()), { kustomize: "fluxguard-kustomize", findings: golden.summary.findings });
    const stray = spawnSync("pgrep", ["-f", copy], { encoding: "utf8" }).stdout.trim();
    assert.equal(stray, "", "no fluxguard-kustomize process is left running");
  });

  describe("protocol and safety", () => {
    const pool = (): KustomizeServerPool => new KustomizeServerPool(serverPath, 1);

    it("reports kustomize's error and keeps serving", async () => {
      const p = pool();
      try {
        const root = temp();
        write(root, { "bad/kustomization.yaml": "resources: [missing.yaml]\n", "good/kustomization.yaml": "resources: [cm.yaml]\n", "good/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n" });
        await assert.rejects(p.build(JSON.stringify({ dir: join(root, "bad") })), /request without roots/);
        await assert.rejects(p.build(JSON.stringify({ dir: join(root, "bad"), roots: [root] })), /missing\.yaml/);
        await assert.rejects(p.build("not json"), /invalid character/);
        await assert.rejects(p.build(JSON.stringify({ dir: "" })), /without a directory/);
        const ok = JSON.parse(await p.build(JSON.stringify({ dir: join(root, "good"), roots: [root] }))) as Array<{ metadata: { name: string } }>;
        assert.deepEqual(
          ok.map((o) => o.metadata.name),
          ["x"],
        );
        // The file system kustomize sees is confined to the roots, by real path.
        const outside = temp();
        write(outside, { "o.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: outside-canary}\n" });
        write(root, { "esc/kustomization.yaml": "resources: [o.yaml]\n" });
        symlinkSync(join(outside, "o.yaml"), join(root, "esc/o.yaml"));
        await assert.rejects(p.build(JSON.stringify({ dir: join(root, "esc"), roots: [root] })), (e: Error) => /leaves the source root|no such file/.test(e.message) && !e.message.includes("outside-canary"));
        await assert.rejects(p.build(JSON.stringify({ dir: join(root, "good"), roots: [outside] })), /leaves the source root/);
        write(root, { "big/kustomization.yaml": "resources: [cm.yaml]\n", "big/cm.yaml": `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: "${"x".repeat(3000)}"}\n` });
        await assert.rejects(p.build(JSON.stringify({ dir: join(root, "big"), roots: [root], maxFileBytes: 1000 })), /larger than 1000 bytes/);
      } finally {
        await p.close();
      }
    });

    it("never runs exec plugins or KRM functions, and does not inflate Helm charts", async () => {
      const root = temp();
      const canary = join(root, "ran");
      write(root, {
        "fn/kustomization.yaml": "resources: [cm.yaml]\ntransformers: [fn.yaml]\n",
        "fn/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
        "fn/fn.yaml": `apiVersion: example.com/v1\nkind: Evil\nmetadata:\n  name: evil\n  annotations:\n    config.kubernetes.io/function: |\n      exec:\n        path: ${join(root, "evil.sh")}\n`,
        "evil.sh": `#!/bin/sh\ntouch '${canary}'\ncat\n`,
        "helm/kustomization.yaml": "helmCharts:\n  - name: podinfo\n    repo: https://stefanprodan.github.io/podinfo\n    version: 6.7.0\n",
      });
      spawnSync("chmod", ["+x", join(root, "evil.sh")]);
      const runner = openKustomize(server!, 1);
      try {
        await assert.rejects(runner.build(join(root, "fn"), [root]), /external plugins disabled; unable to load external plugin .Evil./);
        assert.equal(existsSync(canary), false, "the exec function never ran");
        await assert.rejects(runner.build(join(root, "helm"), [root]), /must specify --enable-helm/);
      } finally {
        await runner.close();
      }
    });

    it("a server that dies fails its build, and the pool starts another", { timeout: 30_000 }, async () => {
      const root = temp();
      write(root, { "k/kustomization.yaml": "resources: [cm.yaml]\n", "k/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n" });
      const crash = join(root, "crash.sh");
      writeFileSync(crash, "#!/bin/sh\nread line\nexit 3\n", { mode: 0o755 });
      const p = new KustomizeServerPool(crash, 1);
      try {
        await assert.rejects(p.build(JSON.stringify({ dir: join(root, "k") })), /exited \(code 3\)/);
        await assert.rejects(p.build(JSON.stringify({ dir: join(root, "k") })), /exited \(code 3\)/, "a fresh process, not a hang");
      } finally {
        await p.close();
      }
      // A server that cannot start at all: the build fails, and closing does not wait forever.
      const missing = new KustomizeServerPool(join(root, "no-such-server"), 1);
      await assert.rejects(missing.build(JSON.stringify({ dir: root })), /cannot run .*no-such-server: spawn .* ENOENT/);
      await missing.close();
      const hang = join(root, "hang.sh");
      writeFileSync(hang, "#!/bin/sh\nexec sleep 30\n", { mode: 0o755 });
      const h = new KustomizeServerPool(hang, 1);
      try {
        await assert.rejects(h.build(JSON.stringify({ dir: root }), 300), /timed out/);
      } finally {
        await h.close();
      }
    });

    it("builds wrapper kustomizations held in memory (files), never reading their directory from disk", async () => {
      const p = pool();
      try {
        const root = temp();
        write(root, { "app/kustomization.yaml": "resources: [cm.yaml]\n", "app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\n" });
        // A directory that does not exist on disk, and one that does but must not be read.
        for (const dir of [join(tmpdir(), `fluxguard-render-test-v${process.pid}`), join(root, "decoy")]) {
          if (dir.endsWith("decoy")) write(root, { "decoy/kustomization.yaml": "resources: [../nothing]\n" });
          const files = { [join(dir, "kustomization.yaml")]: JSON.stringify({ resources: ["w0"] }), [join(dir, "w0", "kustomization.yaml")]: JSON.stringify({ resources: [relative(join(dir, "w0"), join(root, "app"))], namePrefix: "p-" }) };
          const out = JSON.parse(await p.build(JSON.stringify({ dir, roots: [root], files }))) as Array<{ metadata: { name: string } }>;
          assert.deepEqual(out.map((o) => o.metadata.name), ["p-web"]);
        }
        await assert.rejects(p.build(JSON.stringify({ dir: join(root, "x"), roots: [root], files: { [join(root, "elsewhere.yaml")]: "{}" } })), /not inside the build directory/);
      } finally {
        await p.close();
      }
    });

    it("prestart starts servers ahead (never more than the pool's size) that then serve builds", async () => {
      const root = temp();
      write(root, { "k/kustomization.yaml": "resources: [cm.yaml]\n", "k/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: early}\n" });
      const log = join(root, "starts.log");
      const counting = join(root, "counting.sh");
      writeFileSync(counting, `#!/bin/sh\necho started >> ${JSON.stringify(log)}\nexec ${JSON.stringify(serverPath)} "$@"\n`, { mode: 0o755 });
      const p = new KustomizeServerPool(counting, 2);
      try {
        p.prestart(5);
        const req = JSON.stringify({ dir: join(root, "k"), roots: [root] });
        const built = await Promise.all([p.build(req), p.build(req), p.build(req)]);
        for (const b of built) assert.equal((JSON.parse(b) as Array<{ metadata: { name: string } }>)[0]!.metadata.name, "early");
        assert.equal(readFileSync(log, "utf8").split("\n").filter(Boolean).length, 2, "two processes, started ahead and reused");
      } finally {
        await p.close();
      }
    });
  });
});
