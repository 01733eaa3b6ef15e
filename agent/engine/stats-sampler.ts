import type { ContainerUsage, StatsMessage } from "../../shared/messages.ts";
import { MAX_STATS_CONTAINERS, MAX_STATS_TASKS } from "../../shared/messages.ts";
import { containerUsage } from "../runtime/stats-usage.ts";
import type { ContainerRuntime } from "../runtime/types.ts";
import type { ReadonlyAgentTask } from "../store/state-file.ts";
import { silentLogger, withComponent, type Logger } from "../../shared/log.ts";

export interface StatsSamplerOptions {
  runtime: Pick<ContainerRuntime, "stats">;
  /** The engine's current tasks (read only: the runners are the only writers of task state). */
  tasks: () => Iterable<ReadonlyAgentTask>;
  /** Sends a sample; false when offline (dropped: the next one replaces it). */
  send: (message: StatsMessage) => boolean;
  /** Between the starts of two samples; 0: off. */
  intervalMs: number;
  /** Stats calls in flight at once (each `stream=false` call takes Docker about a second). */
  concurrency?: number;
  now?: () => number;
  log?: Logger;
}

/** The default sampling interval (ECS Container Insights' finest is 60 s; scaling wants a little more). */
export const DEFAULT_STATS_INTERVAL_MS = 30_000;
const DEFAULT_CONCURRENCY = 4;

/**
 * Samples the cpu and memory use of every running container this agent runs, one `stream=false`
 * stats call each (no stream held open per container), and sends them as one small message.
 * It only reads: runtime ids come from the engine's task snapshot and nothing is written back, so
 * the runners stay the one writer of their tasks' state. A round that outlasts the interval
 * delays the next instead of overlapping it.
 */
export class StatsSampler {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;
  /** The last message carried tasks: the next one goes out even empty, so the control drops them. */
  private lastHadTasks = false;

  private readonly log: Logger;

  constructor(private opts: StatsSamplerOptions) {
    this.log = withComponent(opts.log ?? silentLogger, "stats");
  }

  /** Sampling on a timer (started, with an interval above 0). */
  get active(): boolean {
    return !this.stopped;
  }

  start(): void {
    if (this.opts.intervalMs <= 0 || !this.stopped) return;
    this.stopped = false;
    this.schedule(this.opts.intervalMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** Takes one sample of every running container (without sending it). */
  async sample(): Promise<StatsMessage> {
    const targets: { taskId: string; name: string; runtimeId: string }[] = [];
    let tasks = 0;
    for (const t of this.opts.tasks()) {
      if (tasks >= MAX_STATS_TASKS) break;
      const running = t.containers.filter((c) => c.knownStatus === "RUNNING" && c.runtimeId).slice(0, MAX_STATS_CONTAINERS);
      if (!running.length) continue;
      tasks++;
      for (const c of running) targets.push({ taskId: t.taskId, name: c.name, runtimeId: c.runtimeId! });
    }
    const readings = new Array<ContainerUsage | null>(targets.length).fill(null);
    let next = 0;
    const worker = async () => {
      while (next < targets.length) {
        const i = next++;
        const target = targets[i]!;
        try {
          const body = await this.opts.runtime.stats(target.runtimeId);
          const usage = body ? containerUsage(body) : null;
          if (usage) readings[i] = [usage.cpuUnits, usage.memoryBytes];
        } catch (e) {
          // A container removed between the snapshot and the call, or a busy engine: skipped this round.
          this.log.debug({ taskId: target.taskId }, `stats of ${target.runtimeId}: ${(e as Error).message}`);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.opts.concurrency ?? DEFAULT_CONCURRENCY, targets.length) }, worker));
    const message: StatsMessage = { at: (this.opts.now ?? Date.now)(), tasks: {} };
    targets.forEach((target, i) => {
      const reading = readings[i];
      if (!reading) return;
      (message.tasks[target.taskId] ??= {})[target.name] = reading;
    });
    return message;
  }

  /** One round: sample, then send unless there is nothing to say twice over. */
  async sampleAndSend(): Promise<void> {
    const message = await this.sample();
    const hasTasks = Object.keys(message.tasks).length > 0;
    if (!hasTasks && !this.lastHadTasks) return;
    if (this.opts.send(message)) this.lastHadTasks = hasTasks;
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => {
      const startedAt = Date.now();
      this.running = this.sampleAndSend()
        .catch((e: Error) => this.log.warn(`stats sample failed: ${e.message}`))
        .finally(() => {
          this.running = undefined;
          if (!this.stopped) this.schedule(Math.max(0, this.opts.intervalMs - (Date.now() - startedAt)));
        });
    }, delayMs);
  }
}
