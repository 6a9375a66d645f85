/**
 * Just enough semver-range reading to tell a bounded range (one that can never float to a
 * new major version) from an open one. Flux uses Masterminds/semver constraints.
 */

const VERSION = /^v?(\d+|[xX*])(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;

export type RangeCheck = { ok: true } | { ok: false; message: string };

function isWild(p: string | undefined): boolean {
  return p === undefined || p === "x" || p === "X" || p === "*";
}

/** Whether one constraint (no `||`) has an upper bound. */
function boundedConjunction(text: string): RangeCheck {
  // "1.2.3 - 1.4.5" hyphen ranges are bounded when their upper end is concrete.
  const hyphen = /^(\S+)\s+-\s+(\S+)$/.exec(text);
  if (hyphen) {
    const hi = VERSION.exec(hyphen[2]!);
    if (!VERSION.test(hyphen[1]!) || !hi) return { ok: false, message: `'${text}' is not a version range` };
    return isWild(hi[1]) ? { ok: false, message: `'${text}' has no upper bound` } : { ok: true };
  }
  // Masterminds allows a space after the operator (">= 1.0.0"): keep it with its version.
  const parts = text
    .replace(/(>=|<=|!=|~>|[<>=~^])\s+/g, "$1")
    .split(/[\s,]+/)
    .map((p) => p.trim())
    .filter((p) => p !== "");
  if (parts.length === 0) return { ok: false, message: "the range is empty" };
  let upper = false;
  for (const part of parts) {
    const m = /^(>=|<=|!=|=|>|<|~>|~|\^)?\s*(.*)$/.exec(part)!;
    const op = m[1] ?? "";
    const v = VERSION.exec(m[2]!);
    if (!v) return { ok: false, message: `'${part}' is not a version constraint` };
    const major = v[1];
    switch (op) {
      case "<":
      case "<=":
        if (!isWild(major)) upper = true;
        break;
      case "~":
      case "~>":
      case "^":
        if (!isWild(major)) upper = true;
        break;
      case "":
      case "=":
        // An exact version or an x-range with a fixed major.
        if (!isWild(major)) upper = true;
        break;
      default:
        break;
    }
  }
  return upper ? { ok: true } : { ok: false, message: `'${text}' has no upper bound, so it would follow any future major version` };
}

/** Checks that every alternative of a range is bounded above. */
export function checkBoundedRange(range: string): RangeCheck {
  const alternatives = range.split("||").map((s) => s.trim());
  for (const alt of alternatives) {
    if (alt === "" || alt === "*" || alt.toLowerCase() === "latest") return { ok: false, message: `'${range}' is not bounded; write e.g. ">=1.0.0 <2.0.0"` };
    const r = boundedConjunction(alt);
    if (!r.ok) return r;
  }
  return { ok: true };
}

/** Whether a Go regular expression is anchored at both ends (`^...$`). */
export function isAnchored(pattern: string): boolean {
  if (!pattern.startsWith("^")) return false;
  if (!pattern.endsWith("$")) return false;
  // A trailing `\$` is a literal dollar sign, not an anchor.
  let backslashes = 0;
  for (let i = pattern.length - 2; i >= 0 && pattern[i] === "\\"; i--) backslashes++;
  if (backslashes % 2 === 1) return false;
  // A top-level alternation (`^a|b$`) anchors only its outer branches.
  return !hasTopLevelAlternation(pattern.slice(1, -1));
}

export function hasTopLevelAlternation(p: string): boolean {
  let depth = 0;
  let inClass = false;
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === "\\") {
      i++;
      continue;
    }
    if (inClass) {
      if (c === "]") inClass = false;
      continue;
    }
    if (c === "[") inClass = true;
    else if (c === "(") depth++;
    else if (c === ")") depth--;
    else if (c === "|" && depth === 0) return true;
  }
  return false;
}

/** Anchors a pattern at both ends, keeping its meaning for the part that matched. */
export function anchorPattern(pattern: string): string {
  if (isAnchored(pattern)) return pattern;
  let inner = pattern;
  if (inner.startsWith("^")) inner = inner.slice(1);
  if (inner.endsWith("$") && !/(^|[^\\])(\\\\)*\\\$$/.test(inner)) inner = inner.slice(0, -1);
  return hasTopLevelAlternation(inner) ? `^(?:${inner})$` : `^${inner}$`;
}
