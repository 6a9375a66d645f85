/** Runs the CLI in-process with captured output, for tests. */
import { main } from "../cli/main.js";
import type { CliIO } from "../cli/io.js";
import { REPO_ROOT } from "./paths.js";

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runCli(argv: string[], opts: { cwd?: string; env?: Record<string, string | undefined>; isTTY?: boolean } = {}): Promise<CliResult> {
  let stdout = "";
  let stderr = "";
  const io: CliIO = {
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
    isTTY: opts.isTTY ?? false,
    env: { PATH: process.env["PATH"], FLUXGUARD_KUSTOMIZE: "kubectl", ...opts.env },
    cwd: opts.cwd ?? REPO_ROOT,
  };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}
