/** Go regular expressions (RE2 syntax) as ImagePolicy filterTags uses them. */

/** Capturing groups of a Go regexp: how many, and the names of the named ones. */
export function captureGroups(pattern: string): { count: number; names: string[] } {
  let count = 0;
  const names: string[] = [];
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "\\") {
      i++;
      continue;
    }
    if (inClass) {
      if (c === "]") inClass = false;
      continue;
    }
    if (c === "[") {
      inClass = true;
      if (pattern[i + 1] === "^") i++;
      if (pattern[i + 1] === "]") i++; // a leading ] is literal
      continue;
    }
    if (c !== "(") continue;
    if (pattern[i + 1] !== "?") {
      count++;
      continue;
    }
    const named = /^\?P?<([A-Za-z0-9_]+)>/.exec(pattern.slice(i + 1));
    if (named) {
      count++;
      names.push(named[1]!);
    }
  }
  return { count, names };
}

/** The group references of a Go `Regexp.Expand` template: `$name`, `${name}`, `$1`. */
export function templateRefs(template: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < template.length; i++) {
    if (template[i] !== "$") continue;
    if (template[i + 1] === "$") {
      i++;
      continue;
    }
    const m = /^\{([A-Za-z0-9_]+)\}|^([A-Za-z0-9_]+)/.exec(template.slice(i + 1));
    if (m) {
      out.push(m[1] ?? m[2]!);
      i += m[0].length;
    }
  }
  return out;
}
