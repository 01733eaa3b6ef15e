import { afterEach, describe, expect, test } from "bun:test";
import { and, eq, ne } from "drizzle-orm";
import { tasks } from "../../../control/db/schema.ts";
import { discoveryServices } from "../../../control/ops/discovery.ts";
import { nextDesiredState } from "../../../control/ops/desired.ts";
import { ServiceScheduler } from "../../../control/services/scheduler.ts";
import { fakeFleet } from "./fake-fleet.ts";

/**
 * The deregistration delay (docs/ingress.md): a RUNNING task leaving a service with ingress is
 * first out of discovery and ingress (DEACTIVATING) and its agent is told to stop only after the
 * delay. The fake agents read their desired sets and report through applyReports, so "the agent
 * was not told" is what their desired sets say, and every state change goes the real paths.
 */
const C = "dereg";
const web = (v: string) => ({
  family: "web",
  containerDefinitions: [{ name: "web", image: "nginx", memory: 64, essential: true, portMappings: [{ containerPort: 80 }], environment: [{ name: "V", value: v }] }],
});
const bindings = () => [{ containerPort: 80, hostPort: 32000 + Math.floor(Math.random() * 1000), protocol: "tcp" as const, bindIP: "0.0.0.0" }];

let fleet: Awaited<ReturnType<typeof fakeFleet>>;
afterEach(() => fleet?.close());

async function setup(ingress: object[], desiredCount = 2) {
  fleet = await fakeFleet(C, 2);
  for (const v of ["1", "2"]) expect((await fleet.t.request("POST", "/v1/task-definitions", web(v))).status).toBe(201);
  const res = await fleet.t.request("POST", `/v1/clusters/${C}/services`, {
    serviceName: "web",
    taskDefinition: "web:1",
    desiredCount,
    ingress,
    deploymentConfiguration: { maximumPercent: 150, minimumHealthyPercent: 100 },
  });
  expect(res.status).toBe(201);
  await step();
  await step();
  expect((await fleet.running("web")).length).toBe(desiredCount);
}

/** A scheduler round, then the agents catch up and report. */
async function step(ms = 0) {
  fleet.clock.advance(ms);
  await fleet.round();
  await fleet.settle(undefined, { bindings });
}

const unstopped = () =>
  fleet.t.ctx.db.select().from(tasks).where(and(eq(tasks.clusterName, C), eq(tasks.serviceName, "web"), ne(tasks.lastStatus, "STOPPED"))).all();
const described = async (id: string) => (await fleet.t.request("GET", `/v1/clusters/${C}/tasks/${id}`)).body.task;
const discovered = async () => new Set((await discoveryServices(fleet.t.ctx, C))[0]!.tasks.map((t) => t.taskId));
const desiredOf = async (instanceId: string, taskId: string) => (await nextDesiredState(fleet.t.ctx, instanceId, false))?.tasks.find((t) => t.taskId === taskId)?.desiredStatus;

describe("deregistration delay", () => {
  test("a rolling update takes each old task out of discovery first, tells its agent to stop only after the delay, counts it toward maximumPercent, and a restarted scheduler finishes it", async () => {
    await setup([{ containerPort: 80, listenPort: 8080, deregistrationDelaySeconds: 10 }]);
    const old = await fleet.running("web");
    expect((await fleet.t.request("PATCH", `/v1/clusters/${C}/services/web`, { taskDefinition: "web:2" })).status).toBe(200);
    const max = Math.floor((2 * 150) / 100);
    let deactivating: string[] = [];
    for (let i = 0; i < 6 && deactivating.length === 0; i++) {
      await step(500);
      expect((await unstopped()).length).toBeLessThanOrEqual(max);
      for (const t of old) if ((await described(t.id)).lastStatus === "DEACTIVATING") deactivating.push(t.id);
    }
    expect(deactivating.length).toBe(1);
    const [id] = deactivating as [string];
    const row = old.find((t) => t.id === id)!;
    const view = await described(id);
    expect(view.desiredStatus).toBe("STOPPED");
    expect(view.stopCode).toBe("ServiceSchedulerInitiated");
    // Out of the answers at once; the agent still has it desired RUNNING (so it keeps serving).
    expect((await discovered()).has(id)).toBe(false);
    expect(await desiredOf(row.instanceId, id)).toBe("RUNNING");
    // Rounds within the delay: still RUNNING on its host, still counted toward maximumPercent.
    for (let i = 0; i < 4; i++) {
      await step(2000);
      expect((await unstopped()).length).toBeLessThanOrEqual(max);
      expect(await desiredOf(row.instanceId, id)).toBe("RUNNING");
      expect((await described(id)).lastStatus).toBe("DEACTIVATING");
    }
    // A new scheduler (a restarted control, a new leader) continues from the stored times.
    await fleet.scheduler.stop();
    const next = new ServiceScheduler(fleet.t.ctx);
    fleet.clock.advance(2500);
    await next.runOnce();
    expect(await desiredOf(row.instanceId, id)).toBe("STOPPED");
    await fleet.settle(undefined, { bindings });
    expect((await described(id)).lastStatus).toBe("STOPPED");
    // The rollout goes on the same way for the other old task and completes.
    for (let i = 0; i < 20; i++) {
      fleet.clock.advance(2000);
      await next.runOnce();
      await fleet.settle(undefined, { bindings });
      expect((await unstopped()).length).toBeLessThanOrEqual(max);
    }
    const svc = (await fleet.t.request("GET", `/v1/clusters/${C}/services/web`)).body.service;
    expect(svc.deployments.map((d: any) => d.rolloutState)).toEqual(["COMPLETED"]);
    for (const t of old) expect((await described(t.id)).lastStatus).toBe("STOPPED");
    await next.stop();
  });

  test("StopTask of a service task with ingress deactivates it first (default delay 5 s); a second StopTask stops it at once", async () => {
    await setup([{ containerPort: 80, listenPort: 8080 }]);
    const [a, b] = (await fleet.running("web")) as [any, any];
    const res = await fleet.t.request("POST", `/v1/clusters/${C}/tasks/${a.id}/stop`, {});
    expect(res.status).toBe(200);
    expect(res.body.task.lastStatus).toBe("DEACTIVATING");
    expect((await discovered()).has(a.id)).toBe(false);
    await step(4000);
    expect(await desiredOf(a.instanceId, a.id)).toBe("RUNNING");
    await step(1500);
    expect((await described(a.id)).lastStatus).toBe("STOPPED");
    expect((await described(a.id)).stopCode).toBe("UserInitiated");
    // A second StopTask while deactivating: the caller insists, the stop goes now.
    expect((await fleet.t.request("POST", `/v1/clusters/${C}/tasks/${b.id}/stop`, {})).body.task.lastStatus).toBe("DEACTIVATING");
    await fleet.t.request("POST", `/v1/clusters/${C}/tasks/${b.id}/stop`, {});
    expect(await desiredOf(b.instanceId, b.id)).toBe("STOPPED");
  });

  test("deregistrationDelaySeconds 0 (and a service without ingress) stops at once", async () => {
    await setup([{ containerPort: 80, listenPort: 8080, deregistrationDelaySeconds: 0 }], 1);
    const [a] = (await fleet.running("web")) as [any];
    expect((await fleet.t.request("PATCH", `/v1/clusters/${C}/services/web`, { desiredCount: 0 })).status).toBe(200);
    await fleet.round();
    expect(await desiredOf(a.instanceId, a.id)).toBe("STOPPED");
    expect((await fleet.t.request("PATCH", `/v1/clusters/${C}/services/web`, { desiredCount: 1, ingress: [] })).status).toBe(200);
    await step();
    await step();
    const [b] = (await fleet.running("web")) as [any];
    expect((await fleet.t.request("POST", `/v1/clusters/${C}/tasks/${b.id}/stop`, {})).body.task.lastStatus).toBe("RUNNING");
    expect(await desiredOf(b.instanceId, b.id)).toBe("STOPPED");
  });

  test("a task on a DRAINING instance is deactivated once its replacement runs, and stopped after the delay", async () => {
    await setup([{ containerPort: 80, listenPort: 8080, deregistrationDelaySeconds: 3 }]);
    const [a] = (await fleet.running("web")) as [any];
    expect((await fleet.t.request("PATCH", `/v1/clusters/${C}/container-instances/${a.instanceId}`, { status: "DRAINING" })).status).toBe(200);
    await waitRounds(() => described(a.id).then((t) => t.lastStatus === "DEACTIVATING"));
    expect((await discovered()).has(a.id)).toBe(false);
    expect(await desiredOf(a.instanceId, a.id)).toBe("RUNNING");
    // Its replacement serves on the other host meanwhile.
    const others = (await fleet.running("web")).filter((t) => t.id !== a.id);
    expect(others).toHaveLength(2);
    for (const t of others) {
      expect(t.instanceId).not.toBe(a.instanceId);
      expect((await discovered()).has(t.id)).toBe(true);
    }
    await step(3000);
    expect((await described(a.id)).lastStatus).toBe("STOPPED");
  });
});

/** Scheduler rounds (500 ms apart, the agents reporting after each) until `done`, at most 10. */
async function waitRounds(done: () => Promise<boolean>) {
  for (let i = 0; i < 10; i++) {
    if (await done()) return;
    await step(500);
  }
  throw new Error("not reached within 10 rounds");
}
