import { afterEach, describe, expect, test } from "bun:test";
import { createAgent, type Agent } from "../../../agent/agent.ts";
import { ByteRateLimiter } from "../../../agent/runtime/registry/byte-rate-limiter.ts";
import type { AgentLink, LinkHandlers } from "../../../agent/link/mqtt-link.ts";
import { HollowRuntime } from "../../../agent/runtime/hollow.ts";
import { memoryStateStore, type StateStore } from "../../../agent/store/state-file.ts";
import type { DesiredPrefetch, DesiredState, Report } from "../../../shared/messages.ts";
import { waitFor } from "../../helpers/wait.ts";

/**
 * The agent's prefetches (createAgent: desired intake, ImagePrefetcher, reports) on the in-memory
 * runtime with a stand-in link: the images of a desired set's `prefetch` list are pulled through
 * the same limiter as task starts, and their progress goes out in the reports.
 */
const instanceId = "0123456789abcdef0123456789abcdef";
let agent: Agent | undefined;
afterEach(async () => {
  await agent?.stop();
  agent = undefined;
});

function start(opts: { maxConcurrentPulls?: number; maxPullBytesPerSecond?: number; pullBandwidth?: ByteRateLimiter; unpullable?: string[]; store?: StateStore } = {}) {
  let handlers: LinkHandlers | undefined;
  const reports: Report[] = [];
  const link: AgentLink = {
    start: async (h) => {
      handlers = h;
      h.onConnected();
    },
    publishReport: (r) => (reports.push(r), true),
    publishResponse: () => true,
    publishStats: () => true,
    connected: true,
    stop: async () => {},
  };
  const hollow = new HollowRuntime({ timings: { pullLatencyMs: 10, createLatencyMs: 1, startLatencyMs: 1, stopLatencyMs: 1, removeLatencyMs: 1 }, unpullableImages: opts.unpullable });
  const seen = { active: 0, max: 0 };
  const ensure = hollow.ensureImage.bind(hollow);
  hollow.ensureImage = async (image, behavior) => {
    seen.max = Math.max(seen.max, ++seen.active);
    try {
      return await ensure(image, behavior);
    } finally {
      seen.active--;
    }
  };
  agent = createAgent({
    runtime: hollow,
    link,
    store: opts.store ?? memoryStateStore(),
    instanceId,
    clusterName: "c",
    facts: { hostname: "h", resources: { cpu: 2048, memory: 4096 }, attributes: {}, versionInfo: { agentVersion: "t", dockerVersion: "t" } },
    imagePullBehavior: "default",
    maxConcurrentPulls: opts.maxConcurrentPulls,
    maxPullBytesPerSecond: opts.maxPullBytesPerSecond,
    pullBandwidth: opts.pullBandwidth,
    relistIntervalMs: 20,
    reportDelayMs: 1,
    resyncIntervalMs: 0,
    statsIntervalMs: 0,
  });
  const a = agent;
  return {
    agent: a,
    hollow,
    seen,
    reports,
    desired: (d: DesiredState) => handlers!.onDesired(d),
    /** The prefetches of the last report, by id. */
    last: () => Object.fromEntries((reports.at(-1)?.prefetches ?? []).map((p) => [p.prefetchId, p.images])),
  };
}

const set = (generation: number, prefetch: DesiredPrefetch[], images: string[] = []): DesiredState => ({
  instanceId,
  clusterName: "c",
  generation,
  tasks: images.map((image, i) => ({
    taskId: `t${i}`,
    taskArn: `arn:t${i}`,
    family: "f",
    revision: 1,
    taskDefinitionArn: "arn:f:1",
    desiredStatus: "RUNNING",
    definition: { family: "f", containerDefinitions: [{ name: "app", image, memory: 64 }] },
  })),
  prefetch,
});

describe("image prefetch on the agent", () => {
  test("each image is pulled and reported DONE, a missing one FAILED with the runtime's reason; the pulled ones are the agent's for image cleanup", async () => {
    const a = start({ unpullable: ["missing:1"] });
    await a.agent.start();
    a.desired(set(1, [{ prefetchId: "p1", images: ["app:1", "missing:1"] }]));
    const done = await waitFor("both images to end", () => {
      const imgs = a.last().p1;
      return imgs?.every((i) => i.status === "DONE" || i.status === "FAILED") ? imgs : undefined;
    });
    expect(done[0]).toMatchObject({ image: "app:1", status: "DONE" });
    expect(done[0]!.finishedAt!).toBeGreaterThanOrEqual(done[0]!.startedAt!);
    expect(done[1]).toMatchObject({ image: "missing:1", status: "FAILED" });
    expect(done[1]!.reason).toStartWith("CannotPullContainerError: pull image missing:1: repository does not exist");
    expect(await a.hollow.imageLabels("app:1")).not.toBeNull();
    expect(Object.keys(a.agent.engine.state.pulledImages ?? {})).toEqual(["app:1"]);
    // Reports carried the pull as PULLING on the way.
    expect(a.reports.some((r) => r.prefetches?.some((p) => p.images.some((i) => i.status === "PULLING")))).toBe(true);
  });

  test("task starts and prefetches share one limiter: with --max-concurrent-pulls 1 no two pulls overlap", async () => {
    const a = start({ maxConcurrentPulls: 1 });
    await a.agent.start();
    a.desired(set(1, [{ prefetchId: "p1", images: ["pre:1", "pre:2", "pre:3"] }], ["task:1", "task:2"]));
    await waitFor("the prefetch to end and both tasks to run", () =>
      a.last().p1?.every((i) => i.status === "DONE") && Object.values(a.agent.engine.state.tasks).every((t) => t.knownStatus === "RUNNING") && Object.keys(a.agent.engine.state.tasks).length === 2,
    );
    expect(a.seen.max).toBe(1);
    const imgs = a.last().p1!;
    // One after another: each starts once the one before it ended.
    const byStart = [...imgs].sort((x, y) => x.startedAt! - y.startedAt!);
    for (let i = 1; i < byStart.length; i++) expect(byStart[i]!.startedAt!).toBeGreaterThanOrEqual(byStart[i - 1]!.finishedAt!);
  });

  test("the default limit lets two pulls run at once", async () => {
    const a = start();
    await a.agent.start();
    expect(a.agent.pulls.limit).toBe(2);
    a.desired(set(1, [{ prefetchId: "p1", images: ["a:1", "b:1", "c:1", "d:1"] }]));
    await waitFor("the prefetch to end", () => a.last().p1?.every((i) => i.status === "DONE"));
    expect(a.seen.max).toBe(2);
  });

  test("the desired set's maxConcurrentPulls overrides the flag, and its absence restores it", async () => {
    const a = start({ maxConcurrentPulls: 3 });
    await a.agent.start();
    expect(a.agent.pulls.limit).toBe(3);
    a.desired({ ...set(1, []), maxConcurrentPulls: 1 });
    expect(a.agent.pulls.limit).toBe(1);
    a.desired(set(2, [{ prefetchId: "p1", images: ["a:1", "b:1", "c:1"] }]));
    expect(a.agent.pulls.limit).toBe(3);
    a.desired({ ...set(3, [{ prefetchId: "p1", images: ["a:1", "b:1", "c:1"] }]), maxConcurrentPulls: 1 });
    await waitFor("the prefetch to end", () => a.last().p1?.every((i) => i.status === "DONE"));
    // An older set changes nothing.
    a.desired(set(2, []));
    expect(a.agent.pulls.limit).toBe(1);
  });

  test("the desired set's maxPullBytesPerSecond sets the agent's bandwidth cap over the flag's, and its absence restores the flag's", async () => {
    const pullBandwidth = new ByteRateLimiter(50_000);
    const a = start({ maxPullBytesPerSecond: 50_000, pullBandwidth });
    await a.agent.start();
    a.desired({ ...set(1, []), maxPullBytesPerSecond: 8_000 });
    expect(pullBandwidth.bytesPerSecond).toBe(8_000);
    a.desired(set(2, []));
    expect(pullBandwidth.bytesPerSecond).toBe(50_000);
    // An older set changes nothing.
    a.desired({ ...set(1, []), maxPullBytesPerSecond: 8_000 });
    expect(pullBandwidth.bytesPerSecond).toBe(50_000);
  });

  test("a prefetch left out of a newer set leaves the reports; an older set changes nothing; a restarted agent pulls again on the same generation", async () => {
    const store = memoryStateStore();
    let a = start({ store });
    await a.agent.start();
    a.desired(set(3, [{ prefetchId: "p1", images: ["x:1"] }]));
    await waitFor("p1 done", () => a.last().p1?.[0]?.status === "DONE");
    a.desired(set(2, []));
    expect(a.agent.prefetcher.reported().map((p) => p.prefetchId)).toEqual(["p1"]);
    a.desired(set(4, []));
    expect(a.agent.prefetcher.reported()).toEqual([]);
    // With nothing to prefetch the reports carry no prefetches field at all (they stay their size).
    const sent = a.reports.length;
    a.agent.reportSoon();
    await waitFor("a report after the prefetch left", () => a.reports.length > sent);
    expect(JSON.stringify(a.reports.at(-1))).not.toContain("prefetches");
    await a.agent.stop();
    // The same store: the engine holds generation 4 and the retained set is 4 again.
    a = start({ store });
    await a.agent.start();
    a.desired(set(4, [{ prefetchId: "p2", images: ["y:1"] }]));
    await waitFor("p2 done after the restart", () => a.last().p2?.[0]?.status === "DONE");
  });
});
