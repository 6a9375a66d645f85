import type { Command } from "../command.js";

export const explainCommand: Command = {
  name: "explain",
  summary: "(being built)",
  usage: "fluxguard explain",
  async run() {
    return 2;
  },
};
