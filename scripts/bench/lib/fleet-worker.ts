/**
 * One process of the hollow fleet: many real agents (createAgent + MqttAgentLink + memory state +
 * HollowRuntime) registering through the real activation path. Driven by the parent over Bun IPC.
 *
 *   parent → {cmd:"start", ...FleetWorkerConfig} | {cmd:"stats"} | {cmd:"stop"}
 *   worker → {type:"progress", registered, connected} | {type:"ready", ...} | {type:"stats", ...} | {type:"stopped"} | {type:"error", message}
 */
import type { MqttClient } from "mqtt";
import { createAgent, type Agent } from "../../../agent/agent.ts";
import { MqttAgentLink, type LinkHandlers } from "../../../agent/link/mqtt-link.ts";
import { registerInstance } from "../../../agent/link/register.ts";
import { HollowRuntime, type HollowTimings } from "../../../agent/runtime/hollow.ts";
import { memoryStateStore } from "../../../agent/store/state-file.ts";
import type { HostFacts, Report } from "../../../shared/messages.ts";

export interface FleetWorkerConfig {
  url: string;
  /**
   * One activation per registration slot: the registration client id is derived from the
   * activation, so two registrations with the same activation at once would take over each
   * other's MQTT session.
   */
  activations: { id: string; code: string }[];
  count: number;
  /** Index of this worker's first agent in the fleet (for host names). */
  offset: number;
  /** Registrations in flight at once in this worker. */
  concurrency: number;
  relistIntervalMs: number;
  keepaliveSeconds: number;
  timings: Partial<HollowTimings>;
  image: string;
  /** Record the per-task trace (see TracedLink). */
  trace?: boolean;
}

/**
 * --trace: when each task's desired set reached its agent and when the agent first reported it
 * RUNNING (wall clock, comparable with the control's trace), plus this process's event-loop stalls.
 */
const wallNow = () => performance.timeOrigin + performance.now();
const traced = new Map<string, { desiredReceived?: number; reportSent?: number }>();
const stalls: { stall: number; at: number }[] = [];
let tracing = false;

function startStallWatch(): void {
  let expected = performance.now() + 10;
  setInterval(() => {
    const now = performance.now();
    const late = now - expected;
    if (late > 20 && stalls.length < 50_000) stalls.push({ stall: Math.round(late), at: wallNow() - late });
    expected = now + 10;
  }, 10);
}

/** The real link, with the two moments the trace needs recorded around it. */
class TracedLink extends MqttAgentLink {
  override start(handlers: LinkHandlers): Promise<void> {
    return super.start({
      ...handlers,
      onDesired: (state) => {
        if (tracing) {
          const at = wallNow();
          for (const t of state.tasks) {
            if (t.desiredStatus !== "RUNNING") continue;
            const e = traced.get(t.taskId) ?? {};
            e.desiredReceived ??= at;
            traced.set(t.taskId, e);
          }
        }
        handlers.onDesired(state);
      },
    });
  }

  override publishReport(report: Report): boolean {
    const sent = super.publishReport(report);
    if (tracing && sent) {
      const at = wallNow();
      for (const t of report.tasks) {
        if (t.knownStatus !== "RUNNING") continue;
        const e = traced.get(t.taskId);
        if (e && e.reportSent === undefined) e.reportSent = at;
      }
    }
    return sent;
  }
}

interface FleetAgent {
  agent: Agent;
  link: MqttAgentLink;
  runtime: HollowRuntime;
}

const REGISTRATION_ATTEMPT_MS = 40_000;
const agents: FleetAgent[] = [];
let registered = 0;
let registrationRetries = 0;
const retryReasons = new Set<string>();
let reconnects = 0;
let running = 0;

const send = (m: unknown) => process.send!(m);

function facts(i: number): HostFacts {
  return {
    hostname: `hollow-${i}`,
    resources: { cpu: 2048, memory: 4096 },
    attributes: { "ecs.os-type": "linux", "ecs.cpu-architecture": "x86_64", "bench.zone": `zone-${i % 3}` },
    versionInfo: { agentVersion: "hollow", dockerVersion: "hollow-1" },
  } as HostFacts;
}

async function startOne(cfg: FleetWorkerConfig, i: number, activation: { id: string; code: string }): Promise<void> {
  const f = facts(cfg.offset + i);
  let identity;
  for (let attempt = 0; ; attempt++) {
    try {
      // mqtt's connectAsync can stay pending when the broker drops the socket before CONNACK;
      // bound every attempt so a lost registration is retried like the real agent would.
      identity = await Promise.race([
        registerInstance(cfg.url, activation, f),
        Bun.sleep(REGISTRATION_ATTEMPT_MS).then(() => {
          throw new Error(`registration attempt took over ${REGISTRATION_ATTEMPT_MS} ms`);
        }),
      ]);
      break;
    } catch (e) {
      // The real agent retries for ever; here a registration that keeps failing fails the run.
      if (attempt >= 50) throw e;
      registrationRetries++;
      const why = (e as Error).message;
      if (!retryReasons.has(why) && retryReasons.size < 5) {
        retryReasons.add(why);
        process.stderr.write(`[fleet-worker] registration retry: ${why}\n`);
      }
      await Bun.sleep(200 + Math.random() * 800);
    }
  }
  registered++;
  const runtime = new HollowRuntime({ timings: cfg.timings, cachedImages: [cfg.image] });
  const store = memoryStateStore();
  let lastEpoch = 0;
  const link = new TracedLink({
    url: cfg.url,
    identity,
    keepaliveSeconds: cfg.keepaliveSeconds,
    nextEpoch: () => (lastEpoch = Math.max(Date.now(), lastEpoch + 1)),
  });
  const agent = createAgent({
    runtime,
    link,
    store,
    instanceId: identity.instanceId,
    clusterName: identity.clusterName,
    facts: f,
    imagePullBehavior: "prefer-cached",
    relistIntervalMs: cfg.relistIntervalMs,
  });
  await agent.start();
  agents.push({ agent, link, runtime });
}

function client(a: FleetAgent): MqttClient | undefined {
  return (a.link as unknown as { client?: MqttClient }).client;
}

function stats() {
  let bytesOut = 0;
  let bytesIn = 0;
  let connected = 0;
  running = 0;
  for (const a of agents) {
    const c = client(a);
    const s = (c as unknown as { stream?: { bytesWritten?: number; bytesRead?: number } })?.stream;
    bytesOut += s?.bytesWritten ?? 0;
    bytesIn += s?.bytesRead ?? 0;
    if (a.link.connected) connected++;
    running += a.runtime.running().length;
  }
  const mem = process.memoryUsage();
  return { type: "stats", agents: agents.length, unhandledRejections, registered, connected, bytesOut, bytesIn, reconnects, registrationRetries, running, rssBytes: mem.rss };
}

async function start(cfg: FleetWorkerConfig): Promise<void> {
  if (cfg.trace) {
    tracing = true;
    startStallWatch();
  }
  let next = 0;
  const progress = setInterval(() => send({ type: "progress", registered, connected: agents.filter((a) => a.link.connected).length }), 1000);
  await Promise.all(
    cfg.activations.slice(0, Math.max(1, Math.min(cfg.activations.length, cfg.count))).map(async (activation) => {
      while (next < cfg.count) await startOne(cfg, next++, activation);
    }),
  );
  for (const a of agents) client(a)?.on("reconnect", () => reconnects++);
  clearInterval(progress);
  send({ ...stats(), type: "ready" });
}

process.on("message", (m: { cmd: string } & Partial<FleetWorkerConfig>) => {
  if (m.cmd === "start") {
    start(m as FleetWorkerConfig).catch((e: Error) => send({ type: "error", message: e.stack ?? e.message }));
  } else if (m.cmd === "stats") {
    send(stats());
  } else if (m.cmd === "trace") {
    send({ type: "trace", tasks: Object.fromEntries(traced), stalls });
  } else if (m.cmd === "stop") {
    // Abrupt on purpose: a clean stop of 10k agents would only measure the shutdown.
    send({ type: "stopped" });
    setTimeout(() => process.exit(0), 50);
  }
});
// registerInstance (agent/link/register.ts) leaves its 30 s reply timer armed when the connection
// drops mid-registration, which later rejects with no handler; count those instead of dying.
let unhandledRejections = 0;
process.on("unhandledRejection", (e: Error) => {
  if (unhandledRejections++ < 3) process.stderr.write(`[fleet-worker] unhandled rejection: ${e?.message}\n`);
});
send({ type: "hello" });
