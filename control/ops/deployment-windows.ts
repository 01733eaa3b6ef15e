import { and, asc, eq, gt } from "drizzle-orm";
import { z } from "zod";
import { deploymentWindowOverrides, deploymentWindows } from "../db/schema.ts";
import { newId } from "../ids.ts";
import { compileSchedule, scheduleStateAt } from "../services/window-schedule.ts";
import { compileWindowFilter } from "../services/window-state.ts";
import { requireCluster } from "./clusters.ts";
import type { OpsContext } from "./context.ts";
import { invalid, notFound } from "./errors.ts";
import { parseInput } from "./validate.ts";

/**
 * Deployment windows (docs/deployment-windows.md): when deployments may change tasks on a
 * cluster's hosts, and operator overrides that open them now. The scheduler reads them each round
 * (services/window-gate.ts); every change here pokes it.
 */

export type DeploymentWindowRow = typeof deploymentWindows.$inferSelect;
export type WindowOverrideRow = typeof deploymentWindowOverrides.$inferSelect;

/** Enough for any real schedule; each is evaluated for every host a round looks at. */
const MAX_WINDOWS_PER_CLUSTER = 50;
/** An override longer than this is a policy change: delete or change the window instead. */
const MAX_OVERRIDE_MS = 7 * 24 * 3600_000;

const filterSchema = z
  .string()
  .min(1)
  .max(1000)
  .superRefine((expression, c) => {
    const f = compileWindowFilter(expression);
    if (!f.ok) c.addIssue({ code: "custom", message: f.message });
  });

const createWindowInput = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_.-]{1,255}$/, "must be 1-255 letters, digits, '.', '-' or '_'"),
  /** Cron: 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first. */
  schedule: z.string().min(1).max(200),
  durationMinutes: z.number().int().min(1).max(7 * 24 * 60),
  timeZone: z.string().min(1).max(64).default("UTC"),
  /** Cluster query language over the instances (attribute:site == shop-12); absent = the whole cluster. */
  filter: filterSchema.optional(),
});

const overrideInput = z.strictObject({
  /** The instances to open; absent = every instance of the cluster. */
  filter: filterSchema.optional(),
  /** When the override ends (ISO 8601); or durationMinutes from now (default 60). */
  until: z.iso.datetime({ offset: true }).optional(),
  durationMinutes: z.number().int().min(1).max(7 * 24 * 60).optional(),
  reason: z.string().max(1024).optional(),
});

export interface DeploymentWindowView {
  windowId: string;
  name: string;
  schedule: string;
  timeZone: string;
  durationMinutes: number;
  filter: string | null;
  /** Open now (until closesAt) or closed until opensAt. */
  open: boolean;
  opensAt?: string;
  closesAt?: string;
  createdAt: string;
}

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

export function windowView(r: DeploymentWindowRow, now: number): DeploymentWindowView {
  const c = compileSchedule(r.schedule, r.timeZone, r.durationMinutes);
  const s = c.ok ? scheduleStateAt(c.schedule, now) : { open: false as const };
  return {
    windowId: r.id,
    name: r.name,
    schedule: r.schedule,
    timeZone: r.timeZone,
    durationMinutes: r.durationMinutes,
    filter: r.filter,
    open: s.open,
    ...(s.open ? { closesAt: iso(s.closesAt) } : { opensAt: iso(s.opensAt) }),
    createdAt: new Date(r.createdAt).toISOString(),
  };
}

export function overrideView(r: WindowOverrideRow) {
  return {
    overrideId: r.id,
    filter: r.filter,
    until: new Date(r.until).toISOString(),
    createdBy: r.createdBy,
    reason: r.reason ?? undefined,
    createdAt: new Date(r.createdAt).toISOString(),
  };
}

export async function createDeploymentWindow(ctx: OpsContext, cluster: string, input: unknown): Promise<DeploymentWindowRow> {
  const req = parseInput(createWindowInput, input);
  const compiled = compileSchedule(req.schedule, req.timeZone, req.durationMinutes);
  if (!compiled.ok) throw invalid(`${compiled.field}: ${compiled.message}`, [{ path: compiled.field, message: compiled.message }]);
  const c = await requireCluster(ctx, cluster);
  const row = await ctx.serialize(async () => {
    const existing = await ctx.db.select().from(deploymentWindows).where(eq(deploymentWindows.clusterName, c.name)).all();
    if (existing.some((w) => w.name === req.name)) throw invalid(`name: a deployment window "${req.name}" already exists`, [{ path: "name", message: "already exists" }]);
    if (existing.length >= MAX_WINDOWS_PER_CLUSTER) {
      throw invalid(`name: at most ${MAX_WINDOWS_PER_CLUSTER} deployment windows per cluster`, [{ path: "name", message: `at most ${MAX_WINDOWS_PER_CLUSTER} per cluster` }]);
    }
    const row: DeploymentWindowRow = {
      id: newId(),
      clusterName: c.name,
      name: req.name,
      schedule: req.schedule,
      durationMinutes: req.durationMinutes,
      timeZone: req.timeZone,
      filter: req.filter ?? null,
      createdAt: ctx.clock.now(),
    };
    await ctx.db.insert(deploymentWindows).values(row);
    return row;
  });
  ctx.servicesChanged?.();
  return row;
}

export async function listDeploymentWindows(ctx: OpsContext, cluster: string): Promise<DeploymentWindowRow[]> {
  const c = await requireCluster(ctx, cluster);
  return ctx.db.select().from(deploymentWindows).where(eq(deploymentWindows.clusterName, c.name)).orderBy(asc(deploymentWindows.name)).all();
}

/** Deletes a window by id or name; the hosts it held are released on the next round. */
export async function deleteDeploymentWindow(ctx: OpsContext, cluster: string, idOrName: string): Promise<DeploymentWindowRow> {
  const c = await requireCluster(ctx, cluster);
  const rows = await ctx.db.select().from(deploymentWindows).where(eq(deploymentWindows.clusterName, c.name)).all();
  const row = rows.find((w) => w.id === idOrName) ?? rows.find((w) => w.name === idOrName);
  if (!row) throw notFound("ClientException", `deployment window "${idOrName}" not found in cluster "${c.name}"`);
  await ctx.serialize(() => ctx.db.delete(deploymentWindows).where(eq(deploymentWindows.id, row.id)));
  ctx.servicesChanged?.();
  return row;
}

/**
 * An operator override ("deploy now"): the matching hosts count as inside a window until `until`.
 * Who asked is kept with it (the token's name), besides the audit log's line for the call.
 */
export async function overrideDeploymentWindows(ctx: OpsContext, cluster: string, input: unknown, createdBy: string | null): Promise<WindowOverrideRow> {
  const req = parseInput(overrideInput, input);
  if (req.until !== undefined && req.durationMinutes !== undefined) {
    throw invalid("until: give until or durationMinutes, not both", [{ path: "until", message: "give until or durationMinutes, not both" }]);
  }
  const c = await requireCluster(ctx, cluster);
  const now = ctx.clock.now();
  const until = req.until !== undefined ? Date.parse(req.until) : now + (req.durationMinutes ?? 60) * 60_000;
  if (until <= now) throw invalid("until: must be in the future", [{ path: "until", message: "must be in the future" }]);
  if (until - now > MAX_OVERRIDE_MS) throw invalid("until: at most 7 days ahead", [{ path: "until", message: "at most 7 days ahead" }]);
  const row: WindowOverrideRow = {
    id: newId(),
    clusterName: c.name,
    filter: req.filter ?? null,
    until,
    createdBy,
    reason: req.reason ?? null,
    createdAt: now,
  };
  await ctx.serialize(() => ctx.db.insert(deploymentWindowOverrides).values(row));
  ctx.servicesChanged?.();
  return row;
}

/** Overrides still in force, soonest ending first. */
export async function listWindowOverrides(ctx: OpsContext, cluster: string): Promise<WindowOverrideRow[]> {
  const c = await requireCluster(ctx, cluster);
  return ctx.db
    .select()
    .from(deploymentWindowOverrides)
    .where(and(eq(deploymentWindowOverrides.clusterName, c.name), gt(deploymentWindowOverrides.until, ctx.clock.now())))
    .orderBy(asc(deploymentWindowOverrides.until))
    .all();
}

/** Ends an override early. */
export async function deleteWindowOverride(ctx: OpsContext, cluster: string, id: string): Promise<WindowOverrideRow> {
  const c = await requireCluster(ctx, cluster);
  const row = await ctx.db
    .select()
    .from(deploymentWindowOverrides)
    .where(and(eq(deploymentWindowOverrides.clusterName, c.name), eq(deploymentWindowOverrides.id, id)))
    .get();
  if (!row) throw notFound("ClientException", `deployment window override "${id}" not found in cluster "${c.name}"`);
  await ctx.serialize(() => ctx.db.delete(deploymentWindowOverrides).where(eq(deploymentWindowOverrides.id, id)));
  ctx.servicesChanged?.();
  return row;
}
