import type { Subprocess } from "bun";

/** A process started by a test helper, with everything it prints (stdout and stderr as they came). */
export interface CollectedProcess {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  output(): string;
  running(): boolean;
}

export function spawnCollecting(args: string[], opts: { cwd: string; env: Record<string, string | undefined> }): CollectedProcess {
  const proc: Subprocess<"ignore", "pipe", "pipe"> = Bun.spawn(args, { stdin: "ignore", stdout: "pipe", stderr: "pipe", cwd: opts.cwd, env: opts.env });
  let out = "";
  const pump = async (s: ReadableStream<Uint8Array>) => {
    const dec = new TextDecoder();
    for await (const chunk of s) out += dec.decode(chunk);
  };
  void pump(proc.stdout);
  void pump(proc.stderr);
  return { proc, output: () => out, running: () => proc.exitCode === null && proc.signalCode === null };
}
