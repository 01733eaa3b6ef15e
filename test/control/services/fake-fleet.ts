import { and, eq } from "drizzle-orm";
import { tasks } from "../../../control/db/schema.ts";
import { applyPresence } from "../../../control/ops/instances.ts";
import { ServiceScheduler } from "../../../control/services/scheduler.ts";
import { addInstance, createTestOps, type TestOps } from "../../helpers/ops.ts";
import { FakeAgents, type AgentBehaviour } from "./fake-agents.ts";

/** A hand-driven clock: scheduler rounds see exactly the time a test sets. */
export class ManualClock {
  constructor(public t = 1_700_000_000_000) {}
  now = () => this.t;
  advance(ms: number) {
    this.t += ms;
  }
}

/**
 * In-process fleet for scheduler tests: fake instances, a scheduler driven round by round, and
 * `settle()` playing the agents (fake-agents.ts: their reports go through applyReports, as the
 * MQTT link's do) — so each round's decisions can be checked exactly.
 */
export async function fakeFleet(cluster: string, instanceCount: number) {
  const clock = new ManualClock();
  const t: TestOps = await createTestOps(clock);
  await t.request("POST", "/v1/clusters", { clusterName: cluster });
  const instances: string[] = [];
  for (let i = 0; i < instanceCount; i++) instances.push(await addInstance(t, cluster, { cpu: 4096, memory: 8192 }));
  const scheduler = new ServiceScheduler(t.ctx);
  const agents = new FakeAgents(t.ctx, cluster, clock.now);
  let epoch = 10;

  return {
    t,
    clock,
    instances,
    scheduler,
    round: () => scheduler.runOnce(),
    agents,
    /**
     * The agents catch up and report through applyReports: desired RUNNING tasks run, desired
     * STOPPED ones stop; `fail` decides which tasks exit at once instead, `health` what checked
     * containers report.
     */
    settle(fail: (taskDefinitionArn: string) => boolean = () => false, behaviour: Omit<AgentBehaviour, "fail"> = {}) {
      return agents.sync({ ...behaviour, fail });
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

/** The same app with a container health check: it counts as healthy only once the check says so. */
export const CHECK = { command: ["CMD-SHELL", "test -f /tmp/ok"], interval: 5, timeout: 2, retries: 1 };
export const CHECKED_V1 = { family: "checked", containerDefinitions: [{ ...APP_V1.containerDefinitions[0]!, healthCheck: CHECK }] };
export const CHECKED_V2 = { family: "checked", containerDefinitions: [{ ...APP_V2.containerDefinitions[0]!, healthCheck: CHECK }] };
