/**
 * Console benchmark (issue 15): a fleet of hollow agents (real agent code over real MQTT, the
 * in-memory HollowRuntime: lib/fleet-workers.ts) against a separate `bun control/main.ts`, filled
 * with tasks (a service plus standalone RunTask tasks). Measures, through the console's own HTTP
 * paths with a logged-in session:
 *   - server render time of the hosts page and of the service page (request to last byte), p95;
 *   - with N pages open (each an SSE stream of GET /console/events that re-reads its page on a
 *     change it shows, as console.js does), the time from one change (a host drained or activated
 *     through the API) to the message reaching every page, and to each page's re-read finishing.
 * Prints one JSON object. The one host that is drained and activated runs no task (a placement
 * constraint keeps tasks off it), so the change moves nothing.
 *
 *   bun scripts/bench/console.ts [--hosts 1000] [--tasks 10000] [--service-tasks 1000] [--pages 50]
 *                                [--samples 200] [--changes 20] [--workers W]
 */
import { benchArgs, target } from "./lib/args.ts";
import { consoleLogin, OpenPage, timedGet } from "./lib/console-pages.ts";
import { BENCH_TOKEN, prepareCluster, registerTaskDefinition, startControlProcess, type ControlProcess } from "./lib/control-process.ts";
import { FleetWorkers } from "./lib/fleet-workers.ts";
import { percentile, summary } from "./lib/percentiles.ts";
import { MiB, round, sampleProcess } from "./lib/proc-stats.ts";

const args = benchArgs();
const HOSTS = args.num("hosts", 1000);
const TASKS = args.num("tasks", 10_000);
const SERVICE_TASKS = Math.min(TASKS, args.num("service-tasks", 1000));
const PAGES = args.num("pages", 50);
const SAMPLES = args.num("samples", 200);
const CHANGES = args.num("changes", 20);
const WORKERS = args.num("workers", Math.max(1, Math.min(4, Math.ceil(HOSTS / 1000))));
const REG_CONCURRENCY = 32;
const CLUSTER = "console-bench";
const SERVICE = "bench-svc";
const IMAGE = "flotilla/hollow:bench";
/** Keeps every task off the host the benchmark drains and activates. */
const NOT_SPARE = [{ type: "memberOf", expression: "attribute:bench.role != spare" }];
const TARGETS = { hostsPageP95Ms: 100, servicePageP95Ms: 100, changeToOpenPageP95Ms: 1000 };

const log = (line: string) => process.stderr.write(`[console-bench] ${line}\n`);

async function waitUntil<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number, intervalMs = 500): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(intervalMs);
  }
}

const p95 = (values: number[]) => round(percentile(values, 95), 1);
const stats = (values: number[]) => ({ ...summary(values), p95: p95(values) });

async function must(control: ControlProcess, method: string, path: string, body?: unknown) {
  const r = await control.api(method, path, body);
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

async function main() {
  const control = await startControlProcess({ log: process.env.BENCH_CONTROL_LOG === "1" });
  const workers = new FleetWorkers(WORKERS);
  const result: Record<string, unknown> = {
    benchmark: "console",
    config: { hosts: HOSTS, tasks: TASKS, serviceTasks: SERVICE_TASKS, pages: PAGES, samples: SAMPLES, changes: CHANGES, workers: WORKERS },
  };
  const pages: OpenPage[] = [];
  try {
    // ---- the fleet ----
    const slots = WORKERS * REG_CONCURRENCY;
    const activations: { id: string; code: string }[] = [];
    for (let i = 0; i < slots; i++) {
      const a = await prepareCluster(control, CLUSTER, Math.ceil(HOSTS / slots) * 2 + 10);
      activations.push({ id: a.activationId, code: a.activationCode });
    }
    const t0 = performance.now();
    await workers.start(HOSTS, { url: control.mqttUrl, activations, concurrency: REG_CONCURRENCY, relistIntervalMs: 10_000, keepaliveSeconds: 10, timings: { startLatencyMs: 5 }, image: IMAGE });
    const instances = await waitUntil(
      "the control to see every host connected",
      async () => {
        const list = (await must(control, "GET", `/v1/clusters/${CLUSTER}/container-instances`)).containerInstances as { containerInstanceArn: string; containerInstanceId: string; agentConnected: boolean }[];
        return list.filter((i) => i.agentConnected).length >= HOSTS ? list : undefined;
      },
      600_000,
    );
    const registerMs = performance.now() - t0;
    log(`${HOSTS} hosts connected after ${Math.round(registerMs)} ms`);
    const spare = instances[0]!;
    await must(control, "PUT", `/v1/clusters/${CLUSTER}/attributes`, { attributes: [{ name: "bench.role", value: "spare", targetId: spare.containerInstanceArn }] });

    // ---- the tasks: one service, the rest standalone ----
    const taskDefinition = await registerTaskDefinition(control, { family: "console-bench", containerDefinitions: [{ name: "app", image: IMAGE, memory: 16, cpu: 8, essential: true }] });
    const f0 = performance.now();
    await must(control, "POST", `/v1/clusters/${CLUSTER}/services`, { serviceName: SERVICE, taskDefinition, desiredCount: SERVICE_TASKS, placementConstraints: NOT_SPARE });
    let placed = 0;
    const failures: string[] = [];
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (placed < TASKS - SERVICE_TASKS) {
          const count = Math.min(10, TASKS - SERVICE_TASKS - placed);
          placed += count;
          const r = await must(control, "POST", `/v1/clusters/${CLUSTER}/tasks`, { taskDefinition, count, startedBy: "console-bench", placementConstraints: NOT_SPARE });
          for (const f of r.failures ?? []) failures.push(f.reason);
        }
      }),
    );
    if (failures.length) throw new Error(`RunTask failures: ${failures.slice(0, 5).join(", ")} (${failures.length})`);
    await waitUntil("every task RUNNING", async () => ((await must(control, "GET", `/v1/clusters/${CLUSTER}`)).cluster.runningTasksCount >= TASKS ? true : undefined), 600_000, 1000);
    const fillMs = performance.now() - f0;
    log(`${TASKS} tasks RUNNING after ${Math.round(fillMs)} ms`);
    result.setup = { registerMs: Math.round(registerMs), tasksRunningMs: Math.round(fillMs) };

    // ---- server render, one page at a time ----
    const cookie = await consoleLogin(control.httpUrl, BENCH_TOKEN);
    const hostsPath = `/console/clusters/${CLUSTER}/hosts`;
    const servicePath = `/console/clusters/${CLUSTER}/services/${SERVICE}`;
    const render = async (path: string) => {
      for (let i = 0; i < 3; i++) await timedGet(control.httpUrl + path, cookie); // warm caches and JIT
      const ms: number[] = [];
      for (let i = 0; i < SAMPLES; i++) ms.push(await timedGet(control.httpUrl + path, cookie));
      return stats(ms);
    };
    result.render = { hostsPage: await render(hostsPath), servicePage: await render(servicePath) };
    log(`render: ${JSON.stringify(result.render)}`);

    // ---- one change reaching N open pages ----
    for (let i = 0; i < PAGES; i++) pages.push(new OpenPage(control.httpUrl, hostsPath, cookie, ["instance", "tasks"]));
    await waitUntil("every page's event stream to open", async () => (pages.every((p) => p.hello) ? true : undefined), 60_000, 100);
    // A quiet start: no message for 2 s (late reports of the fill would otherwise count as the change).
    await waitUntil(
      "the open pages to fall quiet",
      async () => {
        for (const p of pages) p.reset();
        await Bun.sleep(2000);
        return pages.every((p) => p.seen.length === 0) ? true : undefined;
      },
      60_000,
      0,
    );
    const toEvent: number[] = [];
    const toRefreshed: number[] = [];
    let missed = 0;
    for (let n = 0; n < CHANGES; n++) {
      for (const p of pages) p.reset();
      const sent = performance.now();
      await must(control, "PATCH", `/v1/clusters/${CLUSTER}/container-instances/${spare.containerInstanceId}`, { status: n % 2 === 0 ? "DRAINING" : "ACTIVE" });
      const arrived = await waitUntil(
        "every open page to show the change",
        async () => (pages.every((p) => p.seen.some((s) => s.kinds.includes("instance") && s.refreshedAt !== undefined)) ? true : undefined),
        10_000,
        10,
      ).catch(() => false);
      for (const p of pages) {
        const s = p.seen.find((x) => x.kinds.includes("instance"));
        if (!s || s.refreshedAt === undefined) {
          missed++;
          continue;
        }
        toEvent.push(s.eventAt - sent);
        toRefreshed.push(s.refreshedAt - sent);
      }
      if (!arrived) log(`change ${n}: not every page showed it within 10 s`);
      // A page hears at most one message a second: space the changes past that.
      await Bun.sleep(Math.max(0, sent + 1500 - performance.now()));
    }
    // The drained host ran nothing, so the changes moved no task (and made no other churn).
    const spareHostTasks = ((await must(control, "GET", `/v1/clusters/${CLUSTER}/tasks?containerInstance=${spare.containerInstanceId}`)).tasks as unknown[]).length;
    result.liveChange = { changeToMessage: stats(toEvent), changeToPageRefreshed: stats(toRefreshed), missed, spareHostTasks };
    log(`live: ${JSON.stringify(result.liveChange)}`);

    result.control = { rssMiB: round(sampleProcess(control.pid).rssBytes / MiB), peakRssMiB: round(sampleProcess(control.pid).peakRssBytes / MiB) };
    const render_ = result.render as { hostsPage: { p95: number }; servicePage: { p95: number } };
    result.targets = {
      hostsPageP95Ms: target(render_.hostsPage.p95, TARGETS.hostsPageP95Ms),
      servicePageP95Ms: target(render_.servicePage.p95, TARGETS.servicePageP95Ms),
      changeToOpenPageP95Ms: target(p95(toRefreshed), TARGETS.changeToOpenPageP95Ms),
    };
    const notable = control.notable();
    if (notable.length) result.controlNotableLog = notable.slice(0, 10);
  } catch (e) {
    result.error = (e as Error).message;
  } finally {
    const s0 = performance.now();
    await Promise.all(pages.map((p) => p.close()));
    await workers.stop();
    const s1 = performance.now();
    await control.stop();
    log(`stopped: workers ${Math.round(s1 - s0)} ms, control ${Math.round(performance.now() - s1)} ms`);
  }
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  // Idle keep-alive sockets of the page reads would hold the process open for a while.
  process.exit(result.error ? 1 : 0);
}

await main();
