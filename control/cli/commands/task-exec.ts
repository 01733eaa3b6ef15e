import { seg } from "../client.ts";
import { intFlag, type Command, type CommandContext } from "../command.ts";
import { CommandFailed, UsageError } from "../errors.ts";

/** Exit code when the session itself failed (refused, killed, agent gone), as ssh does. */
export const SESSION_FAILED_EXIT = 255;

interface ServerFrame {
  stdout?: string;
  stderr?: string;
  exitCode?: number;
  error?: string;
}

/** The terminal's size, when stdout is one. */
function terminalSize(): { cols: number; rows: number } | undefined {
  const { columns, rows } = process.stdout;
  return process.stdout.isTTY && columns && rows ? { cols: columns, rows } : undefined;
}

/**
 * `flotilla tasks exec TASK [--container NAME] [-i] [-t] -- CMD...`: ExecuteCommand, then the
 * session's WebSocket. With -i stdin is sent (its end closes the command's stdin); with -t the
 * command runs under a pty, the local terminal is put in raw mode and its size follows the window.
 * Exits with the command's exit code.
 */
export const execCommand: Command = {
  summary: "Run a command in a task's container (ECS Exec, relayed over the agent's link).",
  args: "<task-id> -- <command> [args...]",
  options: {
    container: { type: "string", valueName: "NAME", description: "container name (default: the task's only container)" },
    interactive: { type: "boolean", short: "i", description: "send stdin to the command" },
    tty: { type: "boolean", short: "t", description: "run the command under a pty" },
    timeout: { type: "string", valueName: "SECONDS", description: "kill the command after this long (default 3600)" },
  },
  examples: ["flotilla tasks exec -c edge 1f2e… -- cat /etc/hostname", "flotilla tasks exec -c edge -it 1f2e… -- sh"],
  async run(ctx, { positionals, values }) {
    const [taskId, ...command] = positionals;
    if (!taskId) throw new UsageError("missing argument <task-id>");
    if (!command.length) throw new UsageError("missing the command: put it after --, e.g. flotilla tasks exec TASK -- sh");
    const timeoutSeconds = intFlag("timeout", values.timeout, { min: 1, max: 24 * 3600 });
    const body = await ctx.client.call("POST", `/v1/clusters/${seg(ctx.settings.cluster)}/tasks/${seg(taskId)}/exec`, {
      ...(values.container ? { container: values.container } : {}),
      command,
      interactive: !!values.interactive,
      tty: !!values.tty,
      ...(timeoutSeconds !== undefined ? { timeoutSeconds } : {}),
    });
    return attachSession(ctx, body.session, { interactive: !!values.interactive, tty: !!values.tty });
  },
};

async function attachSession(ctx: CommandContext, session: { streamUrl: string; tokenValue: string }, mode: { interactive: boolean; tty: boolean }): Promise<number> {
  const url = new URL(ctx.client.baseUrl.replace(/\/$/, "") + session.streamUrl);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  url.searchParams.set("token", session.tokenValue);
  const size = mode.tty ? terminalSize() : undefined;
  if (size) {
    url.searchParams.set("cols", String(size.cols));
    url.searchParams.set("rows", String(size.rows));
  }
  const ws = new WebSocket(url.toString());
  const raw = mode.tty && mode.interactive && process.stdin.isTTY;
  const cleanups: (() => void)[] = [];
  const send = (msg: object) => {
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg));
  };
  return new Promise<number>((resolve, reject) => {
    let result: number | undefined;
    const finish = () => {
      for (const c of cleanups.splice(0)) c();
      if (result !== undefined) resolve(result);
      else reject(new CommandFailed("the exec session ended without an exit code", SESSION_FAILED_EXIT));
    };
    ws.onopen = () => {
      if (mode.interactive) {
        if (raw) {
          process.stdin.setRawMode(true);
          cleanups.push(() => process.stdin.setRawMode(false));
        }
        const onData = (b: Buffer) => send({ stdin: b.toString("base64") });
        const onEnd = () => send({ eof: true });
        process.stdin.on("data", onData);
        process.stdin.on("end", onEnd);
        cleanups.push(() => {
          process.stdin.off("data", onData);
          process.stdin.off("end", onEnd);
          process.stdin.pause();
        });
      }
      if (mode.tty && process.stdout.isTTY) {
        const onResize = () => {
          const s = terminalSize();
          if (s) send({ resize: s });
        };
        process.stdout.on("resize", onResize);
        cleanups.push(() => process.stdout.off("resize", onResize));
      }
      const onAbort = () => ws.close(1000, "interrupted");
      ctx.signal.addEventListener("abort", onAbort, { once: true });
      cleanups.push(() => ctx.signal.removeEventListener("abort", onAbort));
    };
    ws.onmessage = (evt) => {
      const f = JSON.parse(String(evt.data)) as ServerFrame;
      if (f.stdout) process.stdout.write(Buffer.from(f.stdout, "base64"));
      if (f.stderr) process.stderr.write(Buffer.from(f.stderr, "base64"));
      if (f.exitCode !== undefined) result = f.exitCode;
      if (f.error !== undefined) {
        ctx.err(`exec: ${f.error}`);
        result = SESSION_FAILED_EXIT;
      }
    };
    ws.onerror = () => undefined; // onclose follows and says how it ended
    ws.onclose = finish;
  });
}
