import { LABELS } from "../../shared/labels.ts";
import type { DesiredState, DesiredTask, ReportedTask } from "../../shared/messages.ts";
import { MAX_TASK_EVENTS, taskHealthStatus } from "../../shared/messages.ts";
import { registryCredentialsFor } from "../link/secret-values.ts";
import { builtInPauseImageSource, pulledPauseImageSource, type PauseImageSource } from "../runtime/pause-image/pause-image.ts";
import { describePull } from "../runtime/pull-progress.ts";
import {
  containerStartOrder,
  networkModeOf,
  parseTaskDefinition,
  stopTimeoutOf,
  type ContainerDefinition,
  type TaskDefinitionSpec,
} from "../../shared/task-definition/index.ts";
import { RuntimeError, type ContainerRuntime, type ImagePullBehavior, type RuntimeContainer } from "../runtime/types.ts";
import type { AgentContainer, AgentState, AgentTask, StateStore } from "../store/state-file.ts";
import { ecsHealthStatus } from "./container-health.ts";
import { buildContainerSpec, type TaskIdentity } from "./container-spec.ts";
import { dependencyFailureReason, dependencyVerdict } from "./dependencies.ts";
import { restartDecision } from "./restart-policy.ts";
import { stopWaves } from "./stop-order.ts";
import {
  NAMESPACE_OWNER_LABEL,
  TASK_NETWORK,
  holderExitReason,
  isNamespaceOwner,
  namespaceOwnerSpec,
  needsNamespaceHolder,
} from "./task-network.ts";
import { taskVolumes } from "./task-volumes.ts";
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
  /**
   * Image of the hidden container holding a task's namespaces, pulled as any image; by default
   * the agent's built-in pause image, loaded into the engine (runtime/pause-image).
   */
  pauseImage?: string;
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

/** The reason ECS gives a container the kernel's OOM killer ended. */
export const OOM_REASON = "OutOfMemoryError: Container killed due to memory usage";

/** How long a container waits for its dependsOn conditions when it has no startTimeout (seconds). */
export const DEFAULT_DEPENDENCY_TIMEOUT_SECONDS = 300;

const hasHealthCheck = (def: ContainerDefinition | undefined) => !!def?.healthCheck && def.healthCheck.command[0] !== "NONE";

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
  /** Dependency waits sleep until the next runtime hint (or a short poll). */
  private hintWaiters: (() => void)[] = [];
  /** Tasks with an observe job queued, so relists during a long dependency wait do not pile them up. */
  private observing = new Set<string>();
  /** Task id → the cgroup its containers are created under (task-level cpu/memory), when enforced. */
  private cgroupParents = new Map<string, string>();
  /** Set once the host has said it cannot have task cgroups (logged once, not per task). */
  private cgroupsUnavailable?: string;
  private closed = false;
  private readonly now: () => number;
  private readonly log: (line: string) => void;

  private readonly pauseImage: PauseImageSource;

  constructor(private opts: TaskEngineOptions) {
    this.state = opts.store.load();
    this.now = opts.now ?? Date.now;
    this.log = opts.log ?? (() => {});
    this.pauseImage = opts.pauseImage ? pulledPauseImageSource(opts.runtime, opts.pauseImage) : builtInPauseImageSource(opts.runtime);
  }

  private get cleanupWaitMs(): number {
    return this.opts.cleanupWaitMs ?? 3 * 3600_000;
  }

  private get ownLabel() {
    return { [LABELS.instanceId]: this.opts.instanceId };
  }

  start(): void {
    for (const id of Object.keys(this.state.tasks)) this.sync(id);
    this.unwatch = this.opts.runtime.watch(this.ownLabel, () => {
      for (const wake of this.hintWaiters.splice(0)) wake();
      void this.relist();
    });
    this.timer = setInterval(() => void this.relist(), this.opts.relistIntervalMs ?? 1000);
    void this.relist();
  }

  async stop(): Promise<void> {
    this.closed = true;
    for (const wake of this.hintWaiters.splice(0)) wake();
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
    this.cgroupParents.delete(taskId);
    // A task that never got a container still may have its cgroup (idempotent when it has none).
    this.removeTaskCgroup(taskId);
  }

  private removeTaskCgroup(taskId: string): Promise<void> {
    return (this.opts.runtime.removeTaskCgroup?.(taskId) ?? Promise.resolve()).catch((e: Error) =>
      this.log(`[agent] task ${taskId}: ${e.message}`),
    );
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
      if (!task.containers.some((c) => nextUpward(c.knownStatus))) return;
      await this.prepareTask(task, td);
      for (const name of containerStartOrder(td)) {
        const c = task.containers.find((x) => x.name === name);
        const def = td.containerDefinitions.find((d) => d.name === name);
        if (!c || !def || !nextUpward(c.knownStatus)) continue;
        if (!(await this.awaitDependencies(task, def))) return;
        const spec = { ...buildContainerSpec(this.identity(task), td, def), cgroupParent: this.cgroupParents.get(task.taskId) };
        for (let next = nextUpward(c.knownStatus); next && task.desiredStatus === "RUNNING"; next = nextUpward(c.knownStatus)) {
          await transitions[next]!({
            runtime,
            container: c,
            spec,
            imagePullBehavior: this.opts.imagePullBehavior ?? "default",
            credentials: registryCredentialsFor(task.taskId, c.name),
            onPullProgress: (p) => {
              this.event(task, `${c.name}: ${describePull(spec.image, p)}`);
              this.persist();
            },
            onPulled: (image) => this.recordPull(image),
          });
          c.knownStatus = next;
          this.event(task, transitionMessage(c, next, spec.image));
          if (next === "RUNNING") {
            c.startedAt = this.now();
            if (hasHealthCheck(def)) c.healthStatus = "UNKNOWN";
            await this.recordNetwork(task, td, c, def);
          }
          this.update(task);
        }
      }
    } catch (e) {
      const kind = e instanceof RuntimeError ? e.kind : "TaskFailedToStart";
      this.log(`[agent] task ${task.taskId} failed to start: ${kind}: ${(e as Error).message}`);
      this.event(task, `${kind}: ${(e as Error).message}`);
      this.requestStop(task, `${kind}: ${(e as Error).message}`, STOP_CODES.failedToStart);
      this.update(task);
    }
  }

  /**
   * Task-wide resources before any container: Docker volumes, the task cgroup (task-level cpu and
   * memory), and the namespace holder (awsvpc, pidMode/ipcMode "task").
   */
  private async prepareTask(task: AgentTask, td: TaskDefinitionSpec): Promise<void> {
    const { runtime } = this.opts;
    for (const v of taskVolumes(task.taskId, td)) await runtime.ensureVolume?.(v.spec, v.create);
    await this.prepareCgroup(task, td);
    if (!needsNamespaceHolder(td)) return;
    const existing = await this.namespaceOwner(task.taskId);
    if (existing?.state === "running") return;
    if (networkModeOf(td) === "awsvpc") await runtime.ensureNetwork?.(TASK_NETWORK);
    const holder = await this.pauseImage.ensure();
    const spec = namespaceOwnerSpec(this.identity(task), td, holder, this.cgroupParents.get(task.taskId));
    await runtime.start(existing?.id ?? (await runtime.create(spec)));
  }

  /**
   * Task-level cpu/memory become a cgroup the task's containers are created under (as the ECS agent
   * does). A host that cannot have one (cgroup v2, not root, systemd driver) runs the task without it,
   * saying so once: the limits are then only reserved by placement, not enforced.
   */
  private async prepareCgroup(task: AgentTask, td: TaskDefinitionSpec): Promise<void> {
    const { runtime } = this.opts;
    if ((td.cpu === undefined && td.memory === undefined) || !runtime.ensureTaskCgroup || this.cgroupsUnavailable) return;
    const got = await runtime.ensureTaskCgroup(task.taskId, { cpuUnits: td.cpu, memoryMiB: td.memory });
    if ("cgroupParent" in got) {
      this.cgroupParents.set(task.taskId, got.cgroupParent);
      return;
    }
    if (this.cgroupsUnavailable) return; // another task found out at the same time
    this.cgroupsUnavailable = got.unavailable;
    this.log(`[agent] task-level cpu and memory are not enforced on this host (no task cgroups): ${got.unavailable}`);
  }

  private async namespaceOwner(taskId: string): Promise<RuntimeContainer | undefined> {
    const found = await this.opts.runtime.list({ ...this.ownLabel, [LABELS.taskId]: taskId, [LABELS.containerName]: NAMESPACE_OWNER_LABEL });
    return found[0];
  }

  /**
   * Waits (inside the task's writer) until every dependsOn condition of `def` is met. A condition
   * that can no longer be met, or the container's startTimeout, stops the task with a reason naming
   * both containers and the condition. False when the container must not start.
   */
  private async awaitDependencies(task: AgentTask, def: ContainerDefinition): Promise<boolean> {
    const deps = def.dependsOn ?? [];
    if (!deps.length) return true;
    const timeoutS = def.startTimeout ?? DEFAULT_DEPENDENCY_TIMEOUT_SECONDS;
    const deadline = this.now() + timeoutS * 1000;
    const fail = (reason: string) => {
      this.log(`[agent] task ${task.taskId}: ${reason}`);
      this.requestStop(task, reason, STOP_CODES.failedToStart);
      this.update(task);
      return false;
    };
    for (;;) {
      if (task.desiredStatus !== "RUNNING" || this.closed) return false;
      const waiting: string[] = [];
      for (const d of deps) {
        const dep = task.containers.find((x) => x.name === d.containerName);
        if (!dep) continue;
        await this.refresh(task, dep);
        const v = dependencyVerdict(d.condition, dep);
        if (v.state === "failed") return fail(dependencyFailureReason(def.name, dep.name, d.condition, v.why));
        if (v.state === "waiting") waiting.push(`${dep.name} ${d.condition}`);
      }
      if (!waiting.length) return true;
      if (task.desiredStatus !== "RUNNING") return false;
      if (this.now() > deadline) {
        return fail(`DependencyConditionTimeout: container ${def.name} waited ${timeoutS} s (startTimeout) for ${waiting.join(", ")}`);
      }
      await this.nextHint(250);
    }
  }

  private nextHint(maxMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, maxMs);
      this.hintWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Inside the task's writer: brings one container's known state up to date with the runtime. */
  private async refresh(task: AgentTask, c: AgentContainer): Promise<boolean> {
    if (!c.runtimeId || c.knownStatus === "STOPPED" || c.knownStatus !== "RUNNING") return false;
    const rc = await this.opts.runtime.inspect(c.runtimeId);
    if (rc && rc.state !== "exited" && rc.state !== "dead") {
      const def = this.definitionOf(task, c.name);
      const health = hasHealthCheck(def) ? ecsHealthStatus(rc.health) : undefined;
      if (health === c.healthStatus) return false;
      c.healthStatus = health;
      this.update(task);
      return true;
    }
    await this.containerExited(task, c, rc);
    this.update(task);
    return true;
  }

  private definitionOf(task: AgentTask, name: string): ContainerDefinition | undefined {
    const td = this.specFor(task);
    return typeof td === "string" ? undefined : td.containerDefinitions.find((d) => d.name === name);
  }

  /**
   * A container has exited (or vanished): restart it in place when its restartPolicy says so (this
   * is local, so it works while the control service is unreachable), else record the exit and apply
   * the essential rule.
   */
  private async containerExited(task: AgentTask, c: AgentContainer, rc: RuntimeContainer | null): Promise<void> {
    const def = this.definitionOf(task, c.name);
    const now = this.now();
    const decision = restartDecision(
      def?.restartPolicy,
      { exitCode: rc?.exitCode, startedAt: c.startedAt, lastRestartAt: c.lastRestartAt, desiredRunning: task.desiredStatus === "RUNNING" },
      now,
    );
    if (rc && decision.restart) {
      try {
        await this.opts.runtime.start(c.runtimeId!);
        c.restartCount = (c.restartCount ?? 0) + 1;
        c.lastRestartAt = now;
        if (hasHealthCheck(def)) c.healthStatus = "UNKNOWN";
        this.log(`[agent] task ${task.taskId}: restarted container ${c.name} after exit code ${rc.exitCode} (restart ${c.restartCount})`);
        return;
      } catch (e) {
        this.log(`[agent] task ${task.taskId}: restarting container ${c.name} failed: ${(e as Error).message}`);
      }
    } else if (def?.restartPolicy?.enabled && rc) {
      this.log(`[agent] task ${task.taskId}: container ${c.name} not restarted: ${(decision as { why: string }).why}`);
    }
    c.knownStatus = "STOPPED";
    c.exitCode ??= rc?.exitCode;
    c.finishedAt = rc?.finishedAt ?? now;
    if (!rc) c.reason ??= "container was removed outside Flotilla";
    if (killedByOom(rc)) c.reason ??= OOM_REASON;
    this.event(task, stoppedMessage(c));
    if (c.essential) this.requestStop(task, "Essential container in task exited", STOP_CODES.essentialExited);
  }

  /** Records the host ports a started container actually got (ECS networkBindings) and its address. */
  private async recordNetwork(task: AgentTask, td: TaskDefinitionSpec, c: AgentContainer, def: ContainerDefinition): Promise<void> {
    const mode = networkModeOf(td);
    const mappings = def.portMappings ?? [];
    if (mode === "host") {
      c.networkBindings = mappings.map((p) => ({ bindIP: "0.0.0.0", containerPort: p.containerPort, hostPort: p.containerPort, protocol: p.protocol }));
    } else if (mode === "bridge" && mappings.length) {
      const rc = await this.opts.runtime.inspect(c.runtimeId!);
      c.networkBindings = (rc?.ports ?? []).map((p) => ({ bindIP: p.hostIp ?? "0.0.0.0", containerPort: p.containerPort, hostPort: p.hostPort, protocol: p.protocol }));
    } else if (mode === "awsvpc") {
      const owner = await this.namespaceOwner(task.taskId);
      const seen = owner ? await this.opts.runtime.inspect(owner.id) : null;
      const mine = new Set(mappings.map((p) => `${p.containerPort}/${p.protocol}`));
      c.networkBindings = (seen?.ports ?? [])
        .filter((p) => mine.has(`${p.containerPort}/${p.protocol}`))
        .map((p) => ({ bindIP: p.hostIp ?? "0.0.0.0", containerPort: p.containerPort, hostPort: p.hostPort, protocol: p.protocol }));
      c.privateIpv4Address = seen?.ipAddresses?.[TASK_NETWORK];
    }
  }

  private async driveDown(task: AgentTask, td: TaskDefinitionSpec | null): Promise<void> {
    const { runtime } = this.opts;
    task.stoppingAt ??= this.now();
    this.update(task);
    // Dependents stop before what they depend on (ECS's reverse order); unrelated containers together.
    const waves = td ? stopWaves(td.containerDefinitions) : [task.containers.map((c) => c.name)];
    for (const wave of waves) {
      await Promise.all(
        task.containers
          .filter((c) => wave.includes(c.name))
          .map(async (c) => {
            if (c.knownStatus === "STOPPED") return;
            if (c.runtimeId) {
              const def = td?.containerDefinitions.find((d) => d.name === c.name);
              await runtime.stop(c.runtimeId, stopTimeoutOf(def ?? {}));
              const seen = await runtime.inspect(c.runtimeId);
              c.exitCode ??= seen?.exitCode;
              c.finishedAt = seen?.finishedAt ?? this.now();
              if (killedByOom(seen)) c.reason ??= OOM_REASON;
            }
            c.knownStatus = "STOPPED";
            if (c.runtimeId) this.event(task, stoppedMessage(c));
          }),
      );
    }
    if (td && needsNamespaceHolder(td)) {
      const owner = await this.namespaceOwner(task.taskId);
      if (owner) await runtime.stop(owner.id, 5);
    }
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
    const owner = await this.namespaceOwner(taskId);
    if (owner) await this.opts.runtime.remove(owner.id);
    const td = this.specFor(task);
    if (typeof td !== "string") {
      for (const v of taskVolumes(taskId, td)) if (v.taskScoped) await this.opts.runtime.removeVolume?.(v.spec.name);
    }
    // Last: the cgroup can only go once no container of the task is left in it.
    await this.removeTaskCgroup(taskId);
    this.cgroupParents.delete(taskId);
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

  /** Appends a task event, keeping only the last MAX_TASK_EVENTS (the caller persists). */
  private event(task: AgentTask, message: string): void {
    const events = (task.events ??= []);
    events.push({ at: this.now(), message: message.slice(0, 1024) });
    if (events.length > MAX_TASK_EVENTS) events.splice(0, events.length - MAX_TASK_EVENTS);
  }

  /** An image this agent brought onto the engine: image cleanup may remove it once unused. */
  private recordPull(image: string): void {
    (this.state.pulledImages ??= {})[image] = this.now();
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
    this.checkNamespaceOwners(listed);
    for (const task of Object.values(this.state.tasks)) {
      const suspicious = task.containers.some((c) => {
        if (!c.runtimeId || c.knownStatus === "STOPPED") return false;
        const rc = byId.get(c.runtimeId);
        if (!rc || rc.state === "exited" || rc.state === "dead") return true;
        // A health flip (Docker's health_status event is the hint that got us here).
        // Only checks the task definition asked for count (an image's own HEALTHCHECK does not).
        return rc.health !== undefined && ecsHealthStatus(rc.health) !== c.healthStatus && hasHealthCheck(this.definitionOf(task, c.name));
      });
      if (suspicious && !this.observing.has(task.taskId)) {
        this.observing.add(task.taskId);
        void this.queue(task.taskId).run(async () => {
          this.observing.delete(task.taskId);
          await this.observe(task.taskId);
        });
      }
      const due = task.knownStatus === "STOPPED" && (task.stoppedAt ?? 0) + this.cleanupWaitMs <= this.now();
      if (due && task.containers.some((c) => c.runtimeId && !c.removed)) {
        void this.queue(task.taskId).run(() => this.cleanup(task.taskId));
      } else if (due && task.dropped) {
        this.forget(task.taskId);
      }
    }
    if (this.state.generation > 0) await this.removeOrphans(listed);
  }

  /**
   * An awsvpc task whose namespace holder died has lost its network (its containers keep only
   * loopback), so it is stopped like a task whose essential container exited.
   */
  private checkNamespaceOwners(listed: RuntimeContainer[]): void {
    for (const rc of listed) {
      if (!isNamespaceOwner(rc.labels) || (rc.state !== "exited" && rc.state !== "dead")) continue;
      const task = this.state.tasks[rc.labels[LABELS.taskId] ?? ""];
      if (!task || task.desiredStatus !== "RUNNING" || !task.containers.some((c) => c.knownStatus === "RUNNING")) continue;
      this.log(`[agent] task ${task.taskId}: its namespace holder exited`);
      const td = this.specFor(task);
      this.requestStop(task, holderExitReason(typeof td === "string" ? null : td), STOP_CODES.essentialExited);
      this.persist();
      this.sync(task.taskId);
    }
  }

  /** Inside the task's writer: confirm with a fresh inspect, record exits and health, apply the rules. */
  private async observe(taskId: string): Promise<void> {
    const task = this.state.tasks[taskId];
    if (!task || task.knownStatus === "STOPPED") return;
    let exited = false;
    for (const c of task.containers) {
      const before = c.knownStatus;
      await this.refresh(task, c);
      if (before !== "STOPPED" && c.knownStatus === "STOPPED") exited = true;
    }
    if (exited) this.sync(taskId);
  }

  /**
   * Containers labelled with this instance whose task is not known: left behind by a task that was
   * dropped. Only after a desired set has arrived (silence is never an instruction).
   */
  private async removeOrphans(listed: RuntimeContainer[]): Promise<void> {
    const orphanTasks = new Set<string>();
    for (const rc of listed) {
      const taskId = rc.labels[LABELS.taskId];
      if (!taskId || this.state.tasks[taskId]) continue;
      this.log(`[agent] removing container ${rc.name} of unknown task ${taskId}`);
      await this.opts.runtime.remove(rc.id);
      orphanTasks.add(taskId);
    }
    for (const taskId of orphanTasks) await this.removeTaskCgroup(taskId);
  }

  // ---- reporting ----

  /**
   * The full known state. Events are only those at or after `eventsSince` (the control keeps the
   * ones it already has, deduplicated), so steady reports do not carry every task's history.
   */
  reportedTasks(eventsSince = 0): ReportedTask[] {
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
      healthStatus: taskHealthStatus(t.containers),
      events: eventsSince ? t.events?.filter((e) => e.at >= eventsSince) : t.events,
      containers: t.containers.map((c) => ({
        name: c.name,
        image: c.image,
        status: c.knownStatus,
        runtimeId: c.runtimeId,
        exitCode: c.exitCode,
        reason: c.reason,
        startedAt: c.startedAt,
        finishedAt: c.finishedAt,
        essential: c.essential,
        healthStatus: c.healthStatus,
        restartCount: c.restartCount,
        networkBindings: c.networkBindings,
        networkInterfaces: c.privateIpv4Address ? [{ attachmentId: `flotilla-${t.taskId}`, privateIpv4Address: c.privateIpv4Address }] : undefined,
      })),
    }));
  }
}

/**
 * Docker's OOMKilled also turns true for a container that merely shared the task cgroup with one the
 * kernel killed (v1 sends OOM events down the hierarchy), so only a SIGKILL exit counts.
 */
function killedByOom(rc: RuntimeContainer | null | undefined): boolean {
  return !!rc?.oomKilled && rc.exitCode === 137;
}

function transitionMessage(c: AgentContainer, status: string, image: string): string {
  if (status === "PULLED") return `${c.name}: image ${image} ready`;
  if (status === "CREATED") return `${c.name}: container created (${c.runtimeId?.slice(0, 12)})`;
  return `${c.name}: container started`;
}

function stoppedMessage(c: AgentContainer): string {
  return `${c.name}: container stopped${c.exitCode !== undefined ? ` (exit code ${c.exitCode})` : ""}${c.reason ? `: ${c.reason}` : ""}`;
}
