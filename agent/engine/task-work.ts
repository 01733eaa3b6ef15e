import type { TaskEvent } from "../../shared/messages.ts";
import { MAX_TASK_EVENTS } from "../../shared/messages.ts";
import type { ContainerDefinition, TaskDefinitionSpec } from "../../shared/task-definition/index.ts";
import type { ContainerRuntime, ImagePullBehavior, RegistryCredentials } from "../runtime/types.ts";
import type { PauseImageSource } from "../runtime/pause-image/pause-image.ts";
import type { AgentTask } from "../store/state-file.ts";
import type { TaskIdentity } from "./container-spec.ts";
import { deriveTaskStatus } from "./task-status.ts";
import type { Logger } from "../../shared/log.ts";

/** What every runner shares with the engine: the runtime, settings and the ways to tell it things. */
export interface RunnerContext {
  runtime: ContainerRuntime;
  instanceId: string;
  clusterName: string;
  imagePullBehavior: ImagePullBehavior;
  /** Where the namespace holders' image comes from: the built-in pause image, or an operator's override. */
  pauseImage: PauseImageSource;
  cleanupWaitMs: number;
  /** Host dir holding each FireLens task's router config and socket (`{dataDir}/firelens`). */
  firelensRoot: string;
  /** Base URL of the agent's task metadata endpoint, given to every task container; undefined: none. */
  taskMetadataUrl?: string;
  /**
   * The agent's discovery DNS responder (port 53 of an address containers reach): the DNS server
   * of every container whose definition names none (dnsServers), so SERVICE.CLUSTER.flotilla
   * resolves and every other name goes on to the host's resolvers.
   */
  containerDns?: string;
  now(): number;
  /** The engine's logger: lines about a task carry its `taskId`. */
  log: Logger;
  /** Host facts runners learn (said once for the host, not per task). */
  host: { cgroupsUnavailable?: string };
  /** An image this agent brought onto the engine: image cleanup may remove it once unused. */
  recordPull(image: string): void;
  /** The task changed; `durable` false when only in-memory facts (pull progress) did. */
  changed(durable: boolean): void;
  /** The task is forgotten: its runner has ended. */
  finished(taskId: string): void;
  /** A container was restarted in place by its restartPolicy. */
  restarted?(): void;
}

/** Secret values for a task (never saved, never logged), as the desired task carries them. */
export interface TaskSecrets {
  /** Environment variables by container name. */
  env: Record<string, Record<string, string>>;
  /** repositoryCredentials by container name. */
  registry: Record<string, RegistryCredentials>;
  /** logConfiguration.secretOptions values by container and log option name. */
  logOptions: Record<string, Record<string, string>>;
}

/** A task with no secret values (nothing delivered yet, or it should not run). */
export const noSecrets = (): TaskSecrets => ({ env: {}, registry: {}, logOptions: {} });

/** Error text to report or log with every secret value of the task blanked out (Docker may echo an option). */
export function withoutSecrets(text: string, s: TaskSecrets): string {
  const values = [
    ...Object.values(s.env).flatMap((m) => Object.values(m)),
    ...Object.values(s.logOptions).flatMap((m) => Object.values(m)),
    ...Object.values(s.registry).map((r) => r.password),
  ].filter((v) => v.length >= 4);
  return values.reduce((out, v) => out.split(v).join("***"), text);
}

/**
 * Everything one runner owns: its task's durable state and the in-memory facts that go with it.
 * Only the runner's own steps read and write it; everyone else sends the runner events.
 */
export interface TaskWork {
  readonly ctx: RunnerContext;
  readonly task: AgentTask;
  /** The parsed task definition (null when it does not parse; the task is then stopped). */
  readonly def: TaskDefinitionSpec | null;
  secrets: TaskSecrets;
  /** Pull progress events, reported but kept out of the state file. */
  progress: TaskEvent[];
  /** The task's cgroup once made (task-level cpu/memory). */
  cgroupParent?: string;
  /** Task-wide resources (volumes, cgroup, namespace holder) made in this agent's lifetime. */
  prepared: boolean;
  /** Container name → when it began waiting for its dependsOn conditions. */
  depWaitSince: Map<string, number>;
}

export const STOP_CODES = {
  essentialExited: "EssentialContainerExited",
  failedToStart: "TaskFailedToStart",
  notDesired: "ServiceSchedulerInitiated",
} as const;

export function identityOf(w: TaskWork): TaskIdentity {
  const t = w.task;
  return { taskId: t.taskId, clusterName: w.ctx.clusterName, instanceId: w.ctx.instanceId, family: t.family, revision: t.revision };
}

export function definitionOf(w: TaskWork, name: string): ContainerDefinition | undefined {
  return w.def?.containerDefinitions.find((d) => d.name === name);
}

export const hasHealthCheck = (def: ContainerDefinition | undefined) => !!def?.healthCheck && def.healthCheck.command[0] !== "NONE";

/** Desired status only moves forward: RUNNING → STOPPED, never back; the first reason stays. */
export function requestStop(task: AgentTask, reason: string | undefined, stopCode: string | undefined): void {
  if (task.desiredStatus === "STOPPED") return;
  task.desiredStatus = "STOPPED";
  task.stoppedReason ??= reason;
  task.stopCode ??= stopCode;
}

/** Recomputes the task's status from its containers and announces the change. */
export function update(w: TaskWork): void {
  const task = w.task;
  const status = deriveTaskStatus(task);
  if (status !== task.knownStatus) {
    task.knownStatus = status;
    if (status === "RUNNING") task.startedAt ??= w.ctx.now();
    if (status === "STOPPED") task.stoppedAt ??= w.ctx.now();
    w.ctx.log.info({ taskId: task.taskId }, `task ${task.taskId} ${status}${status === "STOPPED" && task.stoppedReason ? `: ${task.stoppedReason}` : ""}`);
  }
  w.ctx.changed(true);
}

/** Appends a durable task event, keeping only the last MAX_TASK_EVENTS. */
export function event(w: TaskWork, message: string): void {
  w.ctx.log.debug({ taskId: w.task.taskId }, message.slice(0, 1024));
  pushEvent((w.task.events ??= []), { at: w.ctx.now(), message: message.slice(0, 1024) });
}

/** Records pull progress in memory only (reported, never saved). */
export function progressEvent(w: TaskWork, message: string): void {
  pushEvent(w.progress, { at: w.ctx.now(), message: message.slice(0, 1024) });
  w.ctx.changed(false);
}

function pushEvent(events: TaskEvent[], e: TaskEvent): void {
  events.push(e);
  if (events.length > MAX_TASK_EVENTS) events.splice(0, events.length - MAX_TASK_EVENTS);
}
