/**
 * The subscriber side of scripts/bench/events-stream.ts, in its own process so that reading the
 * streams does not take the control's event loop: `--subscribers` clients of `GET /v1/events`
 * (server-sent events, starting after `--after`), each recording every message's id and when it
 * arrived (Date.now(): the control stamps events with the same wall clock, on the same machine).
 *
 * Talks to the bench over stdio, one line at a time: it prints `ready` once every stream is open;
 * on `end <id>` from stdin it waits until every stream has received event `<id>` (or
 * `--drain-timeout-ms` passes), prints one JSON object `{ streams: [{ status, ids, at, error? }] }`
 * and exits.
 *
 *   bun scripts/bench/lib/sse-subscribers.ts --url URL --token T --subscribers 20 --after ID
 */
import { benchArgs } from "./args.ts";

const args = benchArgs();
const URL_ = args.str("url", "");
const TOKEN = args.str("token", "");
const SUBSCRIBERS = args.num("subscribers", 20);
const AFTER = args.num("after", 0);
const DRAIN_TIMEOUT_MS = args.num("drain-timeout-ms", 30_000);
if (!URL_) throw new Error("--url is required");

interface Stream {
  status: number;
  ids: number[];
  at: number[];
  error?: string;
  /** Resolved when the stream's first bytes (the ": stream open" comment) arrive. */
  opened: Promise<void>;
  abort: AbortController;
  done: Promise<void>;
}

let endId = Infinity;
let onProgress: (() => void) | undefined;

function open(): Stream {
  const abort = new AbortController();
  const s = { status: 0, ids: [] as number[], at: [] as number[], abort } as Stream;
  let markOpen!: () => void;
  s.opened = new Promise<void>((r) => (markOpen = r));
  s.done = (async () => {
    const res = await fetch(`${URL_}/v1/events?after=${AFTER}`, { headers: { accept: "text/event-stream", authorization: `Bearer ${TOKEN}` }, signal: abort.signal });
    s.status = res.status;
    if (!res.body) throw new Error(`no body (${res.status})`);
    const decoder = new TextDecoder();
    let buf = "";
    for await (const chunk of res.body) {
      markOpen();
      const now = Date.now();
      buf += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buf.indexOf("\n\n")) >= 0) {
        const block = buf.slice(0, end);
        buf = buf.slice(end + 2);
        // Only the id is needed; a message without one is a comment (open, keepalive).
        const m = /^id: ?(\d+)$/m.exec(block);
        if (!m) continue;
        s.ids.push(Number(m[1]));
        s.at.push(now);
      }
      if (s.ids.length > 0 && s.ids.at(-1)! >= endId) onProgress?.();
    }
  })()
    .catch((e: Error) => {
      if (e.name !== "AbortError") s.error = e.message;
    })
    .finally(() => {
      markOpen();
      onProgress?.();
    });
  return s;
}

const streams = Array.from({ length: SUBSCRIBERS }, open);
await Promise.all(streams.map((s) => s.opened));
const failed = streams.find((s) => s.error || s.status !== 200);
if (failed) throw new Error(`a stream did not open: ${failed.status} ${failed.error ?? ""}`);
process.stdout.write("ready\n");

// Wait for `end <id>` on stdin.
const reader = Bun.stdin.stream().getReader();
let input = "";
while (!/^end \d+$/m.test(input)) {
  const { value, done } = await reader.read();
  if (done) break;
  input += new TextDecoder().decode(value);
}
endId = Number(/^end (\d+)$/m.exec(input)?.[1] ?? 0);

const reached = (s: Stream) => (s.ids.at(-1) ?? 0) >= endId || s.error !== undefined;
await new Promise<void>((resolve) => {
  const timer = setTimeout(resolve, DRAIN_TIMEOUT_MS);
  const check = () => {
    if (streams.every(reached)) {
      clearTimeout(timer);
      resolve();
    }
  };
  onProgress = check;
  check();
});
for (const s of streams) s.abort.abort();
await Promise.all(streams.map((s) => s.done));
// Bun.write waits until the whole answer (megabytes at full size) is in the pipe; exit() would cut it.
await Bun.write(Bun.stdout, `${JSON.stringify({ streams: streams.map((s) => ({ status: s.status, ids: s.ids, at: s.at, ...(s.error ? { error: s.error } : {}) })) })}\n`);
process.exit(0);
