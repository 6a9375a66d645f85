/** RFC 6901 JSON pointers: how rules say *where* in an object a problem is. */

export function escapeToken(token: string | number): string {
  return String(token).replace(/~/g, "~0").replace(/\//g, "~1");
}

export function pointer(...tokens: Array<string | number>): string {
  return tokens.length === 0 ? "" : "/" + tokens.map(escapeToken).join("/");
}

export function parsePointer(p: string): string[] {
  if (p === "") return [];
  if (!p.startsWith("/")) throw new Error(`invalid JSON pointer '${p}'`);
  return p
    .slice(1)
    .split("/")
    .map((t) => t.replace(/~1/g, "/").replace(/~0/g, "~"));
}

/** Returns the value at a pointer, or undefined. */
export function getAt(value: unknown, p: string | string[]): unknown {
  let cur: unknown = value;
  for (const token of typeof p === "string" ? parsePointer(p) : p) {
    if (Array.isArray(cur)) cur = cur[Number(token)];
    else if (cur !== null && typeof cur === "object") cur = (cur as Record<string, unknown>)[token];
    else return undefined;
  }
  return cur;
}
