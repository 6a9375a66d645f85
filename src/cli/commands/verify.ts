import { existsSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { UsageError } from "../../core/errors.js";
import { parseYamlFile } from "../../loader/yaml.js";
import { formatVerifyJson, formatVerifyText } from "../../verify/format.js";
import { loadKeyRing } from "../../verify/keys.js";
import { loadPolicyFile, parsePolicy, type SignerPolicy } from "../../verify/policy.js";
import { parseMode, runVerify } from "../../verify/verify.js";
import { COMMON_OPTIONS, parseFormat } from "../args.js";
import { commandArgs, type Command } from "../command.js";
import { useColor } from "../io.js";
import { writeFileAtomic } from "../../io/write.js";

const USAGE =
  "fluxguard verify [--repo DIR] (--keys PATH... | --keys-secret FILE...) [--mode HEAD|Tag|TagAndHEAD] [--ref REF | --range A..B] [--policy FILE] [--format text|json] [--output FILE] [--quiet] [--verbose] [--no-color]";

const OPTIONS = {
  ...COMMON_OPTIONS,
  repo: { type: "string" },
  keys: { type: "string", multiple: true },
  "keys-secret": { type: "string", multiple: true },
  mode: { type: "string" },
  ref: { type: "string" },
  range: { type: "string" },
  policy: { type: "string" },
} as const;

const HELP = `usage: ${USAGE}

Verifies commit and tag signatures the way Flux's GitRepository spec.verify does, and more:
  --mode HEAD        the commit --ref points to (default; Flux's default)
  --mode Tag         the annotated tag --ref names
  --mode TagAndHEAD  the tag and the commit it points to
  --range A..B       every commit reachable from B and not from A, merges included
                     (Flux checks only the tip: an unsigned commit beneath it passes Flux)
  --policy FILE      per-path signer policy (see docs/verify.md); also read from
                     \`signers:\` in .fluxguard.yaml
Keys: armored OpenPGP keys or directories of them, allowed_signers / authorized_keys files
(--keys), or Flux verification Secret manifests (--keys-secret: .asc = PGP, .sshpub = SSH,
no suffix = PGP).
Exit codes: 0 verified, 1 verification failed, 2 usage, input or git error.
`;

function rel(cwd: string, p: string): string {
  const r = relative(cwd, p);
  return r === "" ? "." : r.startsWith("..") ? p : r;
}

/** The policy from --policy, or from `signers:` in the config (a path or an inline policy). */
function loadPolicy(policyFlag: string | undefined, configFlag: string | undefined, repoDir: string, cwd: string): SignerPolicy | null {
  if (policyFlag) return loadPolicyFile(resolve(cwd, policyFlag), policyFlag);
  const configPath = configFlag ? resolve(cwd, configFlag) : join(repoDir, ".fluxguard.yaml");
  if (!existsSync(configPath)) {
    if (configFlag) throw new UsageError(`config file not found: ${configFlag}`);
    return null;
  }
  const shown = rel(cwd, configPath);
  const parsed = parseYamlFile(shown, readFileSync(configPath, "utf8"));
  const err = parsed.errors[0];
  if (err) throw new UsageError(`${shown}:${err.line}:${err.column}: invalid YAML: ${err.message}`);
  const doc = parsed.documents[0];
  const v = doc?.value;
  if (!doc || typeof v !== "object" || v === null || Array.isArray(v) || v["signers"] === undefined || v["signers"] === null) return null;
  const signers = v["signers"];
  if (typeof signers === "string") {
    const p = resolve(configPath, "..", signers);
    return loadPolicyFile(p, rel(cwd, p));
  }
  return parsePolicy(doc, "/signers", shown);
}

export const verifyCommand: Command = {
  name: "verify",
  summary: "verify commit and tag signatures like Flux (HEAD, Tag, TagAndHEAD), every commit of a range, per-path signers",
  usage: USAGE,
  async run(argv, io) {
    const args = commandArgs(argv, io, { options: OPTIONS, usage: USAGE, help: HELP });
    if (!args) return 0;
    const { values, positionals } = args;
    if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`, "pass the repository with --repo DIR");
    if (values["fail-on"] !== undefined) throw new UsageError("verify has no severities; --fail-on does not apply", "any verification failure exits 1");
    const format = parseFormat(values.format, ["text", "json"] as const, "text");
    const mode = parseMode(values.mode ?? "HEAD");
    if (!mode) throw new UsageError(`unknown --mode '${values.mode}'`, "expected one of: HEAD, Tag, TagAndHEAD (as in GitRepository spec.verify.mode)");
    if (values.ref !== undefined && values.range !== undefined) throw new UsageError("--ref and --range cannot be used together", "with --range A..B, B is the ref");
    const keyPaths = values.keys ?? [];
    const secrets = values["keys-secret"] ?? [];
    if (keyPaths.length === 0 && secrets.length === 0) {
      throw new UsageError("no trusted keys: pass --keys or --keys-secret", "e.g. --keys allowed-signers/ or --keys-secret flux-system/pgp-public-keys.yaml");
    }
    const repoShown = values.repo ?? ".";
    const repoDir = resolve(io.cwd, repoShown);
    const keyring = await loadKeyRing({ paths: keyPaths, secrets, cwd: io.cwd });
    if (keyring.keys.length === 0) throw new UsageError("no keys were found in the given key files");
    const policy = loadPolicy(values.policy, values.config, repoDir, io.cwd);
    const showProgress = io.isTTY && format === "text" && !values.quiet && values.output === undefined;
    const report = await runVerify({
      repoDir,
      repoShown,
      keyring,
      keySources: [...keyPaths, ...secrets],
      mode,
      ref: values.ref ?? null,
      range: values.range ?? null,
      policy,
      ...(showProgress ? { progress: (done: number, total: number) => (total > 2000 ? io.stderr(`\rverifying ${done}/${total} commits`) : undefined) } : {}),
    });
    if (showProgress && report.summary.commits > 2000) io.stderr("\r\u001b[K");
    const out =
      format === "json"
        ? formatVerifyJson(report)
        : formatVerifyText(report, { color: values.output === undefined && useColor(io, Boolean(values["no-color"])), verbose: Boolean(values.verbose), quiet: Boolean(values.quiet) });
    if (values.output) writeFileAtomic(resolve(io.cwd, values.output), out);
    else io.stdout(out);
    return report.result === "pass" ? 0 : 1;
  },
};
