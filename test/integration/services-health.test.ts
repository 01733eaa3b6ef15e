import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { hostname } from "node:os";
import { hostAddresses } from "../../agent/host/addresses.ts";
import type { AgentProcess } from "../helpers/agent-process.ts";
import type { TestControl } from "../helpers/control.ts";
import { docker } from "../helpers/docker.ts";
import { singleAgentCluster } from "../helpers/fleet.ts";
import { describeService, serviceTasks } from "../helpers/services.ts";
import { waitFor as waitForCondition } from "../helpers/wait.ts";

/**
 * A service whose task definition has a container health check, on a real agent with the real
 * Docker engine: the check is `test -f <file>`, and the test turns it on and off with `docker exec`.
 * Health reaches the control only through the agent's reports, so each step below proves that the
 * reported health is stored and acted on.
 */
const C = "svc-health";
let tc: TestControl;
let agent: AgentProcess;
singleAgentCluster(C, { ready: (c) => ({ tc, agent } = c) });

const IMAGE = "flotilla/busybox:test";
const SERVE = `trap "exit 0" TERM; httpd -f -p 80 -h /www & wait`;
/** hweb:1 healthy once the test creates /tmp/ok; hweb:2 creates it itself; hweb:3's check never passes. */
const REVISIONS = [
  { file: "/tmp/ok", command: ["sh", "-c", SERVE] },
  { file: "/tmp/ok", command: ["sh", "-c", `touch /tmp/ok; ${SERVE}`] },
  { file: "/tmp/never", command: ["sh", "-c", SERVE] },
];
const definition = (r: (typeof REVISIONS)[number]) => ({
  family: "hweb",
  containerDefinitions: [
    {
      name: "web",
      image: IMAGE,
      memory: 32,
      stopTimeout: 2,
      command: r.command,
      portMappings: [{ containerPort: 80 }],
      healthCheck: { command: ["CMD-SHELL", `test -f ${r.file}`], interval: 5, timeout: 30, retries: 2 },
    },
  ],
});

/** waitFor that, on timeout, says what the service, its tasks, the scheduler and the agent were at. */
async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false | null> | T | undefined | false | null, opts?: { timeoutMs?: number; intervalMs?: number }): Promise<T> {
  try {
    return await waitForCondition(what, probe, opts);
  } catch (e) {
    const svc = await describeService(tc, C, "web").catch(() => undefined);
    const tasks = ((await tc.api("GET", `/v1/clusters/${C}/tasks`)).body.tasks as any[]).map((t) => `${t.taskId} ${t.taskDefinitionArn.split("/").pop()} ${t.lastStatus}/${t.desiredStatus} ${t.healthStatus}`);
    const state = {
      deployments: svc?.deployments?.map((d: any) => `${d.status} ${d.rolloutState} ${d.taskDefinition.split("/").pop()} failed=${d.failedTasks}`),
      events: svc?.events?.slice(0, 8).map((e: any) => e.message),
      tasks,
      instances: ((await tc.api("GET", `/v1/clusters/${C}/container-instances`)).body.containerInstances as any[]).map((i) => `${i.containerInstanceId} connected=${i.agentConnected}`),
    };
    throw new Error(`${(e as Error).message}\nstate: ${JSON.stringify(state, null, 1)}\ncontrol log: ${tc.logs.slice(-15).join("\n")}\nagent: ${agent.output().slice(-1500)}`);
  }
}

/** The service steady (one COMPLETED deployment, 2 tasks RUNNING), as waitServiceSteady but with the state above on timeout. */
const waitSteady = (revision: string | undefined, timeoutMs: number) =>
  waitFor(`service web steady on ${revision ?? "its revision"}`, async () => {
    const svc = await describeService(tc, C, "web");
    const dep = svc?.deployments?.[0];
    const ok = svc?.deployments?.length === 1 && dep.rolloutState === "COMPLETED" && (!revision || dep.taskDefinition.endsWith(revision)) && svc.runningCount === 2 && svc.pendingCount === 0;
    return ok ? svc : undefined;
  }, { timeoutMs });

const getTask = async (id: string) => (await tc.api("GET", `/v1/clusters/${C}/tasks/${id}`)).body.task;
const endpoints = async () => (await tc.api("GET", `/v1/clusters/${C}/services/web/endpoints`)).body.endpoints as any[];
const runtimeIdOf = (t: any): string => t.containers[0].runtimeId;
const setOk = (t: any, ok: boolean) => docker("exec", runtimeIdOf(t), ...(ok ? ["touch", "/tmp/ok"] : ["rm", "-f", "/tmp/ok"]));
const waitHealth = (id: string, health: string, timeoutMs = 90_000) =>
  waitFor(`task ${id} reported ${health}`, async () => {
    const t = await getTask(id);
    return t.healthStatus === health ? t : undefined;
  }, { timeoutMs });

/**
 * Docker's own record of health transitions: `docker events` for this cluster's containers, kept
 * from before the first task starts (the daemon's event buffer is too small to ask afterwards).
 */
const healthEvents: { id: string; status: string; at: number }[] = [];
let recorder: ReturnType<typeof Bun.spawn> | undefined;
beforeAll(() => {
  recorder = Bun.spawn(["docker", "events", "--filter", `label=flotilla.cluster=${C}`, "--filter", "event=health_status", "--format", "{{json .}}"], { stdout: "pipe", stderr: "ignore" });
  void (async () => {
    let buf = "";
    for await (const chunk of recorder!.stdout as ReadableStream<Uint8Array>) {
      buf += new TextDecoder().decode(chunk);
      for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
        const e = JSON.parse(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
        healthEvents.push({ id: e.Actor?.ID ?? e.id, status: e.status ?? e.Action, at: Math.floor(e.timeNano / 1e6) });
      }
    }
  })();
});
afterAll(() => recorder?.kill());

/** When Docker first turned a container healthy. */
const dockerHealthyAt = (runtimeId: string) =>
  waitFor(`Docker's healthy event for ${runtimeId.slice(0, 12)}`, () => healthEvents.find((e) => e.id === runtimeId && e.status === "health_status: healthy")?.at, { timeoutMs: 30_000 });

/**
 * Derived from recorded times, not sampled: with minimumHealthyPercent 100 the i-th replaced task
 * may be stopped (stoppingAt: when the scheduler decided) only after the i-th new task was healthy
 * in Docker — otherwise fewer healthy tasks than desired were left.
 */
async function expectStoppedOnlyAfterReplacementsHealthy(replaced: any[], replacements: any[]) {
  const stops = replaced.map((t) => Date.parse(t.stoppingAt)).sort((a, b) => a - b);
  const healthy = (await Promise.all(replacements.map((t) => dockerHealthyAt(runtimeIdOf(t))))).sort((a, b) => a - b);
  expect(stops).toHaveLength(replacements.length);
  stops.forEach((stop, i) => expect(stop).toBeGreaterThanOrEqual(healthy[i]!));
}

let first: any[] = [];

describe("health-aware service on a real agent", () => {
  test("not COMPLETED and no endpoints while the checks fail; COMPLETED and listed at the agent's address once HEALTHY", async () => {
    for (const r of REVISIONS) expect((await tc.api("POST", "/v1/task-definitions", definition(r))).status).toBe(201);
    const res = await tc.api("POST", `/v1/clusters/${C}/services`, {
      serviceName: "web",
      taskDefinition: "hweb:1",
      desiredCount: 2,
      healthCheckGracePeriodSeconds: 600,
      deploymentConfiguration: { minimumHealthyPercent: 100, maximumPercent: 200, deploymentCircuitBreaker: { enable: true, rollback: true } },
    });
    expect(res.status).toBe(201);
    // Docker's first probe (after 5 s) fails: the agent reports UNHEALTHY, and the control stores it.
    first = await waitFor("2 tasks RUNNING and reported UNHEALTHY", async () => {
      const list = await serviceTasks(tc, C, "web");
      return list.length === 2 && list.every((t) => t.lastStatus === "RUNNING" && t.healthStatus === "UNHEALTHY") ? list : undefined;
    }, { timeoutMs: 120_000 });
    expect(first.map((t) => t.containers[0].healthStatus)).toEqual(["UNHEALTHY", "UNHEALTHY"]);
    const svc = await describeService(tc, C, "web");
    expect(svc.deployments).toHaveLength(1);
    expect(svc.deployments[0].rolloutState).toBe("IN_PROGRESS");
    expect(await endpoints()).toEqual([]);

    for (const t of first) await setOk(t, true);
    const steady = await waitSteady("hweb:1", 90_000);
    expect(steady.deployments[0].rolloutState).toBe("COMPLETED");
    // Still the same two tasks (within the grace period nobody replaced them), now HEALTHY.
    const now = await serviceTasks(tc, C, "web");
    expect(now.map((t) => t.taskId).sort()).toEqual(first.map((t) => t.taskId).sort());
    expect(now.map((t) => t.healthStatus)).toEqual(["HEALTHY", "HEALTHY"]);

    // Endpoints at the address the agent reports (its first non-loopback IP), reachable there.
    const expected = hostAddresses()[0] ?? hostname();
    const list = await waitFor("2 endpoints", async () => ((await endpoints()).length === 2 ? endpoints() : undefined));
    for (const e of list) {
      expect(e).toMatchObject({ address: expected, containerName: "web", containerPort: 80, protocol: "tcp" });
      const host = e.address.includes(":") ? `[${e.address}]` : e.address;
      expect(await (await fetch(`http://${host}:${e.hostPort}/`)).text()).toContain("flotilla test page");
    }
  }, 300_000);

  test("endpoints list only HEALTHY tasks: one whose check fails drops out, and returns when it passes", async () => {
    const [a, b] = first;
    await setOk(a, false);
    await waitHealth(a.taskId, "UNHEALTHY");
    expect((await endpoints()).map((e) => e.taskArn)).toEqual([b.taskArn]);
    await setOk(a, true);
    await waitHealth(a.taskId, "HEALTHY");
    expect((await endpoints()).map((e) => e.taskArn).sort()).toEqual([a.taskArn, b.taskArn].sort());
  }, 240_000);

  test("a task whose check starts failing after healthCheckGracePeriodSeconds is stopped (ECS's reason) and replaced", async () => {
    // Long enough for the replacement to turn UNHEALTHY (2 retries × 5 s) and HEALTHY again inside
    // its own grace period, with room for a loaded machine; longer only makes the test slower.
    const GRACE = 30;
    expect((await tc.api("PATCH", `/v1/clusters/${C}/services/web`, { healthCheckGracePeriodSeconds: GRACE })).body.service.deployments).toHaveLength(1);
    const [victim, other] = first;
    await waitFor(`the task to have run ${GRACE} s`, () => Date.now() - Date.parse(victim.startedAt) > GRACE * 1000 + 500, { timeoutMs: GRACE * 1000 + 10_000 });
    await setOk(victim, false);
    const stopped = await waitFor("the failing task STOPPED", async () => {
      const t = await getTask(victim.taskId);
      return t.lastStatus === "STOPPED" ? t : undefined;
    }, { timeoutMs: 90_000 });
    expect(stopped).toMatchObject({ desiredStatus: "STOPPED", stoppedReason: "Task failed container health checks", stopCode: "ServiceSchedulerInitiated" });
    // A stopped container never shows HEALTHY (Docker marks it unhealthy; so does ECS).
    expect(stopped.containers[0].healthStatus).toBe("UNHEALTHY");
    expect(stopped.healthStatus).toBe("UNHEALTHY");

    // The replacement is within its own grace period: UNHEALTHY at first, it is left to recover.
    const replacement = await waitFor("a replacement RUNNING", async () => {
      const list = await serviceTasks(tc, C, "web");
      return list.find((t) => t.taskId !== other.taskId && t.lastStatus === "RUNNING");
    }, { timeoutMs: 90_000 });
    await waitHealth(replacement.taskId, "UNHEALTHY");
    await setOk(replacement, true);
    await waitHealth(replacement.taskId, "HEALTHY");
    const svc = await waitSteady(undefined, 90_000);
    expect((await serviceTasks(tc, C, "web")).map((t) => t.taskId).sort()).toEqual([other.taskId, replacement.taskId].sort());
    expect(svc.deployments[0].failedTasks).toBe(1);
    expect(svc.events.some((e: any) => e.message === `(service web) (task ${victim.taskId}) failed container health checks.`)).toBe(true);
  }, 420_000);

  test("a rolling update (100/200) stops old tasks only once their replacements are HEALTHY", async () => {
    const old = await serviceTasks(tc, C, "web");
    expect((await tc.api("PATCH", `/v1/clusters/${C}/services/web`, { taskDefinition: "hweb:2" })).status).toBe(200);
    await waitSteady("hweb:2", 150_000);
    const replacements = await serviceTasks(tc, C, "web");
    const replaced = await Promise.all(old.map((t) => getTask(t.taskId)));
    for (const t of replaced) expect(t.stoppedReason).toMatch(/^Task replaced by \(deployment ecs-svc\/\d+\)$/);
    await expectStoppedOnlyAfterReplacementsHealthy(replaced, replacements);
  }, 240_000);

  test("a rolling deployment whose checks never pass trips the circuit breaker and rolls back, the old tasks kept meanwhile", async () => {
    const before = await serviceTasks(tc, C, "web");
    // Grace 0: each hweb:3 task fails at its first probe.
    expect((await tc.api("PATCH", `/v1/clusters/${C}/services/web`, { taskDefinition: "hweb:3", healthCheckGracePeriodSeconds: 0 })).status).toBe(200);
    const rolledBack = await waitFor("the rollback to hweb:2", async () => {
      const svc = await describeService(tc, C, "web");
      return svc.taskDefinition.endsWith("hweb:2") && svc.events.some((e: any) => e.message.includes("rolling back to deployment")) ? svc : undefined;
    }, { timeoutMs: 240_000 });
    const messages: string[] = rolledBack.events.map((e: any) => e.message);
    expect(messages.some((m) => /deployment failed: tasks failed to start: \d+ failed tasks reached the circuit breaker threshold of 3/.test(m))).toBe(true);
    const steady = await waitSteady("hweb:2", 180_000);
    expect(steady.deployments[0].rolloutState).toBe("COMPLETED");

    const all = (await tc.api("GET", `/v1/clusters/${C}/tasks?desiredStatus=STOPPED`)).body.tasks as any[];
    const broken = all.filter((t) => t.taskDefinitionArn.endsWith("hweb:3"));
    // Those still running at the rollback were replaced; the rest failed their checks.
    const failed = broken.filter((t) => t.stoppedReason === "Task failed container health checks");
    expect(failed.length).toBeGreaterThanOrEqual(3);
    for (const t of failed) expect(t.stopCode).toBe("ServiceSchedulerInitiated");
    for (const t of broken) expect(t.containers[0].healthStatus).not.toBe("HEALTHY");
    // The hweb:2 tasks from before went only once the rollback's own tasks were HEALTHY.
    const after = await serviceTasks(tc, C, "web");
    const replaced = await Promise.all(before.filter((t) => !after.some((a) => a.taskId === t.taskId)).map((t) => getTask(t.taskId)));
    await expectStoppedOnlyAfterReplacementsHealthy(replaced, after.filter((t) => !before.some((b) => b.taskId === t.taskId)));

    const del = await tc.api("DELETE", `/v1/clusters/${C}/services/web?force=true`);
    expect(del.status).toBe(200);
    await waitFor("the service INACTIVE", async () => (await describeService(tc, C, "web")).status === "INACTIVE", { timeoutMs: 90_000 });
  }, 600_000);
});
