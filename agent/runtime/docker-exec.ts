import { readFile } from "node:fs/promises";
import type Docker from "dockerode";
import { DockerLogDemuxer } from "../logs/demux.ts";
import { RuntimeError, type ExecOptions, type ExecProcess, type LogChunk } from "./types.ts";

type Duplex = NodeJS.ReadWriteStream & { destroy(): void; end(): void };

/**
 * A command run with Docker exec over a hijacked connection: stdin written to the socket, output
 * read from it (demultiplexed without a pty), the exit code from `exec inspect`.
 *
 * Docker has no way to kill an exec: closing the connection leaves the command running. kill()
 * signals the process Docker reports (`exec inspect` Pid, a host pid): directly when the agent may
 * (it runs as root, as it usually must to drive Docker), else through a second exec running
 * `kill -9` inside the container with the pid as the container sees it (from /proc/PID/status
 * NSpid on the host). Under a pty the command leads its own process group, so the group is killed.
 */
/** Signals a host process (process.kill); tests pass one that is refused, as for a non-root agent. */
export type HostKill = (pid: number, signal: "SIGKILL") => void;

export async function dockerExec(docker: Docker, id: string, opts: ExecOptions, hostKill: HostKill = (pid, sig) => process.kill(pid, sig)): Promise<ExecProcess> {
  const container = docker.getContainer(id);
  let exec: Docker.Exec;
  let stream: Duplex;
  try {
    exec = await container.exec({ Cmd: opts.command, AttachStdin: opts.stdin, AttachStdout: true, AttachStderr: true, Tty: opts.tty });
    stream = (await exec.start({ hijack: true, stdin: opts.stdin, Tty: opts.tty })) as unknown as Duplex;
  } catch (e) {
    throw new RuntimeError("ExecError", (e as Error).message);
  }
  if (opts.tty && opts.size) await exec.resize({ h: opts.size.rows, w: opts.size.cols }).catch(() => undefined);
  if (!opts.stdin) stream.end();
  const demux = new DockerLogDemuxer();
  let killed = false;

  async function* output(): AsyncIterable<LogChunk> {
    try {
      for await (const piece of stream) {
        const bytes = typeof piece === "string" ? Buffer.from(piece) : (piece as Uint8Array);
        if (opts.tty) yield { stream: "stdout", data: bytes };
        else yield* demux.push(bytes);
      }
    } catch (e) {
      if (!killed) throw e;
    }
  }

  const inspect = async () => (await exec.inspect()) as { Running: boolean; ExitCode: number | null; Pid: number };

  return {
    output: output(),
    write: (bytes) => void stream.write(Buffer.from(bytes)),
    closeStdin: () => stream.end(),
    resize: async ({ cols, rows }) => {
      if (opts.tty) await exec.resize({ h: rows, w: cols });
    },
    exitCode: async () => {
      // The output ends a moment before Docker records the exit: poll briefly for it.
      const deadline = Date.now() + 10_000;
      for (;;) {
        const info = await inspect();
        if (!info.Running && info.ExitCode !== null) return info.ExitCode;
        if (Date.now() > deadline) throw new RuntimeError("ExecError", "the command's exit code did not arrive");
        await Bun.sleep(20);
      }
    },
    kill: async () => {
      killed = true;
      try {
        const info = await inspect();
        if (info.Running && info.Pid > 0) {
          await killProcess(docker, id, info.Pid, opts.tty, hostKill);
          // Killed means gone: resolve once Docker sees the command exited (bounded).
          const deadline = Date.now() + 3000;
          while ((await inspect()).Running && Date.now() < deadline) await Bun.sleep(20);
        }
      } finally {
        stream.destroy();
      }
    },
  };
}

async function killProcess(docker: Docker, containerId: string, hostPid: number, group: boolean, hostKill: HostKill): Promise<void> {
  try {
    if (group) {
      try {
        hostKill(-hostPid, "SIGKILL");
        return;
      } catch (e) {
        // EPERM: try the container's way below. ESRCH: not a group leader after all, the process alone.
        if ((e as NodeJS.ErrnoException).code === "EPERM") throw e;
      }
    }
    hostKill(hostPid, "SIGKILL");
    return;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ESRCH") return;
  }
  const inner = await containerPid(hostPid);
  if (inner === null) throw new RuntimeError("ExecError", `cannot kill exec process ${hostPid}: no permission and its pid inside the container is unknown`);
  const killer = await docker.getContainer(containerId).exec({ Cmd: ["kill", "-9", group ? `-${inner}` : `${inner}`], AttachStdout: false, AttachStderr: false });
  await killer.start({ Detach: true });
}

/** The pid a host process has in its own (innermost) pid namespace. */
async function containerPid(hostPid: number): Promise<number | null> {
  const status = await readFile(`/proc/${hostPid}/status`, "utf8").catch(() => "");
  const line = /^NSpid:\s*(.+)$/m.exec(status)?.[1];
  const last = line?.trim().split(/\s+/).pop();
  return last ? Number(last) : null;
}
