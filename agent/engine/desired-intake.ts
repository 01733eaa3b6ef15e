import type { DesiredState, DesiredTask } from "../../shared/messages.ts";
import type { AgentTask } from "../store/state-file.ts";
import type { ParsedDefinition } from "./definition-cache.ts";
import type { RunnerEvent } from "./task-runner.ts";
import { STOP_CODES, type TaskSecrets } from "./task-work.ts";

/** What the intake needs of the engine: the generation, and the runners to create or tell. */
export interface IntakeTarget {
  readonly generation: number;
  setGeneration(g: number): void;
  has(taskId: string): boolean;
  send(taskId: string, e: RunnerEvent): void;
  taskIds(): Iterable<string>;
  create(dt: DesiredTask): void;
}

/**
 * Turns a desired set into runner events: a new task gets a runner, a known one is told its desired
 * task, one no longer listed is told so. It changes no task itself. A stale or repeated generation
 * (the retained message again after a reconnect) changes nothing but still hands over the secret
 * values it carries, which live in memory only and are gone after an agent restart.
 * Returns false for a stale or repeated generation.
 */
export function takeDesired(d: DesiredState, target: IntakeTarget): boolean {
  const current = d.generation > target.generation;
  if (current) target.setGeneration(d.generation);
  const wanted = new Set<string>();
  for (const dt of d.tasks) {
    wanted.add(dt.taskId);
    if (target.has(dt.taskId)) target.send(dt.taskId, { kind: "desired", desired: dt, current });
    else if (current) target.create(dt);
  }
  if (!current) return false;
  for (const id of [...target.taskIds()]) if (!wanted.has(id)) target.send(id, { kind: "not-desired" });
  return true;
}

/** The secret values a desired task carries (only for tasks that should run). */
export function secretsOf(dt: DesiredTask): TaskSecrets {
  if (dt.desiredStatus !== "RUNNING") return { env: {}, registry: {} };
  return { env: dt.secrets ?? {}, registry: dt.registryCredentials ?? {} };
}

/** A task's first state, from its desired task (without the secrets, which are never saved). */
export function initialTask(dt: DesiredTask, parsed: ParsedDefinition, now: number): AgentTask {
  const task: AgentTask = {
    taskId: dt.taskId,
    taskArn: dt.taskArn,
    family: dt.family,
    revision: dt.revision,
    taskDefinitionArn: dt.taskDefinitionArn,
    definition: dt.definition,
    ...(dt.overrides ? { overrides: dt.overrides } : {}),
    desiredStatus: dt.desiredStatus,
    knownStatus: "PROVISIONING",
    containers: parsed.ok
      ? parsed.spec.containerDefinitions.map((c) => ({ name: c.name, image: c.image, essential: c.essential, knownStatus: "PENDING" as const }))
      : [],
  };
  if (!parsed.ok) {
    task.desiredStatus = "STOPPED";
    task.knownStatus = "STOPPED";
    task.stoppedAt = now;
    task.stoppedReason = `TaskDefinitionError: ${parsed.why}`;
    task.stopCode = STOP_CODES.failedToStart;
  } else if (dt.desiredStatus === "STOPPED") {
    task.stoppedReason = dt.stoppedReason;
    task.stopCode = dt.stopCode;
  }
  return task;
}
