/**
 * Inline suppressions: `fluxguard.io/ignore: "<rule-id>: <reason>"`, several separated by newlines or
 * `;`. Pure parsing (no I/O): the engine applies them and a rule reports the malformed ones.
 */
export const IGNORE_ANNOTATION = "fluxguard.io/ignore";

export interface Suppression {
  ruleId: string;
  reason: string;
}

export function parseSuppressions(value: string | undefined): { ok: Suppression[]; invalid: string[] } {
  const ok: Suppression[] = [];
  const invalid: string[] = [];
  if (!value) return { ok, invalid };
  for (const part of value.split(/\n|;/).map((s) => s.trim()).filter(Boolean)) {
    const m = /^([a-z0-9-]+)\s*:\s*(.*\S)\s*$/.exec(part);
    if (m) ok.push({ ruleId: m[1]!, reason: m[2]! });
    else invalid.push(part);
  }
  return { ok, invalid };
}
