import type { Command } from "../command.js";

export const rulesCommand: Command = {
  name: "rules",
  summary: "(being built)",
  usage: "fluxguard rules",
  async run() {
    return 2;
  },
};
