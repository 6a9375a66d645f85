#!/usr/bin/env node
// The only place that sets the process exit code (CONVENTIONS.md: exit codes).
const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 12)) {
  process.stderr.write(`fluxguard: Node.js >= 22.12 is required; this is ${process.version}\nhint: install Node 24 LTS (or run .ci/run, which brings it in)\n`);
  process.exitCode = 2;
} else {
  // `fluxguard ... | head`: a reader that goes away is not an error worth a stack trace.
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code !== "EPIPE") throw e;
  });
  const { main } = await import("../cli/main.js");
  const { processIO } = await import("../cli/io.js");
  process.exitCode = await main(process.argv.slice(2), processIO());
}
