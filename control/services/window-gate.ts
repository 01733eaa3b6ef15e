import { and, eq, gt } from "drizzle-orm";
import { deploymentWindowOverrides, deploymentWindows } from "../db/schema.ts";
import type { InstanceView } from "../placement/index.ts";
import type { OpsContext } from "../scheduling/context.ts";
import type { ServiceInstance } from "./cluster-view.ts";
import { compileSchedule, scheduleStateAt, type OneWindowState, type WindowSchedule } from "./window-schedule.ts";
import { compileWindowFilter, windowState, type CompiledOverride, type CompiledWindow, type WindowInstance, type WindowState } from "./window-state.ts";

/**
 * One reconcile round's view of a cluster's deployment windows: which hosts a deployment may
 * change now. Read once per cluster per round (two small queries), so a window that opens is seen
 * by the next round — within the scheduler's interval (1 s) of the injected clock's time.
 */
export interface WindowGate {
  /** The cluster has no window: nothing is ever held. */
  readonly unrestricted: boolean;
  stateOf(inst: Pick<ServiceInstance, "id" | "attributes" | "registeredAt">): WindowState;
  /** For placement (PlacementRequest.admit): only instances inside their window now. */
  admits(view: InstanceView): boolean;
}

export const OPEN_GATE: WindowGate = { unrestricted: true, stateOf: () => ({ open: true, covered: false }), admits: () => true };

/** Compiled schedules by their inputs (stored windows never change: they are created and deleted). */
const MAX_CACHED = 512;
const schedules = new Map<string, WindowSchedule | null>();

function scheduleOf(cron: string, timeZone: string, durationMinutes: number): WindowSchedule | null {
  const key = `${cron}\u0000${timeZone}\u0000${durationMinutes}`;
  let s = schedules.get(key);
  if (s === undefined) {
    const c = compileSchedule(cron, timeZone, durationMinutes);
    s = c.ok ? c.schedule : null;
    if (schedules.size >= MAX_CACHED) schedules.clear();
    schedules.set(key, s);
  }
  return s;
}

const matcherOf = (filter: string | null): ((i: WindowInstance) => boolean) => {
  if (filter === null) return () => true;
  const f = compileWindowFilter(filter);
  // Validated when stored; one that no longer compiles (an older version's) covers every host,
  // so it holds deployments rather than letting them through a window the operator meant.
  return f.ok ? f.matches : () => true;
};

export async function loadWindowGate(ctx: OpsContext, clusterName: string, now: number): Promise<WindowGate> {
  const rows = await ctx.db.select().from(deploymentWindows).where(eq(deploymentWindows.clusterName, clusterName)).all();
  if (rows.length === 0) return OPEN_GATE;
  const overrideRows = await ctx.db
    .select()
    .from(deploymentWindowOverrides)
    .where(and(eq(deploymentWindowOverrides.clusterName, clusterName), gt(deploymentWindowOverrides.until, now)))
    .all();
  const windows: CompiledWindow[] = [];
  for (const r of rows) {
    const schedule = scheduleOf(r.schedule, r.timeZone, r.durationMinutes);
    // A schedule that no longer compiles never opens: its hosts wait (and show it) until it is fixed.
    windows.push({
      id: r.id,
      name: r.name,
      schedule: schedule ?? { cron: NEVER, durationMs: 0 },
      filter: r.filter,
      matches: matcherOf(r.filter),
    });
  }
  const overrides: CompiledOverride[] = overrideRows.map((o) => ({ filter: o.filter, until: o.until, matches: matcherOf(o.filter) }));
  const perWindow = new Map<CompiledWindow, OneWindowState>();
  const stateOfWindow = (w: CompiledWindow) => {
    let s = perWindow.get(w);
    if (!s) perWindow.set(w, (s = scheduleStateAt(w.schedule, now)));
    return s;
  };
  const cache = new Map<string, WindowState>();
  const stateOf = (inst: WindowInstance): WindowState => {
    let s = cache.get(inst.id);
    if (!s) cache.set(inst.id, (s = windowState(windows, inst, now, overrides, stateOfWindow)));
    return s;
  };
  return { unrestricted: false, stateOf, admits: (v) => stateOf(v).open };
}

/** A schedule that has no next opening. */
const NEVER = { nextRun: () => null } as unknown as WindowSchedule["cron"];
