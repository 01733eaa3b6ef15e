import { runCli } from "./run.ts";

const abort = new AbortController();
// Ctrl-C ends a follow or a wait: abort the stream, exit as shells expect (128 + SIGINT).
process.on("SIGINT", () => {
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
