/**
 * A seeded, bounded fuzzer over whole repositories (issue 11): each case takes a base fleet
 * (the minimal hostile fleet, examples/fleet or examples/hardened-fleet), applies a few
 * mutations drawn from the hostile kinds (non-string fields, alias bombs, deep nesting,
 * document storms, duplicates, links out of the root and loops, control characters, UTF-16,
 * truncation, byte flips, escaping spec.paths and references), audits it in-process and
 * renders every output format. A case fails on an internal error (anything but a usage
 * error), a run past its time bound, output that does not parse (JSON, SARIF), or a canary
 * (outside the root, in the environment, in a Secret) showing up in any output.
 *
 * Used by the suite (src/loader/fuzz.test.ts, a few hundred cases) and `npm run bench -- fuzz`
 * (2,000 cases).
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { UsageError } from "../core/errors.js";
import { runAudit } from "../engine/audit.js";
import { formatJson } from "../formatters/json.js";
import { formatSarif } from "../formatters/sarif.js";
import { formatText } from "../formatters/text.js";
import type { KustomizeTool } from "../loader/kustomize.js";
import { ALL_RULES } from "../rules/index.js";
import { crb, fluxKustomization, GOTK_SYNC, INNOCENT_CM } from "./hostile.js";
import { REPO_ROOT } from "./paths.js";

/** Canaries: none may appear in any output. */
export const CANARY = { outside: "FUZZ-OUTSIDE-CANARY-7c1", env: "FUZZ-ENV-CANARY-3f9", secret: "FUZZ-SECRET-CANARY-b42" } as const;

/** mulberry32: a small, fast, seedable PRNG (deterministic across platforms). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Files = Map<string, string | Buffer>;

interface Tree {
  files: Files;
  /** rel → link target (absolute, or relative to the link's directory). */
  links: Map<string, string>;
}

function readDirFiles(root: string): Files {
  const out: Files = new Map();
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(relative(root, p), readFileSync(p, "utf8"));
    }
  };
  walk(root);
  return out;
}

/** The base fleets, read once. */
export function fuzzBases(): Array<{ name: string; files: Files }> {
  const minimal: Files = new Map<string, string | Buffer>([
    ["clusters/prod/flux-system/gotk-sync.yaml", GOTK_SYNC],
    ["clusters/prod/flux-system/kustomization.yaml", "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - gotk-sync.yaml\n"],
    ["clusters/prod/evil.yaml", fluxKustomization("evil", "./apps/evil")],
    ["apps/evil/cm.yaml", INNOCENT_CM],
    ["apps/evil/secret.yaml", `apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: default\nstringData:\n  password: ${CANARY.secret}\n`],
  ]);
  return [
    { name: "minimal", files: minimal },
    { name: "examples/fleet", files: readDirFiles(join(REPO_ROOT, "examples/fleet")) },
    { name: "examples/hardened-fleet", files: readDirFiles(join(REPO_ROOT, "examples/hardened-fleet")) },
  ];
}

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

function yamlFiles(t: Tree): string[] {
  return [...t.files.keys()].filter((f) => /\.ya?ml$|Kustomization$/.test(f)).sort();
}

function text(t: Tree, f: string): string {
  const v = t.files.get(f);
  return typeof v === "string" ? v : (v?.toString("latin1") ?? "");
}

/** The mutations: each stands for a hostile kind. */
const MUTATIONS: Array<[string, (r: () => number, t: Tree, outside: string) => void]> = [
  ["nonstring-field", (r, t) => {
    const f = pick(r, yamlFiles(t));
    const v = pick(r, ["1.5", "0x1F", "{a: 1}", "null", "[x]", "true", "~"]);
    t.files.set(f, text(t, f).replace(pick(r, [/^apiVersion: .*$/m, /^kind: .*$/m, /^  name: .*$/m, /^  namespace: .*$/m]), (m) => `${m.split(":")[0]}: ${v}`));
  }],
  ["alias-bomb", (r, t) => {
    const lv = 3 + Math.floor(r() * 6);
    let y = "a0: &a0 [x,x,x,x,x,x,x,x,x]\n";
    for (let i = 1; i <= lv; i++) y += `a${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(",")}]\n`;
    t.files.set(pick(r, ["apps/evil/bomb.yaml", "bomb.yaml"]), `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bomb, namespace: default}\ndata:\n${y.replace(/^/gm, "  ")}`);
  }],
  ["recursive-alias", (r, t) => t.files.set(pick(r, ["apps/evil/rec.yaml", "rec.yaml"]), pick(r, ["a: &a [*a]\n", "apiVersion: v1\nkind: ConfigMap\nmetadata: &m {name: *m}\n"]))],
  ["alias-fanout", (r, t) => {
    const n = 100 + Math.floor(r() * 3000);
    t.files.set("apps/evil/fan.yaml", `base: &x [${Array(n).fill("1").join(",")}]\n${Array.from({ length: 60 }, (_, k) => `u${k}: *x\n`).join("")}`);
  }],
  ["deep-nesting", (r, t) => {
    const d = 200 + Math.floor(r() * 3000);
    t.files.set(pick(r, ["apps/evil/deep.yaml", "deep.yaml"]), `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: deep}\nx: ${"[".repeat(d)}1${"]".repeat(d)}\n`);
  }],
  ["docsep-storm", (r, t) => {
    const f = pick(r, yamlFiles(t));
    t.files.set(f, `${"---\n".repeat(1000 + Math.floor(r() * 12_000))}${text(t, f)}`);
  }],
  ["duplicate-documents", (r, t) => {
    const f = pick(r, yamlFiles(t));
    t.files.set(f, `${text(t, f).replace(/\n*$/, "\n")}---\n`.repeat(2 + Math.floor(r() * 40)));
  }],
  ["link-outside", (r, t, outside) => t.links.set(pick(r, ["apps/evil/o.yaml", "apps/o.yaml", "o.yaml", "apps/evil/base"]), pick(r, [join(outside, "o.yaml"), outside, "/proc/self/environ", "/etc/hostname"]))],
  ["link-loop", (r, t) => t.links.set(pick(r, ["apps/evil/l1", "apps/l2", "clusters/prod/l3"]), pick(r, [".", "..", "../..", "l1"]))],
  ["kustomization-escape", (r, t, outside) =>
    t.files.set("apps/evil/kustomization.yaml", pick(r, [
      `resources: [cm.yaml, ${join(outside, "o.yaml")}]\n`,
      "resources: [cm.yaml, ../../../outside/o.yaml]\n",
      "resources: [cm.yaml, missing.yaml]\nconfigMapGenerator:\n  - name: g\n    files: [environ.txt]\n",
      "resources: [cm.yaml]\npatches:\n  - path: ../../../../etc/hostname\n",
      "resources: [cm.yaml]\ncomponents: [../../outside]\n",
      "resources: [https://github.com/example/x//deploy?ref=main, cm.yaml]\n",
    ]))],
  ["spec-path", (r, t) => {
    const f = pick(r, yamlFiles(t));
    t.files.set(f, text(t, f).replace(/^(\s*path: ).*$/m, `$1${pick(r, ["/apps/evil", "../apps/evil", "../../..", "/", "''", "\"\\x00\"", "./apps/../apps/evil/"])}`));
  }],
  ["control-characters", (r, t) => {
    const f = pick(r, yamlFiles(t));
    t.files.set(f, text(t, f).replace(/^(  name: )(.*)$/m, (_m, k: string, v: string) => `${k}"${v}\\e[2J\\n::error::forged\\r\\a\\u202e"`));
  }],
  ["utf16", (r, t) => {
    const f = pick(r, yamlFiles(t));
    const body = Buffer.from(text(t, f), "utf16le");
    t.files.set(f, r() < 0.5 ? Buffer.concat([Buffer.from([0xff, 0xfe]), body]) : body);
  }],
  ["truncate", (r, t) => {
    const f = pick(r, yamlFiles(t));
    const s = text(t, f);
    t.files.set(f, s.slice(0, Math.floor(r() * s.length)));
  }],
  ["byte-flips", (r, t) => {
    const f = pick(r, yamlFiles(t));
    const b = Buffer.from(text(t, f), "utf8");
    for (let i = 0; i < 1 + Math.floor(r() * 8) && b.length; i++) b[Math.floor(r() * b.length)] = pick(r, [0x00, 0x1b, 0x0d, 0x2a, 0x26, 0x7b, 0x5b, 0x3a, 0x09, 0x22, Math.floor(r() * 256)]);
    t.files.set(f, b);
  }],
  ["yaml-oddities", (r, t) =>
    t.files.set(`odd-${Math.floor(r() * 5)}.yaml`, pick(r, [
      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  ? {a: 1}\n  : 2\n  name: x\n",
      "!!binary aGVsbG8=\n",
      "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {a: !!binary AAAA}\n",
      "%YAML 1.1\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: y, namespace: on}\n",
      "\tapiVersion: v1\n",
      "apiVersion: v1\nkind: List\nitems: [{apiVersion: v1, kind: ConfigMap, metadata: {name: 5}}]\n",
      "- just\n- a\n- list\n",
      "'unterminated\n",
      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: dup, name: dup2}\n",
    ]))],
  ["tenant-crb", (r, t) => t.files.set(`apps/evil/crb-${Math.floor(r() * 3)}.yaml`, crb(`fuzz-${Math.floor(r() * 1000)}`))],
  ["config-file", (r, t) =>
    t.files.set(".fluxguard.yaml", pick(r, ["rules:\n  parse-error: off\n", "rules: [1]\n", "sources:\n  ssh://x: /\n", "bogus: 1\n", "a: &a [*a]\n"]))],
];

/** Builds a case's tree: a base and 1–4 mutations, all chosen from the seed. */
export function fuzzTree(seed: number, bases: ReturnType<typeof fuzzBases>): { base: string; mutations: string[]; tree: Tree; apply: (root: string, outside: string) => void } {
  const r = rng(seed);
  const base = bases[r() < 0.8 ? 0 : r() < 0.5 ? 1 : 2]!;
  const tree: Tree = { files: new Map(base.files), links: new Map() };
  const mutations: string[] = [];
  const n = 1 + Math.floor(r() * 4);
  const deferred: Array<(outside: string) => void> = [];
  for (let i = 0; i < n; i++) {
    const [name, fn] = pick(r, MUTATIONS);
    mutations.push(name);
    // Mutations that name the outside directory run at write time, with the same draws.
    const sub = rng(Math.floor(r() * 2 ** 32));
    deferred.push((outside) => fn(sub, tree, outside));
  }
  return {
    base: base.name,
    mutations,
    tree,
    apply: (root, outside) => {
      for (const d of deferred) d(outside);
      for (const [rel, content] of tree.files) {
        mkdirSync(dirname(join(root, rel)), { recursive: true });
        writeFileSync(join(root, rel), content);
      }
      for (const [rel, target] of tree.links) {
        mkdirSync(dirname(join(root, rel)), { recursive: true });
        try {
          symlinkSync(target, join(root, rel));
        } catch {
          /* a file is already there */
        }
      }
    },
  };
}

export interface FuzzCase {
  seed: number;
  base: string;
  mutations: string[];
  ms: number;
  /** What went wrong, if anything. */
  internalError?: string;
  unparsable?: string;
  leaked?: string;
}

/** Runs one case; never throws. */
export async function fuzzCase(seed: number, bases: ReturnType<typeof fuzzBases>, tool: KustomizeTool | null): Promise<FuzzCase> {
  const dir = mkdtempSync(join(tmpdir(), "fg-fuzz-"));
  const root = join(dir, "t");
  const outside = join(dir, "outside");
  mkdirSync(root);
  mkdirSync(outside);
  writeFileSync(join(outside, "o.yaml"), `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${CANARY.outside}\n  namespace: default\n`);
  const { base, mutations, apply } = fuzzTree(seed, bases);
  const out: FuzzCase = { seed, base, mutations, ms: 0 };
  const t0 = Date.now();
  try {
    apply(root, outside);
    const report = await runAudit({ root, env: { PATH: process.env["PATH"], FLUXGUARD_CACHE: "off", FUZZ_TOKEN: CANARY.env }, kustomize: tool });
    const json = formatJson(report);
    const sarif = formatSarif(report, ALL_RULES);
    const textOut = formatText(report, { color: false, verbose: true, quiet: false });
    out.ms = Date.now() - t0;
    for (const [name, s] of [["json", json], ["sarif", sarif]] as const) {
      try {
        JSON.parse(s);
      } catch (e) {
        out.unparsable = `${name}: ${(e as Error).message}`;
      }
    }
    for (const c of Object.values(CANARY)) if ((json + sarif + textOut).includes(c)) out.leaked = c;
    if (/[\u0000-\u0009\u000b-\u001f]/.test(textOut)) out.unparsable = "text: a raw control character";
    if (/^\s*(::|##\[)/m.test(textOut)) out.unparsable = "text: a workflow command line";
  } catch (e) {
    out.ms = Date.now() - t0;
    if (!(e instanceof UsageError)) out.internalError = `${(e as Error).name}: ${(e as Error).message}`.slice(0, 300);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

export interface FuzzSummary {
  cases: number;
  internalErrors: FuzzCase[];
  slow: FuzzCase[];
  unparsable: FuzzCase[];
  leaks: FuzzCase[];
  maxMs: number;
  totalMs: number;
}

/** Runs `cases` cases from `seed` on; `slowMs` is the per-run bound. */
export async function runFuzz(opts: { seed: number; cases: number; tool: (i: number) => KustomizeTool | null; slowMs?: number; onCase?: (c: FuzzCase, i: number) => void }): Promise<FuzzSummary> {
  const bases = fuzzBases();
  const slowMs = opts.slowMs ?? 20_000;
  const s: FuzzSummary = { cases: 0, internalErrors: [], slow: [], unparsable: [], leaks: [], maxMs: 0, totalMs: 0 };
  for (let i = 0; i < opts.cases; i++) {
    const c = await fuzzCase(opts.seed + i, bases, opts.tool(i));
    s.cases++;
    s.totalMs += c.ms;
    s.maxMs = Math.max(s.maxMs, c.ms);
    if (c.internalError) s.internalErrors.push(c);
    if (c.ms > slowMs) s.slow.push(c);
    if (c.unparsable) s.unparsable.push(c);
    if (c.leaked) s.leaks.push(c);
    opts.onCase?.(c, i);
  }
  return s;
}
