import { resolve } from "node:path";
import { UsageError } from "../../core/errors.js";
import { checkKeys } from "../../verify/keycheck.js";
import { formatKeysJson, formatKeysText } from "../../verify/format.js";
import { loadKeyRing } from "../../verify/keys.js";
import { COMMON_OPTIONS, parse, parseFormat } from "../args.js";
import type { Command } from "../command.js";
import { useColor } from "../io.js";
import { writeFileAtomic } from "../../io/write.js";

const USAGE = "fluxguard keys check [PATH...] [--keys-secret FILE...] [--warn-days N] [--format text|json] [--output FILE] [--quiet] [--verbose] [--no-color]";

const OPTIONS = {
  ...COMMON_OPTIONS,
  keys: { type: "string", multiple: true },
  "keys-secret": { type: "string", multiple: true },
  "warn-days": { type: "string" },
} as const;

const HELP = `usage: ${USAGE}

Reports trusted keys that are expired, revoked, unusable, or that expire within --warn-days
(default 30). PATH is a key file, a directory of keys, or an allowed_signers file; Flux
verification Secret manifests go with --keys-secret.
Exit codes: 0 all keys fine, 1 a key is expired, revoked, unusable or expiring, 2 usage or input error.
`;

export const keysCommand: Command = {
  name: "keys",
  summary: "check trusted signing keys: expired, revoked, or expiring within N days",
  usage: USAGE,
  async run(argv, io) {
    const { values, positionals } = parse(argv, OPTIONS, USAGE);
    const [sub, ...paths] = positionals;
    if (values.help) {
      io.stdout(HELP);
      return 0;
    }
    if (sub !== "check") throw new UsageError(sub === undefined ? "keys needs a subcommand" : `unknown keys subcommand '${sub}'`, `usage: ${USAGE}`);
    if (values["fail-on"] !== undefined) throw new UsageError("keys check has no severities; --fail-on does not apply");
    const format = parseFormat(values.format, ["text", "json"] as const, "text");
    const wd = values["warn-days"] ?? "30";
    if (!/^\d+$/.test(wd)) throw new UsageError(`--warn-days must be a whole number of days, got '${wd}'`);
    const keyPaths = [...paths, ...(values.keys ?? [])];
    const secrets = values["keys-secret"] ?? [];
    if (keyPaths.length === 0 && secrets.length === 0) throw new UsageError("keys check needs key files, directories or --keys-secret", `usage: ${USAGE}`);
    const ring = await loadKeyRing({ paths: keyPaths, secrets, cwd: io.cwd });
    const report = checkKeys(ring, { warnDays: Number(wd) });
    const out =
      format === "json"
        ? formatKeysJson(report)
        : formatKeysText(report, { color: values.output === undefined && useColor(io, Boolean(values["no-color"])), verbose: Boolean(values.verbose), quiet: Boolean(values.quiet) });
    if (values.output) writeFileAtomic(resolve(io.cwd, values.output), out);
    else io.stdout(out);
    return report.result === "pass" ? 0 : 1;
  },
};
