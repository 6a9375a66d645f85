/**
 * A user-facing error: bad usage, bad input or a missing tool. The CLI prints
 * `fluxguard: <message>` and the hint, and exits 2. Anything else is a bug.
 */
export class UsageError extends Error {
  readonly hint: string | undefined;
  constructor(message: string, hint?: string) {
    super(message);
    this.name = "UsageError";
    this.hint = hint;
  }
}
