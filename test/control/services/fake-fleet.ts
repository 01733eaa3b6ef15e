import { and, eq, ne } from "drizzle-orm";
import { tasks } from "../../../control/db/schema.ts";
import { applyPresence } from "../../../control/ops/instances.ts";
import { releaseReservation } from "../../../control/ops/tasks.ts";
import { ServiceScheduler } from "../../../control/services/scheduler.ts";
import { addInstance, createTestOps, type TestOps } from "../../helpers/ops.ts";

/** A hand-driven clock: scheduler rounds see exactly the time a test sets. */
export class ManualClock {
  constructor(public t = 1_700_000_000_000) {}
  now = () => this.t;
  advance(ms: number) {
    this.t += ms;
  }
}

/**
 * In-process fleet for scheduler tests: fake instances (no agent), a scheduler driven round by
 * round, and `settle()` playing the agents — desired RUNNING tasks become RUNNING, desired STOPPED
 * ones STOPPED — so each round's decisions can be checked exactly.
 */
export async function fakeFleet(cluster: string, instanceCount: number) {
  const clock = new ManualClock();
  const t: TestOps = await createTestOps(clock);
  await t.request("POST", "/v1/clusters", { clusterName: cluster });
  const instances: string[] = [];
  for (let i = 0; i < instanceCount; i++) instances.push(await addInstance(t, cluster, { cpu: 4096, memory: 8192 }));
  const scheduler = new ServiceScheduler(t.ctx);
  let epoch = 10;

  return {
    t,
    clock,
    instances,
    scheduler,
    round: () => scheduler.runOnce(),
    /** The agents catch up; `fail` decides which started tasks exit at once instead. */
    async settle(fail: (taskDefinitionArn: string) => boolean = () => false) {
      const rows = await t.ctx.db.select().from(tasks).where(and(eq(tasks.clusterName, cluster), ne(tasks.lastStatus, "STOPPED"))).all();
      for (const r of rows) {
        if (r.desiredStatus === "STOPPED" || fail(r.taskDefinitionArn)) {
          const failed = r.desiredStatus === "RUNNING";
          const set = {
            lastStatus: "STOPPED" as const,
            desiredStatus: "STOPPED" as const,
            startedAt: r.startedAt ?? clock.now(),
            stoppedAt: clock.now(),
            stopCode: r.stopCode ?? (failed ? "EssentialContainerExited" : null),
            stoppedReason: r.stoppedReason ?? (failed ? "Essential container in task exited" : null),
          };
          await t.ctx.db.update(tasks).set(set).where(eq(tasks.id, r.id));
          await releaseReservation(t.ctx, { ...r, ...set });
        } else if (r.lastStatus !== "RUNNING") {
          await t.ctx.db.update(tasks).set({ lastStatus: "RUNNING", startedAt: clock.now() }).where(eq(tasks.id, r.id));
        }
      }
    },
    async running(service: string) {
      return t.ctx.db
        .select()
        .from(tasks)
        .where(and(eq(tasks.clusterName, cluster), eq(tasks.serviceName, service), eq(tasks.lastStatus, "RUNNING"), eq(tasks.desiredStatus, "RUNNING")))
        .all();
    },
    async disconnect(id: string) {
      await applyPresence(t.ctx, id, { connected: false, epoch: ++epoch });
    },
    async reconnect(id: string) {
      await applyPresence(t.ctx, id, { connected: true, epoch: ++epoch });
    },
    close: () => t.close(),
  };
}

export const APP_V1 = { family: "app", containerDefinitions: [{ name: "app", image: "nginx", memory: 64, essential: true }] };
export const APP_V2 = { family: "app", containerDefinitions: [{ name: "app", image: "nginx", memory: 64, essential: true, environment: [{ name: "V", value: "2" }] }] };
