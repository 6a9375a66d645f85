import type { CommandEntry } from "../command.js";

/**
 * Every subcommand, in the order `fluxguard --help` lists them. Add new commands here. Each
 * module is imported only when its command runs: importing them all up front cost a
 * long-running `fluxguard monitor` tens of MB of resident memory for code it never runs.
 */
export const COMMANDS: readonly CommandEntry[] = [
  { name: "audit", load: async () => (await import("./audit.js")).auditCommand },
  { name: "rules", load: async () => (await import("./rules.js")).rulesCommand },
  { name: "explain", load: async () => (await import("./explain.js")).explainCommand },
  { name: "verify", load: async () => (await import("./verify.js")).verifyCommand },
  { name: "keys", load: async () => (await import("./keys.js")).keysCommand },
  { name: "init", load: async () => (await import("./init.js")).initCommand },
  { name: "generate", load: async () => (await import("./generate.js")).generateCommand },
  { name: "fix", load: async () => (await import("./fix.js")).fixCommand },
  { name: "monitor", load: async () => (await import("./monitor.js")).monitorCommand },
  { name: "webhook", load: async () => (await import("./webhook.js")).webhookCommand },
];
