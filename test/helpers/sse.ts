/** A server-sent events client for tests: reads messages (id, data) off a fetch body as they come. */
export interface SseMessage {
  id?: string;
  event?: string;
  data: string;
}

export class SseClient {
  readonly messages: SseMessage[] = [];
  private waiters: (() => void)[] = [];
  private done: Promise<void>;
  status = 0;

  private constructor(
    res: Response,
    private readonly abort: AbortController,
  ) {
    this.status = res.status;
    this.done = this.read(res).catch(() => {});
  }

  static async open(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
    const abort = new AbortController();
    const res = await fetch(url, { headers: { accept: "text/event-stream", ...headers }, signal: abort.signal });
    return new SseClient(res, abort);
  }

  private async read(res: Response): Promise<void> {
    if (!res.body) return;
    const decoder = new TextDecoder();
    let buf = "";
    for await (const chunk of res.body) {
      buf += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buf.indexOf("\n\n")) >= 0) {
        const block = buf.slice(0, end);
        buf = buf.slice(end + 2);
        const m: SseMessage = { data: "" };
        const data: string[] = [];
        for (const line of block.split("\n")) {
          if (line.startsWith(":")) continue;
          const i = line.indexOf(":");
          const field = i < 0 ? line : line.slice(0, i);
          const value = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "");
          if (field === "id") m.id = value;
          else if (field === "event") m.event = value;
          else if (field === "data") data.push(value);
        }
        if (data.length === 0) continue;
        m.data = data.join("\n");
        this.messages.push(m);
        for (const w of this.waiters.splice(0)) w();
      }
    }
  }

  /** Waits until at least n messages arrived, or fails at the deadline. */
  async waitForCount(n: number, timeoutMs = 10_000): Promise<SseMessage[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.messages.length < n) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${n} server-sent events (have ${this.messages.length})`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.messages;
  }

  async close(): Promise<void> {
    this.abort.abort();
    await this.done;
  }
}
