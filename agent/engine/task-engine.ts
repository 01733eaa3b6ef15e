import { tmpdir } from "node:os";
import { join } from "node:path";
import { LABELS } from "../../shared/labels.ts";
import type { DesiredState, DesiredTask, ReportedTask } from "../../shared/messages.ts";
import type { ContainerRuntime, ImagePullBehavior, RuntimeContainer } from "../runtime/types.ts";
import type { AgentState, AgentTask, ReadonlyAgentState, StateStore } from "../store/state-file.ts";
import { STATE_VERSION } from "../store/state-file.ts";
import { StateSaver } from "../store/state-saver.ts";
import { DefinitionCache, withOverrides } from "./definition-cache.ts";
import { initialTask, secretsOf, takeDesired } from "./desired-intake.ts";
import { Observer } from "./observer.ts";
import { builtInPauseImageSource, pulledPauseImageSource } from "../runtime/pause-image/pause-image.ts";
import { TaskRunner } from "./task-runner.ts";
import { noSecrets, type RunnerContext, type TaskSecrets } from "./task-work.ts";
import { silentLogger, withComponent, type Logger } from "../../shared/log.ts";

export { STOP_CODES } from "./task-work.ts";
export { OOM_REASON } from "./runner-observe.ts";
export { DEFAULT_DEPENDENCY_TIMEOUT_SECONDS } from "./runner-start.ts";

export interface TaskEngineOptions {
  runtime: ContainerRuntime;
  store: StateStore;
  instanceId: string;
  clusterName: string;
  imagePullBehavior?: ImagePullBehavior;
  /** How often the labelled containers are listed again (the truth; events are only hints). */
  relistIntervalMs?: number;
  /** How long a stopped task's containers are kept for inspection before removal (ECS: 3 h). */
  cleanupWaitMs?: number;
  /** Host dir for FireLens routers' generated configs and sockets (default: under the temp dir). */
  firelensRoot?: string;
  /** Image of the hidden container holding an awsvpc task's network namespace. */
  pauseImage?: string;
  /** Base URL of the task metadata endpoint (ECS_CONTAINER_METADATA_URI_V4 and v3); undefined: none. */
  taskMetadataUrl?: string;
  /** The agent's discovery DNS responder, given to containers as their DNS server; undefined: none. */
  containerDns?: string;
  /** Changes within this long are saved in one write (see StateSaver). */
  saveDelayMs?: number;
  now?: () => number;
  log?: Logger;
  /** Called after every change of known or desired state (pull progress included). */
  onChange?: () => void;
  /** A container was restarted in place by its restartPolicy (counted on /metrics). */
  onContainerRestarted?: () => void;
  /** Tests: wraps each task's state object before its runner owns it (to watch who writes it). */
  watchTask?: (task: AgentTask) => AgentTask;
}

/**
 * Converges the host's containers to the desired task set. It only wires the parts together: one
 * TaskRunner per task (the only writer of that task's state and the only caller of the runtime for
 * it), the desired-state intake and the relist observer (which only send runners events), the
 * coalescing state saver, and reports built from the runners' state. Agent-wide records (the
 * desired generation, the connection epoch, the images this agent pulled) are written here only.
 */
export class TaskEngine {
  private runners = new Map<string, TaskRunner>();
  private generation: number;
  private lastEpoch: number;
  private pulledImages: Record<string, number> | undefined;
  private readonly definitions = new DefinitionCache();
  private readonly saver: StateSaver;
  private readonly observer: Observer;
  private readonly ctx: RunnerContext;
  /** Orphan removals in flight by task id: a runner for that id waits for them. */
  private orphanRemovals = new Map<string, Promise<void>>();
  private started = false;
  private readonly now: () => number;
  private readonly log: Logger;

  constructor(private opts: TaskEngineOptions) {
    this.now = opts.now ?? Date.now;
    this.log = withComponent(opts.log ?? silentLogger, "engine");
    const loaded = opts.store.load();
    this.generation = loaded.generation;
    this.lastEpoch = loaded.lastEpoch;
    this.pulledImages = loaded.pulledImages;
    this.saver = new StateSaver({ store: opts.store, snapshot: () => this.durableState(), delayMs: opts.saveDelayMs, log: this.log });
    this.ctx = {
      runtime: opts.runtime,
      instanceId: opts.instanceId,
      clusterName: opts.clusterName,
      imagePullBehavior: opts.imagePullBehavior ?? "default",
      pauseImage: opts.pauseImage ? pulledPauseImageSource(opts.runtime, opts.pauseImage) : builtInPauseImageSource(opts.runtime),
      cleanupWaitMs: opts.cleanupWaitMs ?? 3 * 3600_000,
      firelensRoot: opts.firelensRoot ?? join(tmpdir(), `flotilla-firelens-${opts.instanceId}`),
      taskMetadataUrl: opts.taskMetadataUrl,
      containerDns: opts.containerDns,
      now: this.now,
      log: this.log,
      host: {},
      recordPull: (image) => {
        (this.pulledImages ??= {})[image] = this.now();
        this.changed(true);
      },
      changed: (durable) => this.changed(durable),
      restarted: () => opts.onContainerRestarted?.(),
      finished: (taskId) => {
        this.runners.delete(taskId);
        this.changed(true);
      },
    };
    for (const task of Object.values(loaded.tasks)) this.addRunner(task, noSecrets());
    this.observer = new Observer({
      runtime: opts.runtime,
      labels: { [LABELS.instanceId]: opts.instanceId },
      intervalMs: opts.relistIntervalMs ?? 1000,
      onListing: (listed) => this.dispatchListing(listed),
      onHint: () => {
        for (const r of this.runners.values()) r.send({ kind: "hint" });
      },
      log: this.log,
    });
  }

  /** The agent's state as it is now, to read only (every task's state belongs to its runner). */
  get state(): ReadonlyAgentState {
    return this.durableState();
  }

  /** Task definitions parsed so far (one per revision; tests). */
  get definitionParses(): number {
    return this.definitions.parses;
  }

  /** Saves made so far (tests, benchmarks). */
  get stateWrites(): number {
    return this.saver.writes;
  }

  start(): void {
    this.started = true;
    for (const r of this.runners.values()) r.start();
    this.observer.start();
  }

  async stop(): Promise<void> {
    await this.observer.stop();
    await Promise.all([...this.runners.values()].map((r) => r.stop()));
    await Promise.all(this.orphanRemovals.values());
    this.saver.flush();
  }

  /** Applies a desired set; returns false for a stale or duplicate generation. */
  applyDesired(d: DesiredState): boolean {
    return takeDesired(d, {
      generation: this.generation,
      setGeneration: (g) => {
        this.generation = g;
        this.changed(true);
      },
      has: (id) => this.runners.has(id),
      send: (id, e) => this.runners.get(id)?.send(e),
      taskIds: () => this.runners.keys(),
      create: (dt) => this.createTask(dt),
    });
  }

  /** A connection epoch greater than any used before, durable before it is returned. */
  nextEpoch(): number {
    this.lastEpoch = Math.max(Date.now(), this.lastEpoch + 1);
    this.saver.saveNow();
    return this.lastEpoch;
  }

  /** An image pulled outside a task (a prefetch): the agent owns it for image cleanup. */
  recordPulledImage(image: string): void {
    (this.pulledImages ??= {})[image] = this.now();
    this.changed(true);
  }

  /** Image cleanup removed these images (or found them gone): the agent no longer owns them. */
  forgetPulledImages(images: string[]): void {
    for (const image of images) delete this.pulledImages?.[image];
    this.changed(true);
  }

  /** Every known task (but those the control has dropped) as the control service sees it. */
  reportedTasks(eventsSince = 0): ReportedTask[] {
    const out: ReportedTask[] = [];
    for (const r of this.runners.values()) if (!r.task.dropped) out.push(r.report(eventsSince));
    return out;
  }

  /** Lists the runtime now and hands the result to the runners (tests; the observer does it on its own). */
  relist(): Promise<void> {
    return this.observer.relist();
  }

  private createTask(dt: DesiredTask): void {
    const parsed = withOverrides(this.definitions.get(dt.taskDefinitionArn, dt.definition), dt.overrides);
    this.changed(true);
    // Before its first runtime call the task is in the state file, and no orphan removal of the same id is under way.
    const after = Promise.all([this.saver.written(), this.orphanRemovals.get(dt.taskId)]).then(() => undefined);
    this.addRunner(initialTask(dt, parsed, this.now()), secretsOf(dt), after);
  }

  private addRunner(task: AgentTask, secrets: TaskSecrets, after?: Promise<void>): void {
    const parsed = withOverrides(this.definitions.get(task.taskDefinitionArn, task.definition), task.overrides);
    const runner = new TaskRunner(this.ctx, this.opts.watchTask?.(task) ?? task, parsed, secrets, after);
    this.runners.set(task.taskId, runner);
    if (this.started) runner.start();
  }

  private changed(durable: boolean): void {
    if (durable) this.saver.markDirty();
    this.opts.onChange?.();
  }

  /** The durable state: what the runners own plus the agent-wide records; pull progress is not in it. */
  private durableState(): AgentState {
    const tasks: Record<string, AgentTask> = {};
    for (const [id, r] of this.runners) tasks[id] = r.task as AgentTask;
    const state: AgentState = { version: STATE_VERSION, generation: this.generation, lastEpoch: this.lastEpoch, tasks };
    if (this.pulledImages) state.pulledImages = this.pulledImages;
    return state;
  }

  /**
   * Every runner gets its task's containers from the listing. Containers of a task nobody knows
   * were left behind by a task that was dropped: removed, but only after a desired set has arrived
   * (silence is never an instruction).
   */
  private async dispatchListing(listed: RuntimeContainer[]): Promise<void> {
    const byTask = new Map<string, RuntimeContainer[]>();
    for (const rc of listed) {
      const taskId = rc.labels[LABELS.taskId];
      if (!taskId) continue;
      const group = byTask.get(taskId);
      if (group) group.push(rc);
      else byTask.set(taskId, [rc]);
    }
    for (const r of this.runners.values()) r.send({ kind: "listed", containers: byTask.get(r.taskId) ?? [] });
    if (this.generation === 0) return;
    const removals: Promise<void>[] = [];
    for (const [taskId, containers] of byTask) {
      if (this.runners.has(taskId) || this.orphanRemovals.has(taskId)) continue;
      const removal = this.removeOrphan(taskId, containers).finally(() => this.orphanRemovals.delete(taskId));
      this.orphanRemovals.set(taskId, removal);
      removals.push(removal);
    }
    await Promise.all(removals);
  }

  private async removeOrphan(taskId: string, containers: RuntimeContainer[]): Promise<void> {
    try {
      for (const rc of containers) {
        this.log.info({ taskId }, `removing container ${rc.name} of unknown task ${taskId}`);
        await this.opts.runtime.remove(rc.id);
      }
      await this.opts.runtime.removeTaskCgroup?.(taskId);
    } catch (e) {
      this.log.warn({ taskId }, `task ${taskId}: ${(e as Error).message}`);
    }
  }
}
