import { and, desc, eq, sql } from "drizzle-orm";
import type { ServiceEventRow } from "../db/rows.ts";
import { serviceEvents } from "../db/schema.ts";
import { newId } from "../ids.ts";
import type { OpsContext } from "../scheduling/context.ts";


/** Events kept per service; older ones are pruned as new ones arrive (ECS shows the last 100). */
const KEEP_EVENTS = 100;

/**
 * Records an ECS-style service event. A message equal to the service's newest event is suppressed,
 * so a condition that persists across reconcile rounds (a task that cannot be placed) says so once.
 */
export async function addServiceEvent(ctx: OpsContext, clusterName: string, serviceName: string, message: string): Promise<boolean> {
  return ctx.serialize(async () => {
    const latest = await ctx.db
      .select({ message: serviceEvents.message })
      .from(serviceEvents)
      .where(and(eq(serviceEvents.clusterName, clusterName), eq(serviceEvents.serviceName, serviceName)))
      .orderBy(desc(serviceEvents.createdAt))
      .limit(1)
      .get();
    if (latest?.message === message) return false;
    const createdAt = ctx.clock.now();
    await ctx.db.insert(serviceEvents).values({ id: newId(), clusterName, serviceName, createdAt, message });
    const old = await ctx.db
      .select({ id: serviceEvents.id })
      .from(serviceEvents)
      .where(and(eq(serviceEvents.clusterName, clusterName), eq(serviceEvents.serviceName, serviceName)))
      .orderBy(desc(serviceEvents.createdAt))
      .offset(KEEP_EVENTS)
      .limit(1000)
      .all();
    for (const o of old) await ctx.db.delete(serviceEvents).where(eq(serviceEvents.id, o.id));
    return true;
  });
}

/** Newest first; ties (same millisecond) keep insertion order reversed via rowid. */
export async function listServiceEvents(ctx: OpsContext, clusterName: string, serviceName: string, limit = KEEP_EVENTS): Promise<ServiceEventRow[]> {
  return ctx.db
    .select()
    .from(serviceEvents)
    .where(and(eq(serviceEvents.clusterName, clusterName), eq(serviceEvents.serviceName, serviceName)))
    .orderBy(desc(serviceEvents.createdAt), sql`rowid desc`)
    .limit(limit)
    .all();
}


/** The service's newest event whose message contains `text` (a fixed phrase of one kind of event). */
export async function latestServiceEventContaining(ctx: OpsContext, clusterName: string, serviceName: string, text: string): Promise<ServiceEventRow | undefined> {
  const pattern = `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  return ctx.db
    .select()
    .from(serviceEvents)
    .where(and(eq(serviceEvents.clusterName, clusterName), eq(serviceEvents.serviceName, serviceName), sql`${serviceEvents.message} LIKE ${pattern} ESCAPE '\\'`))
    .orderBy(desc(serviceEvents.createdAt), sql`rowid desc`)
    .limit(1)
    .get();
}

/** Task ids as ECS writes them in event messages: "(task 1234...)". */
export function taskList(ids: string[]): string {
  return ids.map((id) => `(task ${id})`).join(" ");
}
