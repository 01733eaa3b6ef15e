import { beforeAll, describe, expect, test } from "bun:test";
import type { TestControl } from "../helpers/control.ts";
import { singleAgentCluster } from "../helpers/fleet.ts";
import { fewestAtOnce, mostAtOnce } from "../helpers/intervals.ts";
import { waitServiceSteady } from "../helpers/services.ts";
import { runningIntervals, serviceTaskLifetimes, servingIntervals, unstoppedIntervals } from "../helpers/task-lifetimes.ts";

/**
 * A rolling update holds minimumHealthyPercent and maximumPercent, proved with a real agent and
 * the real engine from recorded times: the tasks' (API: placed → STOPPED) and the containers'
 * (Docker's StartedAt/FinishedAt). The containers ignore SIGTERM, so each takes its stopTimeout
 * (2 s) to stop: a scheduler that placed replacements beside tasks still stopping shows more tasks
 * at once than maximumPercent — and, when Docker starts containers faster than they stop (an
 * engine not as loaded as a shared test machine's), more containers.
 */
const C = "svc-limits";
let tc: TestControl;
singleAgentCluster(C, { ready: (c) => ({ tc } = c) });

const slowToStop = (rev: string) => ({
  family: "slow",
  containerDefinitions: [
    {
      name: "slow",
      image: "flotilla/busybox:test",
      memory: 16,
      essential: true,
      stopTimeout: 2,
      command: ["sh", "-c", "trap '' TERM; while :; do sleep 1; done"],
      environment: [{ name: "REV", value: rev }],
    },
  ],
});

beforeAll(async () => {
  for (const rev of ["1", "2", "3"]) expect((await tc.api("POST", "/v1/task-definitions", slowToStop(rev))).status).toBe(201);
});

/**
 * Updates the service, waits for the rollout to finish, and counts from the recorded times: the
 * most tasks not yet STOPPED at once (the control's records) and the most containers running at
 * once (Docker's), and the fewest tasks serving at once.
 */
async function rollout(update: Record<string, unknown>, revision: string) {
  const from = Date.now();
  const res = await tc.api("PATCH", `/v1/clusters/${C}/services/slow`, update);
  expect(res.status).toBe(200);
  await waitServiceSteady(tc, C, "slow", 4, { revision, timeoutMs: 150_000 });
  const window = { from, to: Date.now() };
  const lifetimes = await serviceTaskLifetimes(tc, C, "slow");
  expect(lifetimes.flatMap((t) => t.containers).every((c) => c.source === "docker")).toBe(true);
  // Steady means the replaced tasks have STOPPED: every container but the new four has finished.
  const live = lifetimes.filter((t) => t.containers.some((c) => c.finishedAt === undefined));
  expect(live.map((t) => t.taskDefinitionArn.replace(/.*:/, ""))).toEqual(Array(4).fill(revision.replace(/.*:/, "")));
  return {
    tasks: mostAtOnce(unstoppedIntervals(lifetimes), window).count,
    containers: mostAtOnce(runningIntervals(lifetimes), window).count,
    serving: fewestAtOnce(servingIntervals(lifetimes), window).count,
    replaced: lifetimes.filter((t) => t.stoppedAt !== undefined && t.stoppedAt >= from).length,
  };
}

describe("rolling updates within the limits, from recorded container times", () => {
  test("4 tasks, 50/100: never more than 4 tasks or containers at once, never fewer than 2 serving", async () => {
    const res = await tc.api("POST", `/v1/clusters/${C}/services`, {
      serviceName: "slow",
      taskDefinition: "slow:1",
      desiredCount: 4,
      deploymentConfiguration: { minimumHealthyPercent: 50, maximumPercent: 100 },
    });
    expect(res.status).toBe(201);
    await waitServiceSteady(tc, C, "slow", 4, { revision: "slow:1", timeoutMs: 120_000 });
    const r = await rollout({ taskDefinition: "slow:2" }, "slow:2");
    expect(r).toEqual({ tasks: 4, containers: 4, serving: 2, replaced: 4 });
  }, 300_000);

  test("4 tasks, 100/200: never more than 8 tasks or containers at once, never fewer than 4 serving", async () => {
    const r = await rollout({ taskDefinition: "slow:3", deploymentConfiguration: { minimumHealthyPercent: 100, maximumPercent: 200 } }, "slow:3");
    expect(r).toMatchObject({ serving: 4, replaced: 4 });
    // All four replacements are placed before any old task is asked to stop.
    expect(r.tasks).toBe(8);
    expect(r.containers).toBeGreaterThan(4);
    expect(r.containers).toBeLessThanOrEqual(8);
  }, 300_000);
});
