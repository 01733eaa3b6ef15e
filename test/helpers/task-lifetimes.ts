import type { TestControl } from "./control.ts";
import { docker } from "./docker.ts";
import type { Interval } from "./intervals.ts";

/**
 * When each task of a service existed and each of its containers really ran, for proofs about a
 * rollout that do not depend on sampling. Task times come from the API (createdAt: placed by the
 * control; stoppingAt: the control asked it to stop; stoppedAt: it had STOPPED, as its agent
 * reported). Container times are Docker's own State.StartedAt/FinishedAt; a container Docker no
 * longer has (removed by hand) falls back to its task's startedAt/stoppedAt.
 */
export interface TaskLifetime {
  taskId: string;
  taskDefinitionArn: string;
  createdAt: number;
  stoppingAt: number | undefined;
  stoppedAt: number | undefined;
  containers: ContainerLifetime[];
}

export interface ContainerLifetime {
  name: string;
  startedAt: number;
  /** undefined while it runs. */
  finishedAt: number | undefined;
  source: "docker" | "task";
}

/** Every task of the service the control knows, desired RUNNING and STOPPED. */
async function allServiceTasks(tc: TestControl, cluster: string, service: string): Promise<any[]> {
  const out: any[] = [];
  for (const desired of ["RUNNING", "STOPPED"]) {
    const res = await tc.api("GET", `/v1/clusters/${cluster}/tasks?desiredStatus=${desired}`);
    if (res.status !== 200) throw new Error(`ListTasks ${desired}: ${res.status} ${JSON.stringify(res.body)}`);
    out.push(...(res.body.tasks as any[]).filter((t) => t.group === `service:${service}`));
  }
  return out;
}

/** Docker's RFC 3339 times carry nanoseconds; Date.parse keeps milliseconds, the rest is added. */
function dockerTime(s: string): number | undefined {
  if (!s || s.startsWith("0001-")) return undefined;
  const m = /^(.*T\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$/.exec(s);
  if (!m) throw new Error(`unexpected Docker time ${s}`);
  return Date.parse(`${m[1]}${m[3]}`) + Number(m[2] ?? 0) * 1000;
}

const apiTime = (s: string | undefined) => (s ? Date.parse(s) : undefined);

async function containerLifetime(task: any, c: any): Promise<ContainerLifetime | undefined> {
  const state = c.runtimeId ? await docker("inspect", "--format", "{{json .State}}", c.runtimeId).then(JSON.parse, () => undefined) : undefined;
  if (state) {
    const startedAt = dockerTime(state.StartedAt);
    if (startedAt === undefined) return undefined; // created, never started
    return { name: c.name, startedAt, finishedAt: state.Running ? undefined : dockerTime(state.FinishedAt), source: "docker" };
  }
  const startedAt = apiTime(task.startedAt);
  if (startedAt === undefined) return undefined;
  return { name: c.name, startedAt, finishedAt: apiTime(task.stoppedAt), source: "task" };
}

export async function serviceTaskLifetimes(tc: TestControl, cluster: string, service: string): Promise<TaskLifetime[]> {
  const out: TaskLifetime[] = [];
  for (const t of await allServiceTasks(tc, cluster, service)) {
    const containers: ContainerLifetime[] = [];
    for (const c of t.containers as any[]) {
      const l = await containerLifetime(t, c);
      if (l) containers.push(l);
    }
    out.push({
      taskId: t.taskId,
      taskDefinitionArn: t.taskDefinitionArn,
      createdAt: apiTime(t.createdAt)!,
      stoppingAt: apiTime(t.stoppingAt),
      stoppedAt: apiTime(t.stoppedAt),
      containers,
    });
  }
  return out;
}

/** While each task was not yet STOPPED (placed, pending, running or stopping): what maximumPercent bounds. */
export const unstoppedIntervals = (ts: TaskLifetime[]): Interval[] => ts.map((t) => ({ from: t.createdAt, to: t.stoppedAt ?? Infinity }));

/** While each container ran. */
export const runningIntervals = (ts: TaskLifetime[]): Interval[] =>
  ts.flatMap((t) => t.containers.map((c) => ({ from: c.startedAt, to: c.finishedAt ?? Infinity })));

/**
 * While each task served: from when the last of its containers started until the first finished
 * or the control asked the task to stop. What minimumHealthyPercent keeps up.
 */
export const servingIntervals = (ts: TaskLifetime[]): Interval[] =>
  ts
    .filter((t) => t.containers.length > 0)
    .map((t) => ({
      from: Math.max(...t.containers.map((c) => c.startedAt)),
      to: Math.min(t.stoppingAt ?? Infinity, ...t.containers.map((c) => c.finishedAt ?? Infinity)),
    }));
