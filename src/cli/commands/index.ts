import type { Command } from "../command.js";
import { auditCommand } from "./audit.js";
import { rulesCommand } from "./rules.js";
import { explainCommand } from "./explain.js";
import { verifyCommand } from "./verify.js";
import { keysCommand } from "./keys.js";
import { initCommand } from "./init.js";
import { generateCommand } from "./generate.js";
import { webhookCommand } from "./webhook.js";
import { fixCommand } from "./fix.js";
import { monitorCommand } from "./monitor.js";

/** Every subcommand, in the order `fluxguard --help` lists them. Add new commands here. */
export const COMMANDS: readonly Command[] = [auditCommand, rulesCommand, explainCommand, verifyCommand, keysCommand, initCommand, generateCommand, fixCommand, monitorCommand, webhookCommand];
