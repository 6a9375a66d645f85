/**
 * The one place that keeps secret values out of what fluxguard prints or stores: messages
 * (findings, render problems, notices, errors) and diffs. No I/O.
 *
 * - Credentials in URLs (`https://user:token@host`, `ssh://user:pass@host`) become `***@`.
 * - In YAML shown to the user (diff context of `fix --dry-run`): a Secret's `data` and
 *   `stringData`, values under secret-like keys (password, token, secret, credential, key...),
 *   `name=value` list items (kustomize generator literals), and URL credentials are masked.
 *   Lines are kept one for one, so a diff of masked texts has the shape of the real one.
 */

/**
 * Masks credentials in the user-info part of every URL in a string: a `user:password` pair in
 * any scheme, and any user-info of an HTTP(S) URL (`https://<token>@host`). A bare SSH user
 * (`ssh://git@host`) is a name, not a credential, and stays.
 */
export function redactUrls(s: string): string {
  return s.replace(/\b([a-z][a-z0-9+.-]*:\/\/)([^\s/@'"<>]+)@/gi, (m, scheme: string, info: string) =>
    info.includes(":") || /^https?:/i.test(scheme) ? `${scheme}***@` : m,
  );
}

/** A redacted message: URL credentials masked. Apply to every message from scanned content. */
export function redactMessage(s: string): string {
  return redactUrls(s);
}

const SECRET_KEY = /(pass(word|wd|phrase)?|secret|token|api[-_]?key|private[-_]?key|access[-_]?key|credential|bearer|session|cookie|client[-_]?secret|\.pem|id_rsa|id_ed25519|identity|known_hosts)$/i;
const MASK = "<redacted>";

function indentOf(line: string): number {
  return /^\s*/.exec(line)![0].length;
}

/** Masks secret values in YAML text, line for line (see the module comment). */
export function redactYaml(text: string): string {
  const lines = text.split("\n");
  // Document boundaries and which documents are Secrets.
  const docOf: number[] = [];
  const secretDocs = new Set<number>();
  let doc = 0;
  for (let i = 0; i < lines.length; i++) {
    if (/^---/.test(lines[i]!)) doc++;
    docOf.push(doc);
    if (/^kind:\s*["']?Secret["']?\s*(#.*)?\r?$/.test(lines[i]!)) secretDocs.add(doc);
  }
  let maskIndent: number | null = null;
  return lines
    .map((raw, i) => {
      const line = redactUrls(raw);
      if (maskIndent !== null) {
        if (line.trim() === "" || indentOf(line) > maskIndent) {
          const m = /^(\s*-?\s*)([^:#\s][^:#]*?:)(\s+)\S.*?(\r?)$/.exec(line);
          if (m) return `${m[1]}${m[2]}${m[3]}${MASK}${m[4]}`;
          return line.trim() === "" ? line : `${" ".repeat(indentOf(line))}${MASK}${line.endsWith("\r") ? "\r" : ""}`;
        }
        maskIndent = null;
      }
      const cr = line.endsWith("\r") ? "\r" : "";
      const isSecret = secretDocs.has(docOf[i]!);
      const data = /^(\s*)(data|stringData):(\s*)(.*?)\r?$/.exec(line);
      if (isSecret && data && indentOf(line) === 0) {
        if (data[4] === "" || /^[|>][-+0-9]*\s*(#.*)?$/.test(data[4]!)) {
          maskIndent = data[1]!.length;
          return line;
        }
        return `${data[1]}${data[2]}:${data[3]}${MASK}${cr}`;
      }
      const kv = /^(\s*-?\s*)(["']?)([^:#"'\s][^:#"']*)\2(:)(\s*)(.*?)\r?$/.exec(line);
      if (kv && SECRET_KEY.test(kv[3]!.trim())) {
        const value = kv[6]!;
        if (value === "" || /^[|>][-+0-9]*\s*(#.*)?$/.test(value)) {
          maskIndent = indentOf(line) + (kv[1]!.includes("-") ? 2 : 0);
          return line;
        }
        if (/^(true|false|null|~|\$\{[^}]*\})$/.test(value)) return line;
        return `${kv[1]}${kv[2]}${kv[3]}${kv[2]}:${kv[5] || " "}${MASK}${cr}`;
      }
      const literal = /^(\s*-\s*["']?)([A-Za-z0-9_.-]+)=(.+?)(["']?)\r?$/.exec(line);
      if (literal) return `${literal[1]}${literal[2]}=${MASK}${literal[4]}${cr}`;
      return line;
    })
    .join("\n");
}

/**
 * Whether data holds something secret-bearing: a Secret object, a URL with credentials, or a
 * literal string under a secret-like key (a password in Helm values or postBuild.substitute).
 * What holds one is never written to disk (the render cache).
 */
export function holdsSecret(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length) {
    const v = stack.pop();
    if (typeof v === "string") {
      if (redactUrls(v) !== v) return true;
    } else if (Array.isArray(v)) stack.push(...v);
    else if (v !== null && typeof v === "object") {
      const o = v as Record<string, unknown>;
      if (o["kind"] === "Secret" && typeof o["apiVersion"] === "string") return true;
      for (const [k, x] of Object.entries(o)) {
        if (typeof x === "string" && x !== "" && SECRET_KEY.test(k) && !/^\$\{[^}]*\}$/.test(x)) return true;
        stack.push(x);
      }
    }
  }
  return false;
}
