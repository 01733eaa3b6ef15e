import { spawnCollecting } from "./spawn-collecting.ts";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { assertNoProcessesLeftBehind, trackResource } from "./leftovers.ts";

const ROOT = join(import.meta.dir, "..", "..");

export interface AgentProcess {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  dataDir: string;
  output(): string;
  exited: Promise<number>;
  /** SIGKILL, as a crash would. */
  kill9(): Promise<void>;
  /** SIGTERM, and SIGKILL if the agent has not exited 15 s later. */
  stop(): Promise<void>;
}

/**
 * Starts a real agent process (`bun agent/main.ts`) and collects what it prints. Its ingress proxy
 * is off unless `args` name an --ingress address; its discovery DNS
 * responder is off unless `args` name a --dns-listen (only one process can hold an address's port
 * 53; test/integration/discovery-dns.test.ts gives each agent an address of its own).
 */
export function startAgentProcess(opts: {
  control: string;
  activation?: { activationId: string; activationCode: string };
  dataDir?: string;
  args?: string[];
  /** Extra environment (e.g. DOCKER_HOST for another engine). */
  env?: Record<string, string>;
  /** The program to run instead of `bun agent/main.ts` (a compiled agent binary). */
  command?: string[];
}): AgentProcess {
  assertNoProcessesLeftBehind();
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), "flotilla-agent-"));
  const args = [...(opts.command ?? ["bun", join(ROOT, "agent/main.ts")]), "--control", opts.control, "--data-dir", dataDir, "--introspection-port", "0", "--task-metadata-port", "0", "--dns-listen", "off", "--ingress", "off", ...(opts.args ?? [])];
  if (opts.activation) args.push("--activation-id", opts.activation.activationId, "--activation-code", opts.activation.activationCode);
  const { proc, output, running } = spawnCollecting(args, { cwd: ROOT, env: { ...process.env, ...opts.env } });
  const stop = async () => {
    if (!running()) return;
    proc.kill("SIGTERM");
    const exited = await Promise.race([proc.exited.then(() => true), Bun.sleep(15_000).then(() => false)]);
    if (!exited) proc.kill("SIGKILL");
    await proc.exited;
  };
  trackResource("agent", `pid ${proc.pid} (data dir ${dataDir})`, running, stop);
  return {
    proc,
    dataDir,
    output,
    exited: proc.exited,
    async kill9() {
      proc.kill("SIGKILL");
      await proc.exited;
    },
    stop,
  };
}
