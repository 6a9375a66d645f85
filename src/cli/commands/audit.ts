import type { Command } from "../command.js";

export const auditCommand: Command = {
  name: "audit",
  summary: "(being built)",
  usage: "fluxguard audit",
  async run() {
    return 2;
  },
};
