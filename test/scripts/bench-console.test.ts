import { describe, expect, test } from "bun:test";
import { run } from "./support.ts";

/**
 * The console benchmark (scripts/bench/console.ts) end to end at a size CI can afford: a separate
 * control process, hollow agents over real MQTT, a service and standalone tasks, timed page reads
 * through a console session, and open pages (SSE streams that re-read their page) seeing one change
 * at a time. The numbers are benchmarks (docs/benchmarks.md); this proves the tool that makes them:
 * every host connected, every task ran, every page saw every change, and each target verdict is
 * computed from the figure it names. No speed is asserted.
 */
const HOSTS = 5;
const TASKS = 30;
const SERVICE_TASKS = 10;
const PAGES = 3;
const SAMPLES = 5;
const CHANGES = 3;
const TARGETS = { hostsPageP95Ms: 100, servicePageP95Ms: 100, changeToOpenPageP95Ms: 1000 };

describe("scripts/bench/console.ts", () => {
  test("fills a hollow fleet, times the hosts and service pages, and one change reaching every open page; one JSON result", async () => {
    const r = await run(["bun", "scripts/bench/console.ts", "--hosts", `${HOSTS}`, "--tasks", `${TASKS}`, "--service-tasks", `${SERVICE_TASKS}`, "--pages", `${PAGES}`, "--samples", `${SAMPLES}`, "--changes", `${CHANGES}`]);
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result.benchmark).toBe("console");
    expect(result.error).toBeUndefined();
    expect(result.controlNotableLog).toBeUndefined();
    expect(result.config).toMatchObject({ hosts: HOSTS, tasks: TASKS, serviceTasks: SERVICE_TASKS, pages: PAGES, samples: SAMPLES, changes: CHANGES });
    expect(result.setup.registerMs).toBeGreaterThan(0);
    expect(result.setup.tasksRunningMs).toBeGreaterThan(0);

    for (const name of ["hostsPage", "servicePage"]) {
      const s = result.render[name];
      expect(s.n, name).toBe(SAMPLES);
      expect(s.p50, name).toBeGreaterThan(0);
      expect(s.p50, name).toBeLessThanOrEqual(s.p95);
      expect(s.p95, name).toBeLessThanOrEqual(s.max);
    }
    // Every page saw every change, and its re-read finished after the message arrived.
    const live = result.liveChange;
    expect(live).toMatchObject({ missed: 0, spareHostTasks: 0 });
    expect(live.changeToMessage.n).toBe(PAGES * CHANGES);
    expect(live.changeToPageRefreshed.n).toBe(PAGES * CHANGES);
    expect(live.changeToPageRefreshed.p50).toBeGreaterThanOrEqual(live.changeToMessage.p50);
    expect(result.control.peakRssMiB).toBeGreaterThan(0);

    const figures: Record<keyof typeof TARGETS, number> = {
      hostsPageP95Ms: result.render.hostsPage.p95,
      servicePageP95Ms: result.render.servicePage.p95,
      changeToOpenPageP95Ms: live.changeToPageRefreshed.p95,
    };
    expect(Object.keys(result.targets).sort()).toEqual(Object.keys(TARGETS).sort());
    for (const [name, limit] of Object.entries(TARGETS) as [keyof typeof TARGETS, number][]) {
      expect(result.targets[name], name).toMatchObject({ value: figures[name], target: limit, kind: "max", met: figures[name] <= limit });
    }
  }, 120_000);
});
