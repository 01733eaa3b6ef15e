import { describe, expect, test } from "bun:test";
import { docker } from "../helpers/docker.ts";
import { run } from "./support.ts";

/**
 * The services benchmark (scripts/bench/services.ts) end to end at a size CI can afford: separate
 * control, agent and Docker, a service scaled 1 → 3 against 2 `docker run -d` in the same run, a
 * killed container replaced, and its JSON on stdout. The figures are benchmarks
 * (docs/benchmarks.md); this proves the tool that makes them says what it claims.
 */
describe("scripts/bench/services.ts", () => {
  test("scales, runs the docker-run baseline, replaces a killed container, explains the time and leaves nothing behind", async () => {
    const r = await run(["bun", "scripts/bench/services.ts", "--reps", "1", "--from", "1", "--to", "3", "--no-rolling"]);
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result.setup).toMatchObject({ reps: 1, from: 1, to: 3, baselineParallel: 8 });
    expect(result.instanceId).toMatch(/^[0-9a-f]{32}$/);

    // Scale-up: one run, the ratio is the two times measured in it.
    const up = result.scaleUp;
    expect(up).toMatchObject({ from: 1, to: 3 });
    expect(up.runs).toHaveLength(1);
    const [runOne] = up.runs;
    expect(runOne.ratio).toBeCloseTo(runOne.scaleMs / runOne.dockerRunMs, 1);
    expect(up.medianRatio).toBe(runOne.ratio);
    expect(up.target).toMatchObject({ target: 1.2, kind: "max", value: runOne.ratio, met: runOne.ratio <= 1.2 });

    // The breakdown saw the two new tasks go through every stage, in causal order.
    const b = runOne.breakdown;
    expect(b.tasks).toBe(2);
    expect(b.scheduler.launched).toBe(2);
    expect(b.docker.calls.byKind["POST /containers/create"]).toBe(2);
    expect(b.docker.calls.byKind["POST /containers/{id}/start"]).toBe(2);
    // prefer-cached: one image check per started container, and no pull.
    expect(b.docker.calls.byKind["GET /images/{name}/json"]).toBe(2);
    expect(b.docker.calls.byKind["POST /images/create"]).toBeUndefined();
    expect(b.docker.calls.perStartedTask["POST /containers/create"]).toBe(1);
    expect(b.desiredSets.built).toBeGreaterThanOrEqual(1);
    expect(b.scheduler.firstLaunchMs).toBeLessThanOrEqual(b.desiredSets.lastPublishedMs);
    expect(b.scheduler.firstLaunchMs).toBeLessThan(b.docker.firstCreateMs);
    expect(b.docker.firstCreateMs).toBeLessThan(b.docker.lastStartDoneMs);
    expect(b.docker.lastStartDoneMs).toBeLessThanOrEqual(b.reports.lastRunningMs);
    expect(b.reports.lastRunningMs).toBeLessThanOrEqual(runOne.scaleMs);
    // The phases are consecutive stretches of one path: they add up to the whole.
    const phases = Object.values(b.phases) as number[];
    expect(phases.every((p) => typeof p === "number")).toBe(true);
    expect(Math.abs(phases.reduce((a, p) => a + p, 0) - runOne.scaleMs)).toBeLessThanOrEqual(10);
    expect(b.cpuSeconds.control).toBeGreaterThan(0);
    expect(b.cpuSeconds.dockerd).toBeGreaterThan(0);
    expect(Object.keys(runOne.baseline.cpuSeconds)).toEqual(Object.keys(b.cpuSeconds));

    // The killed container: each mark after the one that causes it.
    const kill = result.killedContainerReplaced;
    expect(kill.runs).toHaveLength(1);
    expect(kill.medianMs).toBe(kill.runs[0].ms);
    const m = kill.runs[0].breakdown.marks;
    const order = ["stoppedReportReceived", "schedulerLaunched", "dockerCreate", "dockerStartDone", "runningReportReceived", "seenThroughApi"];
    for (const name of order) expect(typeof m[name], name).toBe("number");
    for (let i = 1; i < order.length; i++) expect(m[order[i]!], `${order[i - 1]} before ${order[i]}`).toBeGreaterThanOrEqual(m[order[i - 1]!]);
    // Docker records the exit before the agent can report it; the rest is Flotilla's own time.
    expect(m.exitRecordedByDocker).toBeLessThanOrEqual(m.stoppedReportReceived);
    const outside = kill.runs[0].breakdown.outsideDockerMs;
    expect(outside).toBeGreaterThan(0);
    expect(Math.abs(outside - (m.seenThroughApi - m.exitRecordedByDocker - (m.dockerStartDone - m.dockerCreate)))).toBeLessThanOrEqual(3);
    expect(m.schedulerLaunched).toBeLessThanOrEqual(m.desiredPublished);
    expect(Math.abs(m.seenThroughApi - kill.runs[0].ms)).toBeLessThanOrEqual(3);
    expect(kill.runs[0].breakdown.docker.byKind["POST /containers/create"]).toBe(1);

    // Clean-up: none of the agent's containers and none of the baseline's are left.
    expect(await docker("ps", "-aq", "--filter", `label=flotilla.instance-id=${result.instanceId}`)).toBe("");
    expect(await docker("ps", "-aq", "--filter", "name=flotilla-svc-bench-")).toBe("");
  }, 600_000);
});
