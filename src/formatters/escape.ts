/**
 * The one place that makes untrusted strings safe for an output format. Object names,
 * values, file paths and kustomize's messages come from the scanned repository, which a pull
 * request writes:
 *
 * - text: control characters (ESC, BEL, CR, LF, ...), C1 controls, Unicode line separators
 *   and bidirectional overrides are shown as `\n`, `\u{1b}` and so on, so a string can neither
 *   drive the terminal nor start a line of its own; `::` and `##[` (GitHub Actions workflow
 *   commands) are broken up as `:\u{3a}` and `#\u{23}[`, and no output line starts with `::`.
 * - JSON: `JSON.stringify` escapes every control character.
 * - SARIF: JSON, and message text escapes `\`, `[` and `]`, which SARIF viewers read as
 *   embedded links (SARIF 2.1.0 §3.11.6).
 * - HTML: `&`, `<`, `>`, `"` and `'` as entities (content and quoted attribute values), and
 *   invisible characters (controls, bidirectional overrides and isolates, zero-width and other
 *   format characters) shown as `⟦U+202E⟧`.
 */

const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g;
const NAMED: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

/** A string safe to print inside one line of a text report. */
export function escapeText(s: string): string {
  return s
    .replace(UNSAFE, (ch) => NAMED[ch] ?? `\\u{${ch.codePointAt(0)!.toString(16)}}`)
    .replace(/::/g, ":\\u{3a}")
    .replace(/##\[/g, "#\\u{23}[");
}

/** Every string in a value (deeply, keys included) passed through `escapeText`; a copy. */
export function escapeDeep<T>(value: T): T {
  const walk = (v: unknown): unknown => {
    if (typeof v === "string") return escapeText(v);
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === "object") {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[escapeText(k)] = walk(x);
      return out;
    }
    return v;
  };
  return walk(value) as T;
}

/**
 * The last pass over a whole text report: a line that would still start with `::` (after
 * white space) is indented behind a visible marker, so no line is a workflow command.
 */
export function finishText(out: string): string {
  return out.replace(/^(\s*)(::|##\[)/gm, "$1\\u{3a}$2");
}

/** SARIF message text: embedded-link brackets and the backslash escaped (§3.11.6). */
export function escapeSarifText(s: string): string {
  return s.replace(/[\\[\]]/g, (ch) => `\\${ch}`);
}

/**
 * A unified diff of scanned files, for a terminal or a CI log: control characters other than
 * tab (and a CR ending a CRLF line) shown escaped, and no line a workflow command.
 */
export function escapeDiff(diff: string): string {
  const unsafe = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
  return finishText(
    diff
      .split("\n")
      .map((l) => {
        const cr = l.endsWith("\r") ? "\r" : "";
        const body = cr ? l.slice(0, -1) : l;
        return body.replace(unsafe, (ch) => `\\u{${ch.codePointAt(0)!.toString(16)}}`) + cr;
      })
      .join("\n"),
  );
}

/**
 * JSON output (JSON and SARIF reports): `JSON.stringify` escapes control characters but not
 * Unicode line separators or bidirectional overrides, which can reorder what a reader sees;
 * those are written as `\uXXXX` escapes (the same JSON value).
 */
export function escapeJsonOutput(json: string): string {
  return json.replace(/[\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff\u007f-\u009f]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** Control characters, bidirectional overrides and isolates, and other invisible format characters. */
const INVISIBLE_HTML = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u00ad\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;

/** Escapes text for HTML content and quoted attribute values, and makes invisible characters visible. */
export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;")
    .replace(INVISIBLE_HTML, (ch) => `⟦U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}⟧`);
}
