/** Text and JSON renderings of the verify and keys-check reports. Deterministic: same input, same bytes. */
import type { KeysReport } from "./keycheck.js";
import type { ObjectVerdict, VerifyReport } from "./report.js";

export interface TextOptions {
  color: boolean;
  verbose: boolean;
  quiet: boolean;
}

/** Strips control characters (terminal escapes) from text that came from a repository. */
export function clean(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, "?");
}

function paint(on: boolean, code: string, s: string): string {
  return on ? `\u001b[${code}m${s}\u001b[0m` : s;
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + " ".repeat(n - s.length);
}

function trunc(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n - 1)}…`;
}

const MAX_PATHS = 20;

export function formatVerifyJson(r: VerifyReport): string {
  return `${JSON.stringify(r, null, 2)}\n`;
}

function keyShown(o: ObjectVerdict): string {
  if (o.signer) return o.signer.keyId;
  return o.signature.issuer ? o.signature.issuer.replace(/^([0-9A-F]{24})([0-9A-F]{16})$/, "$2") : "-";
}

export function formatVerifyText(r: VerifyReport, o: TextOptions): string {
  const lines: string[] = [];
  const scope = r.range ? `range ${r.range}` : `ref ${r.ref ?? "HEAD"}`;
  const keys = `${r.keys.openpgp} OpenPGP + ${r.keys.ssh} SSH key${r.keys.openpgp + r.keys.ssh === 1 ? "" : "s"}`;
  if (!o.quiet) {
    lines.push(clean(`fluxguard verify: ${r.repository}, ${scope}, mode ${r.mode}, ${keys}${r.policy ? `, policy ${r.policy}` : ""}`));
    lines.push("");
  }
  const shown = o.quiet ? r.objects.filter((x) => x.verdict === "fail") : r.objects;
  if (shown.length) {
    const rows = shown.map((x) => ({
      obj: x.type === "tag" ? `tag ${trunc(clean(x.name ?? x.oid.slice(0, 12)), 20)}` : `commit ${x.oid.slice(0, 12)}`,
      signer: trunc(clean(x.signer?.name ?? "-"), 36),
      key: clean(keyShown(x)),
      verdict: x.verdict === "pass" ? "pass" : "FAIL",
      reason: x.reason,
      x,
    }));
    const w = {
      obj: Math.max(6, ...rows.map((r2) => r2.obj.length)),
      signer: Math.max(6, ...rows.map((r2) => r2.signer.length)),
      key: Math.max(3, ...rows.map((r2) => r2.key.length)),
    };
    lines.push(`${pad("OBJECT", w.obj)}  ${pad("SIGNER", w.signer)}  ${pad("KEY", w.key)}  VERDICT  REASON`);
    for (const row of rows) {
      const verdict = row.verdict === "pass" ? paint(o.color, "32", pad("pass", 7)) : paint(o.color, "1;31", pad("FAIL", 7));
      lines.push(`${pad(row.obj, w.obj)}  ${pad(row.signer, w.signer)}  ${pad(row.key, w.key)}  ${verdict}  ${row.reason}`);
      const indent = "    ";
      if (row.x.verdict === "fail" || o.verbose) {
        lines.push(`${indent}${clean(row.x.message)}`);
        if (o.verbose && row.x.subject) lines.push(`${indent}subject: ${clean(row.x.subject)}`);
      }
      const violations = row.x.policy?.violations ?? [];
      for (const v of violations.slice(0, MAX_PATHS)) {
        const need = v.allowedGroups === "deny" ? "denied by the default rule" : `needs ${v.allowedGroups.join(" or ")}`;
        const rule = v.rule === "default" ? "default rule" : `rule ${v.rule} ${v.pattern}`;
        lines.push(`${indent}${paint(o.color, "31", "✗")} ${clean(v.path)}  (${need}; ${rule})`);
      }
      if (violations.length > MAX_PATHS) lines.push(`${indent}… and ${violations.length - MAX_PATHS} more paths (see --format json)`);
    }
    lines.push("");
  }
  if (r.reason === "InvalidVerificationMode") {
    lines.push(`${paint(o.color, "1;31", "FAIL")}  InvalidVerificationMode: ${clean(r.message)}`);
  } else if (r.result === "fail") {
    lines.push(`${paint(o.color, "1;31", "FAIL")}  ${r.message}`);
  } else if (!o.quiet) {
    lines.push(`${paint(o.color, "32", "PASS")}  ${r.message}`);
  }
  if (!o.quiet) for (const w2 of r.warnings) lines.push(`warning: ${clean(w2)}`);
  return lines.length ? `${lines.join("\n")}\n` : "";
}

export function formatKeysJson(r: KeysReport): string {
  return `${JSON.stringify(r, null, 2)}\n`;
}

export function formatKeysText(r: KeysReport, o: TextOptions): string {
  const lines: string[] = [];
  const shown = o.quiet ? r.keys.filter((k) => k.status !== "ok") : r.keys;
  if (shown.length) {
    const rows = shown.map((k) => ({
      status: k.status,
      type: k.type,
      key: k.keyId ?? k.fingerprint,
      name: trunc(clean(k.name), 40),
      expires: k.expires ? `${k.expires.slice(0, 10)}${k.daysLeft !== null && k.daysLeft >= 0 ? ` (${k.daysLeft}d)` : ""}` : "never",
      source: clean(k.source),
      k,
    }));
    const w = {
      key: Math.max(3, ...rows.map((x) => x.key.length)),
      name: Math.max(4, ...rows.map((x) => x.name.length)),
      expires: Math.max(7, ...rows.map((x) => x.expires.length)),
    };
    lines.push(`STATUS    TYPE     ${pad("KEY", w.key)}  ${pad("NAME", w.name)}  ${pad("EXPIRES", w.expires)}  SOURCE`);
    for (const row of rows) {
      const color = row.status === "ok" ? "32" : row.status === "expiring" ? "33" : "1;31";
      lines.push(`${paint(o.color, color, pad(row.status, 8))}  ${pad(row.type, 7)}  ${pad(row.key, w.key)}  ${pad(row.name, w.name)}  ${pad(row.expires, w.expires)}  ${row.source}`);
      if (row.status !== "ok" || o.verbose) lines.push(`    ${clean(row.k.message)}`);
    }
    lines.push("");
  }
  const s = r.summary;
  const parts = [`${s.ok} ok`];
  if (s.expiring) parts.push(`${s.expiring} expiring within ${r.warnDays} days`);
  if (s.expired) parts.push(`${s.expired} expired`);
  if (s.revoked) parts.push(`${s.revoked} revoked`);
  if (s.unusable) parts.push(`${s.unusable} unusable`);
  const head = r.result === "pass" ? paint(o.color, "32", "PASS") : paint(o.color, "1;31", "FAIL");
  lines.push(`${head}  ${s.keys} key${s.keys === 1 ? "" : "s"}: ${parts.join(", ")}`);
  if (!o.quiet) for (const w2 of r.warnings) lines.push(`warning: ${clean(w2)}`);
  return `${lines.join("\n")}\n`;
}
