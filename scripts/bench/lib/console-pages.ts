/**
 * Console clients for benchmarks: a logged-in session, timed page reads, and open pages as a
 * browser keeps them — one server-sent-events stream each (GET /console/events) that, on a change
 * of a kind the page shows, re-reads the page as console.js does.
 */

/** Logs in with a token (POST /console/login) and returns the session cookie. */
export async function consoleLogin(httpUrl: string, token: string): Promise<string> {
  const res = await fetch(`${httpUrl}/console/login`, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token }),
  });
  const cookie = res.headers.get("set-cookie")?.split(";")[0];
  if (res.status !== 303 || !cookie) throw new Error(`console login: ${res.status} ${await res.text()}`);
  return cookie;
}

/** One page read to its last byte, in ms; a status other than 200 is an error. */
export async function timedGet(url: string, cookie: string): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(url, { headers: { cookie } });
  const body = await res.text();
  const ms = performance.now() - t0;
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status} ${body.slice(0, 200)}`);
  return ms;
}

export interface ChangeSeen {
  /** performance.now() when the change message arrived, and when the page's re-read finished. */
  eventAt: number;
  refreshedAt?: number;
  kinds: string[];
}

/** An open console page: its event stream, and what it saw since `reset()`. */
export class OpenPage {
  seen: ChangeSeen[] = [];
  hello = false;
  private abort = new AbortController();
  private done: Promise<void>;

  constructor(
    private readonly httpUrl: string,
    private readonly path: string,
    private readonly cookie: string,
    /** The kinds the page shows (its data-live attribute). */
    private readonly kinds: string[],
  ) {
    this.done = this.read().catch((e: Error) => {
      if (!this.abort.signal.aborted) throw e;
    });
  }

  private async read(): Promise<void> {
    const res = await fetch(`${this.httpUrl}/console/events`, { headers: { cookie: this.cookie, accept: "text/event-stream" }, signal: this.abort.signal });
    if (res.status !== 200 || !res.body) throw new Error(`event stream: ${res.status}`);
    const dec = new TextDecoder();
    let buf = "";
    for await (const chunk of res.body) {
      buf += dec.decode(chunk, { stream: true });
      let end: number;
      while ((end = buf.indexOf("\n\n")) >= 0) {
        const block = buf.slice(0, end);
        buf = buf.slice(end + 2);
        const event = /^event: ?(.*)$/m.exec(block)?.[1];
        const data = /^data: ?(.*)$/m.exec(block)?.[1];
        if (event === "hello") this.hello = true;
        if (event !== "change" || !data) continue;
        const kinds = (JSON.parse(data) as { kinds: string[] }).kinds;
        const seen: ChangeSeen = { eventAt: performance.now(), kinds };
        this.seen.push(seen);
        // What console.js does on a change it shows: read the page again with the same session.
        if (kinds.some((k) => this.kinds.includes(k))) {
          void fetch(`${this.httpUrl}${this.path}`, { headers: { cookie: this.cookie } })
            .then((r) => r.text())
            .then(() => (seen.refreshedAt = performance.now()));
        }
      }
    }
  }

  reset(): void {
    this.seen = [];
  }

  async close(): Promise<void> {
    this.abort.abort();
    await this.done;
  }
}
