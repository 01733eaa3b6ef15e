import { AsyncLocalStorage } from "node:async_hooks";
import type { DesiredTask, ReportedTask, TaskEvent } from "../../shared/messages.ts";
import { RuntimeError, type RuntimeContainer } from "../runtime/types.ts";
import type { ContainerDefinition } from "../../shared/task-definition/index.ts";
import type { AgentContainer, AgentTask, ReadonlyAgentTask } from "../store/state-file.ts";
import { ecsHealthStatus } from "./container-health.ts";
import type { ParsedDefinition } from "./definition-cache.ts";
import { reportTask } from "./report.ts";
import { observeStep } from "./runner-observe.ts";
import { nextToStart, startStep, type UpResult } from "./runner-start.ts";
import { cleanupStep, hasLeftovers, removeTaskCgroup, stopStep } from "./runner-stop.ts";
import { holderExitReason, isNamespaceOwner } from "./task-network.ts";
import { STOP_CODES, definitionOf, event, hasHealthCheck, requestStop, update, type RunnerContext, type TaskSecrets, type TaskWork, noSecrets, withoutSecrets } from "./task-work.ts";

/**
 * What others may tell a runner. Nobody else changes a task: desired-state intake, the relist
 * observer and cleanup only send these, and the runner applies them between its own steps.
 */
export type RunnerEvent =
  /** The task as the latest desired set has it; `current` false for a stale or repeated generation (secrets only). */
  | { kind: "desired"; desired: DesiredTask; current: boolean }
  /** A newer desired set no longer has the task. */
  | { kind: "not-desired" }
  /** The task's containers as the latest relist saw them (a hint; the runner confirms with inspect). */
  | { kind: "listed"; containers: RuntimeContainer[] }
  /** Something changed in the runtime: a runner waiting on dependencies looks again. */
  | { kind: "hint" };

/** How long a dependency wait sleeps at most before looking again without a hint. */
const DEPENDENCY_POLL_MS = 250;
/** A step that failed (the runtime refused a stop, an inspect timed out) is tried again after this. */
const RETRY_AFTER_ERROR_MS = 1000;

type Step = () => Promise<UpResult | void>;

/** The task id whose runner is executing (everything its loop awaits inherits it). */
const runnerScope = new AsyncLocalStorage<string>();

/** The id of the task whose runner the caller runs inside, if any (lets tests prove there is one writer). */
export function currentRunnerTask(): string | undefined {
  return runnerScope.getStore();
}

/**
 * One task's runner (amazon-ecs-agent's managedTask): the only writer of its task's state and the
 * only caller of the runtime for its task. It loops: apply the events received, take the next step
 * towards the desired status (one transition, a stop, a cleanup), and wait for an event when there
 * is nothing to do. Runners of different tasks run concurrently.
 */
export class TaskRunner {
  private readonly w: TaskWork;
  private inbox: RunnerEvent[] = [];
  /** Only the newest listing matters; older ones are replaced unread. */
  private listing: RuntimeContainer[] | null = null;
  private needsInspect = false;
  private blocked = false;
  private retryAt = 0;
  private wake?: () => void;
  private loop?: Promise<void>;
  private closed = false;

  constructor(
    private readonly ctx: RunnerContext,
    task: AgentTask,
    private readonly parsed: ParsedDefinition,
    secrets: TaskSecrets,
    /** Runtime work on this task id that must end before the runner's first step (an orphan removal). */
    private readonly after?: Promise<void>,
  ) {
    this.w = { ctx, task, def: parsed.ok ? parsed.spec : null, secrets, progress: [], prepared: false, depWaitSince: new Map() };
  }

  get taskId(): string {
    return this.w.task.taskId;
  }

  /** The task's state, to read (reports, logs, introspection, image cleanup). */
  get task(): ReadonlyAgentTask {
    return this.w.task;
  }

  report(eventsSince = 0): ReportedTask {
    return reportTask(this.w.task, this.w.progress, eventsSince);
  }

  get pullProgress(): readonly TaskEvent[] {
    return this.w.progress;
  }

  send(e: RunnerEvent): void {
    if (e.kind === "listed") this.listing = e.containers;
    else if (e.kind === "hint") {
      if (!this.blocked) return;
    } else this.inbox.push(e);
    this.wake?.();
  }

  start(): void {
    this.loop ??= runnerScope.run(this.taskId, () => this.run());
  }

  /** Ends the loop after the step under way (containers keep running: losing the agent never stops workloads). */
  async stop(): Promise<void> {
    this.closed = true;
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    await this.after;
    while (!this.closed) {
      this.applyEvents();
      const step = this.nextStep();
      if (step === "finished") {
        // A task that never got a container still may have its cgroup (idempotent when it has none).
        await removeTaskCgroup(this.w);
        this.ctx.finished(this.taskId);
        return;
      }
      if (!step) {
        await this.nextEvent(this.retryAt ? Math.max(0, this.retryAt - performance.now()) : undefined);
        continue;
      }
      try {
        if ((await step()) === "blocked") {
          this.blocked = true;
          await this.nextEvent(DEPENDENCY_POLL_MS);
          this.blocked = false;
        }
      } catch (e) {
        this.ctx.log.warn({ taskId: this.taskId }, `task ${this.taskId}: ${(e as Error).message}`);
        this.retryAt = performance.now() + RETRY_AFTER_ERROR_MS;
      }
    }
  }

  private nextEvent(maxMs?: number): Promise<void> {
    if (this.closed || this.inbox.length || this.listing) return Promise.resolve();
    return new Promise((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      if (maxMs !== undefined) timer = setTimeout(done, maxMs);
      this.wake = done;
    });
  }

  // ---- events: applied between steps, never during one ----

  private applyEvents(): void {
    for (const e of this.inbox.splice(0)) {
      if (e.kind === "desired") this.onDesired(e.desired, e.current);
      else if (e.kind === "not-desired") this.onNotDesired();
    }
    const listed = this.listing;
    this.listing = null;
    if (listed) this.onListed(listed);
  }

  private onDesired(dt: DesiredTask, current: boolean): void {
    const { task } = this.w;
    if (dt.desiredStatus === "RUNNING") {
      if (dt.secrets && Object.keys(dt.secrets).length) this.w.secrets.env = dt.secrets;
      if (dt.registryCredentials && Object.keys(dt.registryCredentials).length) this.w.secrets.registry = dt.registryCredentials;
      if (dt.logSecretOptions && Object.keys(dt.logSecretOptions).length) this.w.secrets.logOptions = dt.logSecretOptions;
    } else {
      this.w.secrets = noSecrets();
    }
    if (current && dt.desiredStatus === "STOPPED" && task.desiredStatus === "RUNNING") {
      requestStop(task, dt.stoppedReason ?? "Task stopped by the control service", dt.stopCode ?? "UserInitiated");
      this.ctx.changed(true);
    }
  }

  private onNotDesired(): void {
    const { task } = this.w;
    if (task.knownStatus === "STOPPED") {
      // The control service has recorded it stopped and dropped it: forgotten after cleanup.
      task.dropped = true;
      this.ctx.changed(true);
    } else if (task.desiredStatus === "RUNNING") {
      requestStop(task, "Task is not in the instance's desired state", STOP_CODES.notDesired);
      this.ctx.changed(true);
    }
  }

  /** Marks the task for a fresh inspect when the listing disagrees with what the runner knows. */
  private onListed(listed: RuntimeContainer[]): void {
    const { task } = this.w;
    if (task.knownStatus === "STOPPED") return; // the wake-up alone lets a due cleanup run
    const byId = new Map(listed.map((c) => [c.id, c]));
    const suspicious = task.containers.some((c) => {
      if (!c.runtimeId || c.knownStatus === "STOPPED") return false;
      const rc = byId.get(c.runtimeId);
      if (!rc || rc.state === "exited" || rc.state === "dead") return true;
      // A health flip (Docker's health_status event is the hint that got us here). Only checks the
      // task definition asked for count (an image's own HEALTHCHECK does not).
      return rc.health !== undefined && ecsHealthStatus(rc.health) !== c.healthStatus && hasHealthCheck(definitionOf(this.w, c.name));
    });
    if (suspicious) this.needsInspect = true;
    // An awsvpc task whose namespace holder died has lost its network (its containers keep only
    // loopback), so it is stopped like a task whose essential container exited.
    const holderDied = listed.some((rc) => isNamespaceOwner(rc.labels) && (rc.state === "exited" || rc.state === "dead"));
    if (holderDied && task.desiredStatus === "RUNNING" && task.containers.some((c) => c.knownStatus === "RUNNING")) {
      this.ctx.log.warn({ taskId: task.taskId }, `task ${task.taskId}: its namespace holder exited`);
      requestStop(task, holderExitReason(this.w.def), STOP_CODES.essentialExited);
      this.ctx.changed(true);
    }
  }

  // ---- steps: the runner's own work, one at a time ----

  private nextStep(): Step | "finished" | null {
    const { task } = this.w;
    if (this.retryAt > performance.now()) return null;
    this.retryAt = 0;
    if (task.knownStatus !== "STOPPED") {
      if (!this.parsed.ok) requestStop(task, `TaskDefinitionError: ${this.parsed.why}`, STOP_CODES.failedToStart);
      if (task.desiredStatus === "STOPPED") return () => stopStep(this.w);
      if (this.needsInspect) {
        this.needsInspect = false;
        return () => observeStep(this.w);
      }
      const next = nextToStart(this.w);
      return next ? () => this.startOrFail(next.c, next.def) : null;
    }
    if (hasLeftovers(this.w)) {
      const due = (task.stoppedAt ?? 0) + this.ctx.cleanupWaitMs <= this.ctx.now();
      return due ? () => cleanupStep(this.w) : null;
    }
    return task.dropped ? "finished" : null;
  }

  /** A start step; a failure stops the task with the error's ECS class as its reason. */
  private async startOrFail(c: AgentContainer, def: ContainerDefinition): Promise<UpResult> {
    try {
      return await startStep(this.w, c, def);
    } catch (e) {
      const kind = e instanceof RuntimeError ? e.kind : "TaskFailedToStart";
      const message = withoutSecrets(`${kind}: ${(e as Error).message}`, this.w.secrets);
      this.ctx.log.warn({ taskId: this.taskId }, `task ${this.taskId} failed to start: ${message}`);
      event(this.w, message);
      requestStop(this.w.task, message, STOP_CODES.failedToStart);
      update(this.w);
      return "progressed";
    }
  }
}
