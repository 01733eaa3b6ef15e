import { compileExpression, type Expr, type InstancePredicate, type InstanceView } from "../placement/index.ts";
import { scheduleStateAt, type OneWindowState, type WindowSchedule } from "./window-schedule.ts";

/**
 * Whether a host is inside its deployment window: pure, over compiled windows and overrides and
 * a time passed in (the scheduler passes its injected clock's).
 */

/** What a window filter may look at: what an instance is, not what it runs right now. */
export interface WindowInstance {
  id: string;
  attributes: Record<string, string>;
  registeredAt: number;
}

/**
 * A window filter matches instances by what they are (attributes, ids, agent version, registration
 * time). Task counts and connection state change by the minute, and a window that covered a host
 * only while it ran few tasks would open and close under a deployment; such filters are refused.
 */
const WINDOW_FILTER_FIELDS = new Set(["attribute", "instanceId", "ec2InstanceId", "agentVersion", "registeredAt"]);

export type FilterCheck = { ok: true; matches: (i: WindowInstance) => boolean } | { ok: false; message: string };

/** Compiles a window's instance filter with the placement engine's own cluster query language evaluator. */
export function compileWindowFilter(expression: string): FilterCheck {
  const compiled = compileExpression(expression);
  if (!compiled.ok) return { ok: false, message: compiled.error.message };
  const refused = refusedFields(compiled.ast);
  if (refused.length) {
    return { ok: false, message: `deployment windows match instances by attribute:NAME, instanceId, ec2InstanceId, agentVersion or registeredAt, not ${refused.join(", ")}` };
  }
  const predicate: InstancePredicate = compiled.predicate;
  // Safe: the fields allowed above read only id, attributes and registeredAt of the view.
  return { ok: true, matches: (i) => predicate(i as unknown as InstanceView) };
}

function refusedFields(e: Expr): string[] {
  switch (e.type) {
    case "not":
      return refusedFields(e.operand);
    case "and":
    case "or":
      return e.operands.flatMap(refusedFields);
    case "comparison":
      return WINDOW_FILTER_FIELDS.has(e.field.kind) ? [] : [e.field.kind === "taskGroup" ? "task:group" : e.field.kind];
  }
}

export interface CompiledWindow {
  id: string;
  name: string;
  schedule: WindowSchedule;
  /** The instance filter as given (null = the whole cluster). */
  filter: string | null;
  matches: (i: WindowInstance) => boolean;
}

export interface CompiledOverride {
  filter: string | null;
  matches: (i: WindowInstance) => boolean;
  /** Epoch ms the override ends. */
  until: number;
}

export interface WindowState {
  /** Deployments may change tasks on this host now. */
  open: boolean;
  /** Some window covers the host (false: no window applies, it is always open). */
  covered: boolean;
  /** Closed: the next opening of any of its windows (absent: none ahead). */
  opensAt?: number;
  /** Open through a window or an override: when that ends. */
  closesAt?: number;
  /** An operator override holds it open until then. */
  overriddenUntil?: number;
}

/**
 * A host no window covers is always open. A covered one is open while any of its windows is (and
 * until the last of those closes), or while an operator override matching it lasts; otherwise it
 * is closed until the earliest next opening of its windows.
 */
export function windowState(
  windows: readonly CompiledWindow[],
  instance: WindowInstance,
  now: number,
  overrides: readonly CompiledOverride[] = [],
  /** A window's state at `now` does not depend on the host: a round computes it once per window (window-gate.ts). */
  stateOfWindow: (w: CompiledWindow) => OneWindowState = (w) => scheduleStateAt(w.schedule, now),
): WindowState {
  const covering = windows.filter((w) => w.matches(instance));
  if (covering.length === 0) return { open: true, covered: false };
  let closesAt: number | undefined;
  let opensAt: number | undefined;
  for (const w of covering) {
    const s = stateOfWindow(w);
    if (s.open) closesAt = Math.max(closesAt ?? 0, s.closesAt);
    else if (s.opensAt !== undefined) opensAt = Math.min(opensAt ?? Infinity, s.opensAt);
  }
  let overriddenUntil: number | undefined;
  for (const o of overrides) if (o.until > now && o.matches(instance)) overriddenUntil = Math.max(overriddenUntil ?? 0, o.until);
  if (closesAt !== undefined) return { open: true, covered: true, closesAt: Math.max(closesAt, overriddenUntil ?? 0), ...(overriddenUntil ? { overriddenUntil } : {}) };
  if (overriddenUntil !== undefined) return { open: true, covered: true, closesAt: overriddenUntil, overriddenUntil };
  return { open: false, covered: true, ...(opensAt !== undefined ? { opensAt } : {}) };
}
