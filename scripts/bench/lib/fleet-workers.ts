import type { Subprocess } from "bun";
import { join } from "node:path";
import type { FleetWorkerConfig } from "./fleet-worker.ts";

export interface WorkerStats {
  agents: number;
  registered: number;
  connected: number;
  bytesOut: number;
  bytesIn: number;
  reconnects: number;
  registrationRetries: number;
  unhandledRejections: number;
  running: number;
  rssBytes: number;
}

interface Worker {
  proc: Subprocess;
  progress: { registered: number; connected: number };
  waiters: ((m: any) => void)[];
  early: any[];
}

/** Processes of hollow agents (lib/fleet-worker.ts), driven over Bun IPC. */
export class FleetWorkers {
  private workers: Worker[] = [];
  private failure?: Error;

  constructor(count: number) {
    for (let i = 0; i < count; i++) {
      const w: Worker = { proc: undefined as unknown as Subprocess, progress: { registered: 0, connected: 0 }, waiters: [], early: [] };
      w.proc = Bun.spawn(["bun", join(import.meta.dir, "fleet-worker.ts")], {
        stdin: "ignore",
        stdout: "inherit",
        stderr: "inherit",
        ipc: (m: any) => {
          if (m.type === "progress") w.progress = m;
          else if (m.type === "error") this.failure = new Error(`fleet worker ${i}: ${m.message}`);
          else {
            const waiter = w.waiters.shift();
            // A message nobody waits for yet (the worker's hello) is kept for the next request.
            waiter ? waiter(m) : w.early.push(m);
          }
        },
      });
      this.workers.push(w);
    }
  }

  get pids(): number[] {
    return this.workers.map((w) => w.proc.pid);
  }

  private request(w: Worker, msg: unknown, expect: string): Promise<any> {
    return new Promise((resolve, reject) => {
      const early = w.early.shift();
      if (early) return early.type === expect ? resolve(early) : reject(new Error(`expected ${expect}, got ${JSON.stringify(early)}`));
      w.waiters.push((m) => (m.type === expect ? resolve(m) : reject(new Error(`expected ${expect}, got ${JSON.stringify(m)}`))));
      if (msg) w.proc.send(msg);
    });
  }

  /** Waits for every worker to be up, then starts `total` agents spread over them. */
  async start(total: number, cfg: Omit<FleetWorkerConfig, "count" | "offset" | "activations"> & { activations: FleetWorkerConfig["activations"] }, onProgress?: (registered: number, connected: number) => void): Promise<WorkerStats[]> {
    await Promise.all(this.workers.map((w) => this.request(w, null, "hello")));
    const per = Math.ceil(total / this.workers.length);
    const timer = setInterval(() => {
      if (this.failure) return;
      const r = this.workers.reduce((s, w) => s + w.progress.registered, 0);
      const c = this.workers.reduce((s, w) => s + w.progress.connected, 0);
      onProgress?.(r, c);
    }, 1000);
    try {
      const ready = this.workers.map((w, i) => {
        const count = Math.max(0, Math.min(per, total - i * per));
        // Each worker gets its own share of the activations (one per registration slot).
        const share = Math.ceil(cfg.activations.length / this.workers.length);
        const activations = cfg.activations.slice(i * share, (i + 1) * share);
        return this.request(w, { cmd: "start", ...cfg, activations, count, offset: i * per }, "ready");
      });
      const failed = new Promise<never>((_, reject) => {
        const t = setInterval(() => {
          if (this.failure) {
            clearInterval(t);
            reject(this.failure);
          }
        }, 200);
        void Promise.all(ready).finally(() => clearInterval(t));
      });
      return await Promise.race([Promise.all(ready), failed]);
    } finally {
      clearInterval(timer);
    }
  }

  async stats(): Promise<WorkerStats> {
    const all: WorkerStats[] = await Promise.all(this.workers.map((w) => this.request(w, { cmd: "stats" }, "stats")));
    const sum = (k: keyof WorkerStats) => all.reduce((s, x) => s + x[k], 0);
    return {
      agents: sum("agents"),
      registered: sum("registered"),
      connected: sum("connected"),
      bytesOut: sum("bytesOut"),
      bytesIn: sum("bytesIn"),
      reconnects: sum("reconnects"),
      registrationRetries: sum("registrationRetries"),
      unhandledRejections: sum("unhandledRejections"),
      running: sum("running"),
      rssBytes: sum("rssBytes"),
    };
  }

  /** Per-task agent-side trace marks and event-loop stalls of every worker (--trace). */
  async trace(): Promise<{ tasks: Record<string, { desiredReceived?: number; reportSent?: number; worker: number }>; stalls: { worker: number; stall: number; at: number }[] }> {
    const all = await Promise.all(this.workers.map((w) => this.request(w, { cmd: "trace" }, "trace")));
    return {
      tasks: Object.assign({}, ...all.map((t, i) => Object.fromEntries(Object.entries(t.tasks as Record<string, object>).map(([id, m]) => [id, { ...m, worker: i }])))),
      stalls: all.flatMap((t, i) => (t.stalls as { stall: number; at: number }[]).map((s) => ({ worker: i, ...s }))),
    };
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.workers.map(async (w) => {
        if (w.proc.exitCode !== null) return;
        w.proc.send({ cmd: "stop" });
        const done = await Promise.race([w.proc.exited.then(() => true), Bun.sleep(5000).then(() => false)]);
        if (!done) w.proc.kill("SIGKILL");
      }),
    );
  }
}
