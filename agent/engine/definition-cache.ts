import { parseTaskDefinition, type TaskDefinitionSpec } from "../../shared/task-definition/index.ts";
import { applyTaskOverrides, overridesDefinition, type TaskOverride } from "../../shared/task-definition/overrides.ts";

/** A parsed task definition, or the reason it cannot run (the parse issues in one line). */
export type ParsedDefinition = { ok: true; spec: TaskDefinitionSpec } | { ok: false; why: string };

/** Enough for every revision a host runs at once; the oldest unused ones go first. */
const DEFAULT_MAX_ENTRIES = 128;

/**
 * Task definitions parsed once per revision. A revision (its ARN) is immutable in ECS, so every task
 * of it shares one parse: a burst of 40 tasks of one service parses once, not 40 (or 160) times.
 */
export class DefinitionCache {
  private byArn = new Map<string, ParsedDefinition>();
  /** Parses done, for tests. */
  parses = 0;

  constructor(private maxEntries = DEFAULT_MAX_ENTRIES) {}

  get(taskDefinitionArn: string, definition: unknown): ParsedDefinition {
    const hit = this.byArn.get(taskDefinitionArn);
    if (hit) {
      // Re-inserted so the map's order is least recently used first.
      this.byArn.delete(taskDefinitionArn);
      this.byArn.set(taskDefinitionArn, hit);
      return hit;
    }
    this.parses++;
    const r = parseTaskDefinition(definition);
    const parsed: ParsedDefinition = r.ok ? { ok: true, spec: r.value } : { ok: false, why: r.issues.map((i) => `${i.path}: ${i.message}`).join("; ") };
    this.byArn.set(taskDefinitionArn, parsed);
    if (this.byArn.size > this.maxEntries) this.byArn.delete(this.byArn.keys().next().value!);
    return parsed;
  }
}

/**
 * A task's own definition: the revision's, with the task's RunTask overrides applied (command,
 * environment, cpu, memory). Tasks without overrides share the revision's parse; those with them
 * get their own, never cached under the revision's ARN.
 */
export function withOverrides(parsed: ParsedDefinition, overrides: TaskOverride | undefined): ParsedDefinition {
  if (!parsed.ok || !overridesDefinition(overrides)) return parsed;
  const applied = applyTaskOverrides(parsed.spec, overrides);
  return applied.ok ? { ok: true, spec: applied.spec } : { ok: false, why: applied.issues.map((i) => `${i.path}: ${i.message}`).join("; ") };
}
