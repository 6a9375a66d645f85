#!/usr/bin/env node
// The only place that sets the process exit code (CONVENTIONS.md: exit codes).
// Runs on Node.js 20.19 and later; the one part that needs a newer Node (the Kubernetes
// client, for `audit --cluster`) says so itself when it is used (src/loader/kube-client.ts).
import { main } from "../cli/main.js";
import { processIO } from "../cli/io.js";
import { sweepRenderTemp } from "../loader/render.js";

// `fluxguard ... | head`: a reader that goes away is not an error worth a stack trace.
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code !== "EPIPE") throw e;
});
// Killed mid-render: remove this run's temporary render directories, then exit as killed.
// A command that handles the signal itself (a server draining its work) is left to it.
for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
  process.once(signal, () => {
    if (process.listenerCount(signal) > 0) return;
    sweepRenderTemp(true);
    process.exit(code);
  });
}
process.exitCode = await main(process.argv.slice(2), processIO());
