import { currentRunnerTask } from "../../../agent/engine/task-runner.ts";
import type { ContainerRuntime, ContainerSpec, ImagePullBehavior, PullSummary, RegistryCredentials, RuntimeContainer } from "../../../agent/runtime/types.ts";
import type { AgentTask } from "../../../agent/store/state-file.ts";
import { LABELS } from "../../../shared/labels.ts";

/**
 * Wraps a task's state so that every write to it (at any depth) is checked to come from inside that
 * task's own runner; anything else is a second writer and is recorded with where it came from.
 */
export function guardWrites(task: AgentTask, violations: string[]): AgentTask {
  const cache = new WeakMap<object, object>();
  const check = (what: string) => {
    const writer = currentRunnerTask();
    if (writer !== task.taskId) violations.push(`task ${task.taskId}: ${what} written by ${writer ? `the runner of ${writer}` : "no runner"}\n${new Error().stack}`);
  };
  const wrap = <T extends object>(o: T, path: string): T => {
    const hit = cache.get(o);
    if (hit) return hit as T;
    const p = new Proxy(o, {
      get(target, key, recv) {
        const v = Reflect.get(target, key, recv);
        return v !== null && typeof v === "object" ? wrap(v, `${path}.${String(key)}`) : v;
      },
      set(target, key, value, recv) {
        check(`${path}.${String(key)}`);
        return Reflect.set(target, key, value, recv);
      },
      deleteProperty(target, key) {
        check(`${path}.${String(key)}`);
        return Reflect.deleteProperty(target, key);
      },
    });
    cache.set(o, p);
    return p;
  };
  return wrap(task, "task");
}

type Call = { task: string; method: string; container?: string };

/**
 * A runtime that forwards to another and fails (records a violation) when the calls for one task
 * overlap — except a stop wave's stops and inspects of different containers, which the runner
 * issues together on purpose — or are duplicated: a second create of one container, a start of a
 * container that is already running.
 */
export class CallChecker implements ContainerRuntime {
  readonly violations: string[] = [];
  private inFlight = new Map<string, Call[]>();
  private taskOf = new Map<string, string>();
  private created = new Set<string>();
  /** Most calls for different tasks in flight at once (creates and starts). */
  maxConcurrentTasks = 0;
  private startingTasks = new Map<string, number>();

  constructor(private inner: ContainerRuntime) {}

  private async call<T>(task: string | undefined, method: string, container: string | undefined, run: () => Promise<T>): Promise<T> {
    if (!task) return run();
    const mine = this.inFlight.get(task) ?? [];
    const parallelStop = (c: Call) => ["stop", "inspect"].includes(c.method) && ["stop", "inspect"].includes(method) && c.container !== container;
    for (const other of mine) {
      if (!parallelStop(other)) this.violations.push(`task ${task}: ${method}(${container ?? ""}) while ${other.method}(${other.container ?? ""}) was in flight`);
    }
    const me: Call = { task, method, container };
    mine.push(me);
    this.inFlight.set(task, mine);
    const busy = method === "create" || method === "start";
    if (busy) {
      this.startingTasks.set(task, (this.startingTasks.get(task) ?? 0) + 1);
      this.maxConcurrentTasks = Math.max(this.maxConcurrentTasks, this.startingTasks.size);
    }
    try {
      return await run();
    } finally {
      mine.splice(mine.indexOf(me), 1);
      if (busy) {
        const n = this.startingTasks.get(task)! - 1;
        if (n) this.startingTasks.set(task, n);
        else this.startingTasks.delete(task);
      }
    }
  }

  private learn(rcs: RuntimeContainer[]): RuntimeContainer[] {
    for (const rc of rcs) if (rc.labels[LABELS.taskId]) this.taskOf.set(rc.id, rc.labels[LABELS.taskId]!);
    return rcs;
  }

  info() {
    return this.inner.info();
  }
  imageLabels(image: string) {
    return this.inner.imageLabels(image);
  }
  loadImage(archive: Uint8Array) {
    return this.inner.loadImage(archive);
  }
  ensureImage(image: string, behavior: ImagePullBehavior, onProgress?: (s: PullSummary) => void, credentials?: RegistryCredentials) {
    return this.inner.ensureImage(image, behavior, onProgress, credentials);
  }
  create(spec: ContainerSpec): Promise<string> {
    const task = spec.labels[LABELS.taskId];
    return this.call(task, "create", spec.name, async () => {
      if (this.created.has(spec.name)) this.violations.push(`task ${task}: ${spec.name} created twice`);
      this.created.add(spec.name);
      const id = await this.inner.create(spec);
      if (task) this.taskOf.set(id, task);
      return id;
    });
  }
  start(id: string): Promise<void> {
    return this.call(this.taskOf.get(id), "start", id, async () => {
      if ((await this.inner.inspect(id))?.state === "running") this.violations.push(`task ${this.taskOf.get(id)}: start of running container ${id}`);
      await this.inner.start(id);
    });
  }
  stop(id: string, timeoutSeconds: number) {
    return this.call(this.taskOf.get(id), "stop", id, () => this.inner.stop(id, timeoutSeconds));
  }
  remove(id: string) {
    return this.call(this.taskOf.get(id), "remove", id, () => this.inner.remove(id));
  }
  list(labels: Record<string, string>) {
    return this.call(labels[LABELS.taskId], "list", labels[LABELS.containerName], async () => this.learn(await this.inner.list(labels)));
  }
  inspect(id: string) {
    return this.call(this.taskOf.get(id), "inspect", id, () => this.inner.inspect(id));
  }
  stats(id: string) {
    return this.inner.stats(id);
  }
  ensureTaskCgroup(taskId: string, limits: Parameters<NonNullable<ContainerRuntime["ensureTaskCgroup"]>>[1]) {
    return this.call(taskId, "ensureTaskCgroup", undefined, () => this.inner.ensureTaskCgroup!(taskId, limits));
  }
  removeTaskCgroup(taskId: string) {
    return this.call(taskId, "removeTaskCgroup", undefined, () => this.inner.removeTaskCgroup!(taskId));
  }
  watch(labels: Record<string, string>, onHint: () => void) {
    return this.inner.watch(labels, onHint);
  }
}
