#!/usr/bin/env node
// The only place that sets the process exit code (CONVENTIONS.md: exit codes).
// Runs on Node.js 20.19 and later; the one part that needs a newer Node (the Kubernetes
// client, for `audit --cluster`) says so itself when it is used (src/loader/kube-client.ts).
import { main } from "../cli/main.js";
import { processIO } from "../cli/io.js";

// `fluxguard ... | head`: a reader that goes away is not an error worth a stack trace.
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code !== "EPIPE") throw e;
});
process.exitCode = await main(process.argv.slice(2), processIO());
