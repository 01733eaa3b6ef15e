import type { Subprocess } from "bun";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "..", "..", "..");

export interface BenchAgent {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  pid: number;
  output(): string;
  kill9(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A real agent process against the Docker engine: `bun agent/main.ts` from source, or a compiled
 * binary when `binary` is given. Pull behaviour prefer-cached: there is no registry here.
 */
export function startBenchAgent(opts: { control: string; activation: { activationId: string; activationCode: string }; binary?: string; args?: string[]; env?: Record<string, string> }): BenchAgent {
  const dataDir = mkdtempSync(join(tmpdir(), "flotilla-bench-agent-"));
  const cmd = opts.binary ? [opts.binary] : ["bun", join(ROOT, "agent/main.ts")];
  const proc = Bun.spawn(
    [
      ...cmd,
      "--control", opts.control,
      "--data-dir", dataDir,
      "--image-pull-behavior", "prefer-cached",
      "--activation-id", opts.activation.activationId,
      "--activation-code", opts.activation.activationCode,
      // No discovery DNS unless a benchmark asks (only one process can hold the bridge's port 53).
      "--dns-listen", "off",
      // Nor an ingress proxy (it would subscribe to the discovery sets too, docs/ingress.md).
      "--ingress", "off",
      ...(opts.args ?? []),
    ],
    { cwd: ROOT, stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, ...opts.env } },
  );
  let out = "";
  const pump = async (s: ReadableStream<Uint8Array>) => {
    const dec = new TextDecoder();
    for await (const chunk of s) out = (out + dec.decode(chunk)).slice(-20_000);
  };
  void pump(proc.stdout);
  void pump(proc.stderr);
  const cleanup = () => rmSync(dataDir, { recursive: true, force: true });
  return {
    proc,
    pid: proc.pid,
    output: () => out,
    async kill9() {
      proc.kill("SIGKILL");
      await proc.exited;
      cleanup();
    },
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill("SIGTERM");
        const done = await Promise.race([proc.exited.then(() => true), Bun.sleep(15_000).then(() => false)]);
        if (!done) proc.kill("SIGKILL");
        await proc.exited;
      }
      cleanup();
    },
  };
}

/** Polls until `probe` gives a value, or throws at the deadline. */
export async function until<T>(what: string, probe: () => Promise<T | undefined | null | false>, timeoutMs = 30_000, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== null && v !== false) return v as T;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await Bun.sleep(intervalMs);
  }
}
