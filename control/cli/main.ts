import { runCli } from "./run.ts";

const abort = new AbortController();
process.on("SIGINT", () => {
  // First Ctrl-C ends a follow/wait cleanly; a second one kills.
  if (abort.signal.aborted) process.exit(130);
  abort.abort();
  process.exit(130);
});

const code = await runCli(process.argv.slice(2), {
  env: process.env,
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  tty: Boolean(process.stderr.isTTY),
  signal: abort.signal,
});
process.exit(code);
