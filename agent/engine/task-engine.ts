import { LABELS } from "../../shared/labels.ts";
import type { DesiredState, DesiredTask, ReportedTask } from "../../shared/messages.ts";
import { parseTaskDefinition, type TaskDefinitionSpec } from "../../shared/task-definition/index.ts";
import { RuntimeError, type ContainerRuntime, type ImagePullBehavior, type RuntimeContainer } from "../runtime/types.ts";
import type { AgentState, AgentTask, StateStore } from "../store/state-file.ts";
import { buildContainerSpec, type TaskIdentity } from "./container-spec.ts";
import { SerialQueue } from "./serial-queue.ts";
import { deriveTaskStatus } from "./task-status.ts";
import { nextUpward, transitions } from "./transitions.ts";

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
  now?: () => number;
  log?: (line: string) => void;
  /** Called after every change of known or desired state. */
  onChange?: () => void;
}

export const STOP_CODES = {
  essentialExited: "EssentialContainerExited",
  failedToStart: "TaskFailedToStart",
  notDesired: "ServiceSchedulerInitiated",
} as const;

/**
 * Converges the host's containers to the desired task set. Each task has its own serial queue, the
 * only place its state is written; desired-state messages, relist observations and runtime results
 * all become jobs on that queue.
 */
export class TaskEngine {
  readonly state: AgentState;
  private queues = new Map<string, SerialQueue>();
  private specs = new Map<string, TaskDefinitionSpec | string>();
  private timer?: ReturnType<typeof setInterval>;
  private unwatch?: () => void;
  private relisting: Promise<void> | null = null;
  private relistAgain = false;
  private readonly now: () => number;
  private readonly log: (line: string) => void;

  constructor(private opts: TaskEngineOptions) {
    this.state = opts.store.load();
    this.now = opts.now ?? Date.now;
    this.log = opts.log ?? (() => {});
  }

  private get cleanupWaitMs(): number {
    return this.opts.cleanupWaitMs ?? 3 * 3600_000;
  }

  private get ownLabel() {
    return { [LABELS.instanceId]: this.opts.instanceId };
  }

  start(): void {
    for (const id of Object.keys(this.state.tasks)) this.sync(id);
    this.unwatch = this.opts.runtime.watch(this.ownLabel, () => void this.relist());
    this.timer = setInterval(() => void this.relist(), this.opts.relistIntervalMs ?? 1000);
    void this.relist();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.unwatch?.();
    await this.relisting;
    await Promise.all([...this.queues.values()].map((q) => q.idle()));
  }

  /** Waits until every queued job has run (for tests and orderly shutdown). */
  async idle(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.idle()));
  }

  // ---- desired state ----

  /** Applies a desired set; returns false for a stale or duplicate generation. */
  applyDesired(d: DesiredState): boolean {
    if (d.generation <= this.state.generation) return false;
    this.state.generation = d.generation;
    const wanted = new Set<string>();
    for (const dt of d.tasks) {
      wanted.add(dt.taskId);
      const known = this.state.tasks[dt.taskId];
      if (!known) {
        this.state.tasks[dt.taskId] = this.newTask(dt);
      } else if (dt.desiredStatus === "STOPPED" && known.desiredStatus === "RUNNING") {
        // Desired status only moves forward: RUNNING → STOPPED, never back.
        this.requestStop(known, dt.stoppedReason ?? "Task stopped by the control service", dt.stopCode ?? "UserInitiated");
      }
    }
    for (const [id, t] of Object.entries(this.state.tasks)) {
      if (wanted.has(id)) continue;
      if (t.knownStatus === "STOPPED") {
        // The control service has recorded it stopped and dropped it: forget it after cleanup.
        t.dropped = true;
        if (t.containers.every((c) => c.removed || !c.runtimeId)) this.forget(id);
      } else if (t.desiredStatus === "RUNNING") {
        this.requestStop(t, "Task is not in the instance's desired state", STOP_CODES.notDesired);
      }
    }
    this.persist();
    for (const id of Object.keys(this.state.tasks)) this.sync(id);
    return true;
  }

  private forget(taskId: string): void {
    delete this.state.tasks[taskId];
    this.queues.delete(taskId);
    this.specs.delete(taskId);
  }

  private newTask(dt: DesiredTask): AgentTask {
    const parsed = parseTaskDefinition(dt.definition);
    const task: AgentTask = {
      taskId: dt.taskId,
      taskArn: dt.taskArn,
      family: dt.family,
      revision: dt.revision,
      taskDefinitionArn: dt.taskDefinitionArn,
      definition: dt.definition,
      desiredStatus: dt.desiredStatus,
      knownStatus: "PROVISIONING",
      containers: parsed.ok
        ? parsed.value.containerDefinitions.map((c) => ({ name: c.name, image: c.image, essential: c.essential, knownStatus: "PENDING" as const }))
        : [],
    };
    if (!parsed.ok) {
      task.desiredStatus = "STOPPED";
      task.knownStatus = "STOPPED";
      task.stoppedAt = this.now();
      task.stoppedReason = `TaskDefinitionError: ${parsed.issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`;
      task.stopCode = STOP_CODES.failedToStart;
    } else if (dt.desiredStatus === "STOPPED") {
      task.stoppedReason = dt.stoppedReason;
      task.stopCode = dt.stopCode;
    }
    return task;
  }

  private requestStop(task: AgentTask, reason: string, stopCode: string): void {
    if (task.desiredStatus === "STOPPED") return;
    task.desiredStatus = "STOPPED";
    task.stoppedReason ??= reason;
    task.stopCode ??= stopCode;
  }

  private specFor(task: AgentTask): TaskDefinitionSpec | string {
    let s = this.specs.get(task.taskId);
    if (s === undefined) {
      const parsed = parseTaskDefinition(task.definition);
      s = parsed.ok ? parsed.value : parsed.issues.map((i) => `${i.path}: ${i.message}`).join("; ");
      this.specs.set(task.taskId, s);
    }
    return s;
  }

  private identity(task: AgentTask): TaskIdentity {
    return {
      taskId: task.taskId,
      clusterName: this.opts.clusterName,
      instanceId: this.opts.instanceId,
      family: task.family,
      revision: task.revision,
    };
  }

  // ---- the per-task writer ----

  private queue(taskId: string): SerialQueue {
    let q = this.queues.get(taskId);
    if (!q) {
      q = new SerialQueue((e) => this.log(`[agent] task ${taskId}: ${e.message}`));
      this.queues.set(taskId, q);
    }
    return q;
  }

  private sync(taskId: string): void {
    this.queue(taskId).sync(() => this.reconcile(taskId));
  }

  private async reconcile(taskId: string): Promise<void> {
    const task = this.state.tasks[taskId];
    if (!task || task.knownStatus === "STOPPED") return;
    const td = this.specFor(task);
    if (typeof td === "string") {
      this.requestStop(task, `TaskDefinitionError: ${td}`, STOP_CODES.failedToStart);
    } else if (task.desiredStatus === "RUNNING") {
      await this.driveUp(task, td);
    }
    if (task.desiredStatus === "STOPPED") await this.driveDown(task, typeof td === "string" ? null : td);
  }

  private async driveUp(task: AgentTask, td: TaskDefinitionSpec): Promise<void> {
    const { runtime } = this.opts;
    try {
      for (const c of task.containers) {
        const def = td.containerDefinitions.find((d) => d.name === c.name)!;
        const spec = buildContainerSpec(this.identity(task), td, def);
        for (let next = nextUpward(c.knownStatus); next && task.desiredStatus === "RUNNING"; next = nextUpward(c.knownStatus)) {
          await transitions[next]!({ runtime, container: c, spec, imagePullBehavior: this.opts.imagePullBehavior ?? "default" });
          c.knownStatus = next;
          if (next === "RUNNING") c.startedAt = this.now();
          this.update(task);
        }
      }
    } catch (e) {
      const kind = e instanceof RuntimeError ? e.kind : "TaskFailedToStart";
      this.log(`[agent] task ${task.taskId} failed to start: ${kind}: ${(e as Error).message}`);
      this.requestStop(task, `${kind}: ${(e as Error).message}`, STOP_CODES.failedToStart);
      this.update(task);
    }
  }

  private async driveDown(task: AgentTask, td: TaskDefinitionSpec | null): Promise<void> {
    const { runtime } = this.opts;
    task.stoppingAt ??= this.now();
    this.update(task);
    await Promise.all(
      task.containers.map(async (c) => {
        if (c.knownStatus === "STOPPED") return;
        if (c.runtimeId) {
          const timeout = td?.containerDefinitions.find((d) => d.name === c.name)?.stopTimeout ?? 30;
          await runtime.stop(c.runtimeId, timeout);
          const seen = await runtime.inspect(c.runtimeId);
          c.exitCode ??= seen?.exitCode;
          c.finishedAt = seen?.finishedAt ?? this.now();
        }
        c.knownStatus = "STOPPED";
      }),
    );
    this.update(task);
  }

  /** Removes a stopped task's containers once the cleanup wait has passed. */
  private async cleanup(taskId: string): Promise<void> {
    const task = this.state.tasks[taskId];
    if (!task || task.knownStatus !== "STOPPED") return;
    for (const c of task.containers) {
      if (!c.runtimeId || c.removed) continue;
      await this.opts.runtime.remove(c.runtimeId);
      c.removed = true;
    }
    if (task.dropped) this.forget(taskId);
    this.persist();
  }

  /** Recomputes the task's status from its containers, then saves and announces the change. */
  private update(task: AgentTask): void {
    const status = deriveTaskStatus(task);
    if (status !== task.knownStatus) {
      task.knownStatus = status;
      if (status === "RUNNING") task.startedAt ??= this.now();
      if (status === "STOPPED") task.stoppedAt ??= this.now();
    }
    this.persist();
  }

  private persist(): void {
    this.opts.store.save(this.state);
    this.opts.onChange?.();
  }

  // ---- observation: the relist ----

  /** Lists the agent's labelled containers and hands discrepancies to the owning task's writer. */
  relist(): Promise<void> {
    if (this.relisting) {
      this.relistAgain = true;
      return this.relisting;
    }
    this.relisting = (async () => {
      do {
        this.relistAgain = false;
        await this.relistOnce().catch((e: Error) => this.log(`[agent] relist failed: ${e.message}`));
      } while (this.relistAgain);
      this.relisting = null;
    })();
    return this.relisting;
  }

  private async relistOnce(): Promise<void> {
    const listed = await this.opts.runtime.list(this.ownLabel);
    const byId = new Map(listed.map((c) => [c.id, c]));
    for (const task of Object.values(this.state.tasks)) {
      const suspicious = task.containers.some((c) => {
        if (!c.runtimeId || c.knownStatus === "STOPPED") return false;
        const rc = byId.get(c.runtimeId);
        return !rc || rc.state === "exited" || rc.state === "dead";
      });
      if (suspicious) void this.queue(task.taskId).run(() => this.observe(task.taskId));
      const due = task.knownStatus === "STOPPED" && (task.stoppedAt ?? 0) + this.cleanupWaitMs <= this.now();
      if (due && task.containers.some((c) => c.runtimeId && !c.removed)) {
        void this.queue(task.taskId).run(() => this.cleanup(task.taskId));
      } else if (due && task.dropped) {
        this.forget(task.taskId);
      }
    }
    if (this.state.generation > 0) await this.removeOrphans(listed);
  }

  /** Inside the task's writer: confirm with a fresh inspect, record exits, apply essential rule. */
  private async observe(taskId: string): Promise<void> {
    const task = this.state.tasks[taskId];
    if (!task || task.knownStatus === "STOPPED") return;
    let changed = false;
    for (const c of task.containers) {
      if (!c.runtimeId || c.knownStatus === "STOPPED") continue;
      const rc: RuntimeContainer | null = await this.opts.runtime.inspect(c.runtimeId);
      if (rc && rc.state !== "exited" && rc.state !== "dead") continue;
      c.knownStatus = "STOPPED";
      c.exitCode ??= rc?.exitCode;
      c.finishedAt = rc?.finishedAt ?? this.now();
      if (!rc) c.reason ??= "container was removed outside Flotilla";
      changed = true;
      if (c.essential) this.requestStop(task, "Essential container in task exited", STOP_CODES.essentialExited);
    }
    if (!changed) return;
    this.update(task);
    this.sync(taskId);
  }

  /**
   * Containers labelled with this instance whose task is not known: left behind by a task that was
   * dropped. Only after a desired set has arrived (silence is never an instruction).
   */
  private async removeOrphans(listed: RuntimeContainer[]): Promise<void> {
    for (const rc of listed) {
      const taskId = rc.labels[LABELS.taskId];
      if (!taskId || this.state.tasks[taskId]) continue;
      this.log(`[agent] removing container ${rc.name} of unknown task ${taskId}`);
      await this.opts.runtime.remove(rc.id);
    }
  }

  // ---- reporting ----

  reportedTasks(): ReportedTask[] {
    return Object.values(this.state.tasks)
      .filter((t) => !t.dropped)
      .map((t) => ({
      taskId: t.taskId,
      knownStatus: t.knownStatus,
      startedAt: t.startedAt,
      stoppingAt: t.stoppingAt,
      stoppedAt: t.stoppedAt,
      stoppedReason: t.stoppedReason,
      stopCode: t.stopCode,
      containers: t.containers.map((c) => ({
        name: c.name,
        image: c.image,
        status: c.knownStatus,
        runtimeId: c.runtimeId,
        exitCode: c.exitCode,
        reason: c.reason,
        startedAt: c.startedAt,
        finishedAt: c.finishedAt,
      })),
    }));
  }
}
