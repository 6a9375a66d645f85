/**
 * Output from hostile content (issue 11): control characters and GitHub workflow commands in
 * names and paths are escaped in every format; secret values never show, in any output or diff.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { runCli } from "../testing/cli.js";
import { fluxKustomization, hostileDir, mkfleet } from "../testing/hostile.js";
import { redactUrls, redactYaml } from "../core/redact.js";
import { escapeText } from "./escape.js";

const ENV = { FLUXGUARD_CACHE: "off" };

async function allFormats(dir: string, extra: string[] = []): Promise<{ text: string; json: string; sarif: string }> {
  const text = (await runCli(["audit", dir, "--no-color", "--verbose", "--group-by", "file", ...extra], { env: ENV })).stdout;
  const json = (await runCli(["audit", dir, "--format", "json", ...extra], { env: ENV })).stdout;
  const sarif = (await runCli(["audit", dir, "--format", "sarif", ...extra], { env: ENV })).stdout;
  return { text, json, sarif };
}

describe("ansi-injection: every printed string is escaped for its format", () => {
  const evilName = "x\u001b[2J\n::error title=fluxguard::0 findings, all clear\n##[error]forged\r\u0007\u202e";
  it("a Kustomization name with ESC, CR, LF, BEL, a bidi override and workflow commands", { timeout: 60_000 }, async () => {
    const t = mkfleet(join(hostileDir(), "t"), {
      "clusters/prod/inj.yaml": fluxKustomization("placeholder", "./apps/evil").replace("name: placeholder", `name: ${JSON.stringify(evilName)}`),
    });
    // Our variant: the same characters in a file name.
    writeFileSync(join(t, "apps/evil", "::warning file=x::\u001b[31mred.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: \"cm\\nnext\"\n  namespace: default\n");
    const { text, json, sarif } = await allFormats(t);
    for (const [name, out] of [["text", text], ["json", json], ["sarif", sarif]] as const) {
      assert.ok(!/[\u0000-\u0009\u000b-\u001f\u007f\u202e]/.test(out), `${name}: no control character`);
      for (const line of out.split("\n")) assert.ok(!/^\s*(::|##\[)/.test(line), `${name}: no workflow command line: ${line}`);
    }
    assert.match(text, /x\\u\{1b\}\[2J\\n:\\u\{3a\}error title=fluxguard:\\u\{3a\}0 findings/);
    // JSON keeps the exact name (escaped by JSON itself), so machines read what the repository says.
    const report = JSON.parse(json) as { findings: Array<{ resource: { name: string } | null }> };
    assert.ok(report.findings.some((f) => f.resource?.name === evilName));
    JSON.parse(sarif);
  });

  it("escapeText and the SARIF escaping in isolation", () => {
    assert.equal(escapeText("a\u001b[31mb\r\nc"), "a\\u{1b}[31mb\\r\\nc");
    assert.equal(escapeText("::set-output name=x::y"), ":\\u{3a}set-output name=x:\\u{3a}y");
    assert.equal(escapeText("ok-name_1.2"), "ok-name_1.2");
  });
});

describe("alias-value-echo and fix-dryrun-secret: secret values never show", () => {
  it("a parse error on a value starting with '*' names file, line and column, never the value", { timeout: 60_000 }, async () => {
    const t = mkfleet(join(hostileDir(), "t"), {
      "apps/evil/secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n  namespace: default\nstringData:\n  password: *Xk9#pQ2-ALIASLEAK\n",
      // Our variant: a bad escape in a double-quoted token.
      "apps/evil/secret2.yaml": 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: s2\n  namespace: default\nstringData:\n  token: "QUOTELEAK-\\q-9"\n',
    });
    const { text, json, sarif } = await allFormats(t);
    for (const out of [text, json, sarif]) {
      assert.ok(!out.includes("ALIASLEAK"));
      assert.ok(!out.includes("QUOTELEAK"));
    }
    const report = JSON.parse(json) as { findings: Array<{ ruleId: string; message: string; location: { file: string; line: number; column: number } | null }> };
    const f = report.findings.find((x) => x.ruleId === "parse-error" && x.location?.file === "apps/evil/secret.yaml");
    assert.deepEqual(f?.location, { file: "apps/evil/secret.yaml", line: 7, column: 13 });
    assert.match(f?.message ?? "", /^malformed YAML: an alias names an anchor that is not defined/);
  });

  it("fix --dry-run masks a neighbouring Secret, URL credentials and generator literals in diff context", { timeout: 60_000 }, async () => {
    const t = mkfleet(join(hostileDir(), "t"), {
      "clusters/prod/app.yaml": `apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: app
  namespace: flux-system
spec:
  url: https://deploy:FIXLEAK-CANARY-4@github.com/example/app
  interval: 1m
---
apiVersion: v1
kind: Secret
metadata:
  name: app-db
  namespace: flux-system
data: {token: FIXLEAK-CANARY-3}
stringData:
  cert: |
    FIXLEAK-CANARY-2
  password: FIXLEAK-CANARY-1
---
apiVersion: kustomize.toolkit.fluxcd.io/v1beta2
kind: Kustomization
metadata:
  name: app
  namespace: flux-system
spec:
  interval: 10m
  path: ./apps/evil
  prune: true
  postBuild:
    substitute:
      db_password: FIXLEAK-CANARY-5
  sourceRef:
    kind: GitRepository
    name: flux-system
`,
    });
    const r = await runCli(["fix", t, "--dry-run"], { env: ENV });
    assert.equal(r.code, 1);
    assert.match(r.stdout, /kustomize\.toolkit\.fluxcd\.io\/v1$/m, "the migration is in the diff");
    assert.ok(!/FIXLEAK-CANARY/.test(r.stdout + r.stderr), r.stdout);
    assert.match(r.stdout, /password: <redacted>/);
    assert.match(r.stdout, /https:\/\/\*\*\*@github\.com/);
  });

  it("redactUrls and redactYaml keep names and shapes", () => {
    assert.equal(redactUrls("ssh://git@github.com/x https://tok@h/x git+ssh://a:b@h/x"), "ssh://git@github.com/x https://***@h/x git+ssh://***@h/x");
    const y = "kind: Secret\ndata:\n  a: QQ==\n  b: |\n    multi\n    line\nmetadata:\n  name: keep\n---\nkind: Kustomization\nsecretGenerator:\n  - name: s\n    literals:\n      - pass=hunter2\n";
    const r = redactYaml(y);
    assert.equal(r.split("\n").length, y.split("\n").length);
    assert.ok(!/QQ==|multi|hunter2/.test(r), r);
    assert.match(r, /name: keep/);
  });
});
