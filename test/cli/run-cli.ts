import { join } from "node:path";

const ROOT = join(import.meta.dir, "..", "..");

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  json<T = any>(): T;
}

/** Runs the real CLI (`bun control/cli/main.ts`) as a subprocess; no config file unless env names one. */
export async function cli(args: string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
  const proc = Bun.spawn(["bun", join(ROOT, "control/cli/main.ts"), ...args], {
    cwd: ROOT,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    env: { PATH: process.env.PATH, HOME: process.env.HOME, FLOTILLA_CONFIG: "/nonexistent/flotilla.json", ...env },
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr, json: () => JSON.parse(stdout) };
}
