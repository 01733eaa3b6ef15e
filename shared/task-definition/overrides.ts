import { z } from "zod";
import type { FieldIssue } from "./issues.ts";
import { parseTaskDefinition } from "./parse.ts";
import type { TaskDefinitionSpec } from "./schema.ts";

/**
 * RunTask's and StartTask's `overrides` (ECS's TaskOverride): per-container command, environment,
 * cpu and memory, and task-level cpu and memory. The control stores them on the task and sends them
 * in the desired task; both sides apply them with `applyTaskOverrides`, so the reservation the
 * control books and the container the agent creates come from the same definition.
 */
const containerOverrideSchema = z.strictObject({
  name: z.string().min(1),
  command: z.array(z.string()).optional(),
  environment: z.array(z.strictObject({ name: z.string().min(1), value: z.string() })).optional(),
  cpu: z.number().int().min(0).optional(),
  memory: z.number().int().positive().optional(),
  memoryReservation: z.number().int().positive().optional(),
});

export const taskOverrideSchema = z.strictObject({
  containerOverrides: z.array(containerOverrideSchema).max(100).optional(),
  cpu: z.string().min(1).optional(),
  memory: z.string().min(1).optional(),
  // Accepted as ECS does; Flotilla has no IAM roles, so they change nothing (as in the definition).
  taskRoleArn: z.string().optional(),
  executionRoleArn: z.string().optional(),
});
export type TaskOverride = z.infer<typeof taskOverrideSchema>;

/** Whether an override changes anything the definition says (role ARNs do not). */
export function overridesDefinition(o: TaskOverride | null | undefined): o is TaskOverride {
  return !!o && ((o.containerOverrides?.length ?? 0) > 0 || o.cpu !== undefined || o.memory !== undefined);
}

/**
 * The definition with the overrides applied, parsed again so the same rules hold (a
 * memoryReservation above memory is refused as it would be when registered). Command replaces the
 * container's; environment variables are added, or replace those of the same name; cpu and memory
 * replace. A container override naming no container of the definition is a field issue.
 */
export function applyTaskOverrides(
  spec: TaskDefinitionSpec,
  o: TaskOverride,
): { ok: true; spec: TaskDefinitionSpec } | { ok: false; issues: FieldIssue[] } {
  const byName = new Map((o.containerOverrides ?? []).map((c, i) => [c.name, { c, i }]));
  const issues: FieldIssue[] = [];
  for (const [name, { i }] of byName) {
    if (!spec.containerDefinitions.some((d) => d.name === name)) {
      issues.push({ path: `overrides.containerOverrides[${i}].name`, message: `no container named "${name}" in the task definition` });
    }
  }
  if (issues.length) return { ok: false, issues };
  const merged = {
    ...spec,
    ...(o.cpu !== undefined ? { cpu: o.cpu } : {}),
    ...(o.memory !== undefined ? { memory: o.memory } : {}),
    containerDefinitions: spec.containerDefinitions.map((d) => {
      const c = byName.get(d.name)?.c;
      if (!c) return d;
      return {
        ...d,
        ...(c.command !== undefined ? { command: c.command } : {}),
        ...(c.environment !== undefined ? { environment: mergeEnvironment(d.environment, c.environment) } : {}),
        ...(c.cpu !== undefined ? { cpu: c.cpu } : {}),
        ...(c.memory !== undefined ? { memory: c.memory } : {}),
        ...(c.memoryReservation !== undefined ? { memoryReservation: c.memoryReservation } : {}),
      };
    }),
  };
  const parsed = parseTaskDefinition(merged);
  if (!parsed.ok) return { ok: false, issues: parsed.issues.map((f) => ({ path: `overrides (${f.path})`, message: f.message })) };
  return { ok: true, spec: parsed.value };
}

function mergeEnvironment(base: { name: string; value: string }[] | undefined, extra: { name: string; value: string }[]) {
  const out = new Map((base ?? []).map((e) => [e.name, e.value]));
  for (const e of extra) out.set(e.name, e.value);
  return [...out].map(([name, value]) => ({ name, value }));
}
