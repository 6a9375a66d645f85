/**
 * Flux's post-build variable substitution, defined once. kustomize-controller runs
 * github.com/drone/envsubst over each rendered object (fluxcd/pkg `kustomize/kustomize_varsub.go`).
 * The forms that carry a literal, and what drone/envsubst does with them (`parse/parse.go`,
 * `template.go` lookupFunc: every one of them is `toDefault`):
 *
 *   ${VAR=literal}  ${VAR:=literal}  ${VAR:-literal}  ${VAR:?literal}  ${VAR:+literal}
 *
 * each yields the literal when VAR is unset or empty, and VAR's value otherwise. (`${VAR-x}`
 * without the colon does not parse: Flux fails the build.) A literal may hold another
 * expression: `${A:=${B:=x}}`. Other forms (`${VAR^^}`, `${VAR:0:3}`, …) are kept as written.
 */

/** One `${NAME}` or `${NAME<op>literal}` whose literal holds no further expression (innermost first). */
const EXPR = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(=|:=|:-|:\?|:\+)([^${}]*))?\}/g;

/** The name of each `${NAME<op>` that carries a default, at any nesting depth. */
const DEFAULTED = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?:=|:=|:-|:\?|:\+)/g;

/** Nesting deeper than this is left as written (no input can make the loop run long). */
const MAX_DEPTH = 8;

function run(s: string, vars: Readonly<Record<string, string>>, keepUnset: boolean): { out: string; defaults: number } {
  let cur = s;
  let defaults = 0;
  for (let i = 0; i < MAX_DEPTH && cur.includes("${"); i++) {
    const next = cur.replace(EXPR, (whole, name: string, op: string | undefined, literal: string | undefined) => {
      const v = Object.prototype.hasOwnProperty.call(vars, name) ? vars[name] : undefined;
      if (op !== undefined) {
        defaults++;
        return v === undefined || v === "" ? (literal ?? "") : v;
      }
      return v ?? (keepUnset ? whole : "");
    });
    if (next === cur) break;
    cur = next;
  }
  return { out: cur, defaults };
}

/**
 * Substitutes `${VAR}` and the default forms in a string, innermost first. `vars` maps a
 * variable to its value; a variable not in `vars` is unset: a default form yields its literal,
 * a plain `${VAR}` is kept as written when `keepUnset` (the model's "unknown until the cluster
 * fills it in") or becomes empty otherwise (what envsubst does).
 */
export function envsubst(s: string, vars: Readonly<Record<string, string>>, keepUnset = true): string {
  return s.includes("${") ? run(s, vars, keepUnset).out : s;
}

/** Whether a string holds a substitution expression with a literal default (`${VAR:=literal}` and the other forms). */
export function hasSubstitutionDefault(s: string): boolean {
  return s.includes("${") && run(s, {}, false).defaults > 0;
}

/**
 * What Flux applies when no variable is set: every default literal in place, every plain
 * `${VAR}` empty. Null when the string has no default form (then it is simply unknown).
 * Credential checks read this: a literal in a substitution expression is clear text in Git.
 */
export function substitutionLiteral(s: string): string | null {
  if (!s.includes("${")) return null;
  const r = run(s, {}, false);
  return r.defaults > 0 ? r.out : null;
}

/** The variables a string writes with a literal default (`${NAME:=literal}` and the other forms), in order. */
export function defaultedVariables(s: string): string[] {
  if (!s.includes("${")) return [];
  return [...s.matchAll(DEFAULTED)].map((m) => m[1]!);
}
