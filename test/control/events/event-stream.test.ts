import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { EventEnvelope } from "../../../control/events/log.ts";
import { startTestControl, TEST_TOKEN, type TestControl } from "../../helpers/control.ts";
import { applyPresence } from "../../../control/ops/instances.ts";
import { addInstance as addTestInstance } from "../../helpers/ops.ts";
import { SseClient } from "../../helpers/sse.ts";
import { FakeAgent } from "../services/fake-agents.ts";

/**
 * The event log seen through GET /v1/events: events made by the real paths (RunTask and StopTask
 * over HTTP, agent reports through applyReports, presence through applyPresence), streamed as
 * server-sent events, and resumed with Last-Event-ID across a control restart on the same
 * database with nothing missed or repeated.
 */
const dir = mkdtempSync(join(tmpdir(), "flotilla-events-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const TD = { family: "ev", containerDefinitions: [{ name: "app", image: "busybox", memory: 64, essential: true }] };
const auth = { authorization: `Bearer ${TEST_TOKEN}` };

const addInstance = (t: TestControl, cluster: string) => addTestInstance(t.control, cluster);

const envelopes = (c: SseClient) => c.messages.map((m) => ({ id: Number(m.id), e: JSON.parse(m.data) as EventEnvelope }));

test("a stream resumed with Last-Event-ID after a control restart misses nothing and repeats nothing", async () => {
  let t = await startTestControl({ dir });
  let agent: FakeAgent;
  let taskId: string;
  let lastSeen: number;
  let instanceId: string;
  try {
    expect((await t.api("POST", "/v1/clusters", { clusterName: "ev" })).status).toBe(201);
    expect((await t.api("POST", "/v1/task-definitions", TD)).status).toBe(201);
    // From the beginning of the log (after=0): registration, activation use, connection.
    const stream = await SseClient.open(`${t.control.httpUrl}/v1/events?after=0&cluster=ev`, auth);
    expect(stream.status).toBe(200);
    instanceId = await addInstance(t, "ev");
    agent = new FakeAgent(t.control.ctx, instanceId, Date.now);
    const run = await t.api("POST", "/v1/clusters/ev/tasks", { taskDefinition: "ev" });
    expect(run.status).toBe(201);
    taskId = (run.body.tasks[0].taskArn as string).split("/").pop()!;
    await agent.sync(); // RUNNING
    const seen = await stream.waitForCount(5);
    const types = envelopes(stream).map(({ e }) => e["detail-type"]);
    expect(types.slice(0, 3).sort()).toEqual(["ECS Container Instance State Change", "ECS Container Instance State Change", "Flotilla Activation Used"]);
    const taskEvents = envelopes(stream).filter(({ e }) => e["detail-type"] === "ECS Task State Change");
    expect(taskEvents.map(({ e }) => e.detail.lastStatus)).toEqual(["PROVISIONING", "RUNNING"]);
    const running = taskEvents[1]!.e;
    expect(running.source).toBe("flotilla.ecs");
    expect(running.resources).toEqual([`arn:flotilla:ecs:local:000000000000:task/ev/${taskId}`]);
    expect(running.detail).toMatchObject({ desiredStatus: "RUNNING", launchType: "EXTERNAL", containers: [{ name: "app", lastStatus: "RUNNING" }] });
    lastSeen = Number(seen.at(-1)!.id);
    await stream.close();

    // Events the client is away for: StopTask over HTTP, then the agent reports the stop.
    expect((await t.api("POST", `/v1/clusters/ev/tasks/${taskId}/stop`, { reason: "test stop" })).status).toBe(200);
    await agent.sync();
  } finally {
    await t.stop();
  }

  // The same database, a new process: the log and its ids carry on.
  t = await startTestControl({ dir });
  try {
    const resumed = await SseClient.open(`${t.control.httpUrl}/v1/events?cluster=ev`, { ...auth, "last-event-id": String(lastSeen) });
    // While the client reads, more happens: the agent reconnects and a second task runs.
    await applyPresence(t.control.ctx, instanceId, { connected: true, epoch: 2 });
    const run = await t.api("POST", "/v1/clusters/ev/tasks", { taskDefinition: "ev" });
    expect(run.status).toBe(201);
    const all = (await t.api("GET", "/v1/events?after=0&cluster=ev&limit=1000")).body.events as EventEnvelope[];
    const expected = all.filter((e) => Number(e.id) > lastSeen);
    await resumed.waitForCount(expected.length);
    await resumed.close();
    const got = envelopes(resumed);
    // Exactly the log after lastSeen: no gap, no duplicate, in id order.
    expect(got.map((g) => g.id)).toEqual(expected.map((e) => Number(e.id)));
    expect(new Set(got.map((g) => g.id)).size).toBe(got.length);
    const kinds = got.map(({ e }) => [e["detail-type"], e.detail.desiredStatus ?? null, e.detail.lastStatus ?? null, e.detail.agentConnected ?? null]);
    expect(kinds).toEqual([
      ["ECS Task State Change", "STOPPED", "RUNNING", null], // StopTask
      ["ECS Task State Change", "STOPPED", "STOPPED", null], // the agent's report
      ["ECS Container Instance State Change", null, null, false], // the restart: embedded broker starts empty
      ["ECS Container Instance State Change", null, null, true], // the agent is back
      ["ECS Task State Change", "RUNNING", "PROVISIONING", null], // RunTask after the restart
    ]);
    const stopped = got[1]!.e.detail;
    expect(stopped.stoppedReason).toBe("test stop");
    expect(stopped.version).toBe(got[1]!.id);
    // Ids only rise: the new process's first event comes after every old one.
    expect(got[2]!.id).toBeGreaterThan(lastSeen);
  } finally {
    await t.stop();
  }
});

test("streams filter by instance; bad input is a 400 naming the field", async () => {
  const t = await startTestControl();
  try {
    await t.api("POST", "/v1/clusters", { clusterName: "f" });
    const a = await addInstance(t, "f");
    const b = await addInstance(t, "f");
    const onlyB = await SseClient.open(`${t.control.httpUrl}/v1/events?after=0&instance=${b}`, auth);
    expect((await t.api("PATCH", `/v1/clusters/f/container-instances/${a}`, { status: "DRAINING" })).status).toBe(200);
    expect((await t.api("PATCH", `/v1/clusters/f/container-instances/${b}`, { status: "DRAINING" })).status).toBe(200);
    const msgs = await onlyB.waitForCount(4); // registration, activation used, connection, DRAINING
    await onlyB.close();
    const got = envelopes({ messages: msgs } as SseClient);
    expect(got.every(({ e }) => e.resources[0]!.endsWith(`/${b}`))).toBe(true);
    expect(got.at(-1)!.e.detail).toMatchObject({ status: "DRAINING" });

    const badAfter = await t.api("GET", "/v1/events?after=-1");
    expect(badAfter.status).toBe(400);
    expect(JSON.stringify(badAfter.body)).toContain("after");
    const badHeader = await fetch(`${t.control.httpUrl}/v1/events`, { headers: { ...auth, accept: "text/event-stream", "last-event-id": "x" } });
    expect(badHeader.status).toBe(400);
    expect(await badHeader.text()).toContain("Last-Event-ID");
  } finally {
    await t.stop();
  }
});

test("retention prunes the log by count (a duty)", async () => {
  const t = await startTestControl({ extra: { eventRetention: { maxCount: 2, intervalMs: 20 } } });
  try {
    await t.api("POST", "/v1/clusters", { clusterName: "r" });
    const id = await addInstance(t, "r");
    for (const status of ["DRAINING", "ACTIVE", "DRAINING"]) await t.api("PATCH", `/v1/clusters/r/container-instances/${id}`, { status });
    const { waitFor } = await import("../../helpers/wait.ts");
    const kept = await waitFor("the log pruned to 2", async () => {
      const list = (await t.api("GET", "/v1/events?after=0")).body.events as EventEnvelope[];
      return list.length === 2 && list;
    });
    // The newest two are kept.
    expect(kept.map((e) => e.detail.status)).toEqual(["ACTIVE", "DRAINING"]);
  } finally {
    await t.stop();
  }
});

test("retention prunes the log by age, on the control's clock", async () => {
  let now = Date.now();
  const t = await startTestControl({ extra: { clock: { now: () => now }, eventRetention: { maxAgeMs: 60_000, intervalMs: 20 } } });
  try {
    await t.api("POST", "/v1/clusters", { clusterName: "age" });
    const id = await addInstance(t, "age"); // three events, at `now`
    now += 120_000; // two minutes on: those are past the one-minute retention
    await t.api("PATCH", `/v1/clusters/age/container-instances/${id}`, { status: "DRAINING" });
    const { waitFor } = await import("../../helpers/wait.ts");
    const kept = await waitFor("the old events pruned", async () => {
      const list = (await t.api("GET", "/v1/events?after=0")).body.events as EventEnvelope[];
      return list.length === 1 && list;
    });
    expect(kept[0]!.detail.status).toBe("DRAINING");
  } finally {
    await t.stop();
  }
});

test("many streams at once, from different points and with filters, each get exactly their part of the log in order", async () => {
  const t = await startTestControl();
  const streams: SseClient[] = [];
  try {
    await t.api("POST", "/v1/clusters", { clusterName: "many" });
    const a = await addInstance(t, "many");
    const b = await addInstance(t, "many");
    const middle = (await t.api("GET", "/v1/events")).body.lastEventId as number;
    const url = `${t.control.httpUrl}/v1/events`;
    const opened = {
      fromStart: await SseClient.open(`${url}?after=0`, auth),
      fromNow: await SseClient.open(url, auth),
      resumed: await SseClient.open(url, { ...auth, "last-event-id": String(middle - 2) }),
      onlyA: await SseClient.open(`${url}?after=0&instance=${a}`, auth),
      onlyB: await SseClient.open(`${url}?instance=${b}`, auth),
    };
    streams.push(...Object.values(opened));
    // Changes while the streams read: each flip is one event, some of them in quick succession.
    const flips = [];
    for (let i = 0; i < 20; i++) {
      const id = i % 2 ? a : b;
      flips.push(t.api("PATCH", `/v1/clusters/many/container-instances/${id}`, { status: i % 4 < 2 ? "DRAINING" : "ACTIVE" }));
      if (i % 5 === 4) await Promise.all(flips.splice(0));
    }
    await Promise.all(flips);
    const log = (await t.api("GET", "/v1/events?after=0&limit=1000")).body.events as EventEnvelope[];
    const ids = (list: EventEnvelope[]) => list.map((e) => Number(e.id));
    const ofInstance = (id: string) => log.filter((e) => e.resources[0]!.endsWith(`/${id}`));
    const expected = {
      fromStart: ids(log),
      fromNow: ids(log.filter((e) => Number(e.id) > middle)),
      resumed: ids(log.filter((e) => Number(e.id) > middle - 2)),
      onlyA: ids(ofInstance(a)),
      onlyB: ids(ofInstance(b).filter((e) => Number(e.id) > middle)),
    };
    for (const [name, s] of Object.entries(opened)) {
      const want = expected[name as keyof typeof expected];
      await s.waitForCount(want.length);
      expect(s.messages.map((m) => Number(m.id)), name).toEqual(want);
      expect(s.messages.map((m) => JSON.parse(m.data)), name).toEqual(log.filter((e) => want.includes(Number(e.id))));
    }
  } finally {
    for (const s of streams) await s.close();
    await t.stop();
  }
});
