// A node:test reporter for `npm test`: a dot per test, the failures in full at the end, the
// skipped tests with their reasons, and one last line `N passed, N failed` for people and CI.
// Works on Node 20 (where test details carry no `type`) and on Node 22/24.
import { inspect } from "node:util";

/** @param {AsyncIterable<{type: string, data: any}>} source */
export default async function* fluxguardReporter(source) {
  let passed = 0;
  let column = 0;
  const failed = [];
  const skipped = [];
  for await (const event of source) {
    if (event.type !== "test:pass" && event.type !== "test:fail") {
      if (event.type === "test:stderr" || event.type === "test:stdout") continue;
      continue;
    }
    const data = event.data;
    if (data.details?.type === "suite") {
      // A suite that fails by itself (a hook, a crash outside its tests) is still a failure.
      if (event.type === "test:fail" && data.details?.error?.failureType !== "subtestsFailed") failed.push(data);
      continue;
    }
    let mark = ".";
    if (data.skip !== undefined && data.skip !== false) {
      skipped.push(data);
      mark = "-";
    } else if (event.type === "test:pass") passed++;
    else if (data.details?.error?.failureType === "subtestsFailed") continue;
    else {
      failed.push(data);
      mark = "X";
    }
    yield mark;
    if (++column % 80 === 0) yield "\n";
  }
  yield "\n";
  for (const t of failed) {
    const err = t.details?.error;
    const cause = err?.cause ?? err;
    yield `\nFAILED ${t.name}${t.file ? `  (${t.file}${t.line ? `:${t.line}` : ""})` : ""}\n`;
    yield `${inspect(cause, { depth: 4, colors: false }).replace(/^/gm, "  ")}\n`;
  }
  if (skipped.length) {
    yield `\nskipped ${skipped.length}:\n`;
    for (const t of skipped) yield `  ${t.name}: ${typeof t.skip === "string" ? t.skip : "skipped"}\n`;
  }
  yield `\n${passed} passed, ${failed.length} failed\n`;
}
