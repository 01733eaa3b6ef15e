import { randomBytes } from "node:crypto";
import type { HostFacts, InstanceHealth, Report } from "../shared/messages.ts";
import { TaskEngine } from "./engine/task-engine.ts";
import { LogServer } from "./logs/log-server.ts";
import type { AgentLink } from "./link/mqtt-link.ts";
import type { ContainerRuntime, ImagePullBehavior } from "./runtime/types.ts";
import type { StateStore } from "./store/state-file.ts";

export interface AgentOptions {
  runtime: ContainerRuntime;
  link: AgentLink;
  store: StateStore;
  instanceId: string;
  clusterName: string;
  facts: HostFacts;
  imagePullBehavior?: ImagePullBehavior;
  relistIntervalMs?: number;
  /** Image of the container holding an awsvpc task's network namespace. */
  pauseImage?: string;
  cleanupWaitMs?: number;
  /** Coalesces bursts of changes into one report. */
  reportDelayMs?: number;
  log?: (line: string) => void;
}

export interface Agent {
  engine: TaskEngine;
  logs: LogServer;
  /** Host facts changed: sent with the next report. */
  updateFacts(facts: HostFacts): void;
  /** A health reading worth sending: sent with the next report (and again after reconnecting). */
  updateHealth(health: InstanceHealth): void;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Wires the engine to the link: desired sets in, full known state out. Reports are only sent while
 * connected; on every (re)connection the full state goes out again, so nothing that happened
 * offline is lost and nothing is queued without bound.
 */
export function createAgent(opts: AgentOptions): Agent {
  const bootId = randomBytes(8).toString("hex");
  let seq = 0;
  let factsSent = false;
  let facts = opts.facts;
  let health: InstanceHealth | undefined;
  let healthSent = false;
  let reportTimer: ReturnType<typeof setTimeout> | undefined;
  let leaseTimer: ReturnType<typeof setInterval> | undefined;

  const sendReport = () => {
    reportTimer = undefined;
    const report: Report = {
      instanceId: opts.instanceId,
      bootId,
      seq: ++seq,
      generation: engine.state.generation,
      sentAt: Date.now(),
      facts: factsSent ? undefined : facts,
      health: healthSent ? undefined : health,
      tasks: engine.reportedTasks(),
    };
    if (opts.link.publishReport(report)) factsSent = healthSent = true;
  };
  const scheduleReport = () => {
    reportTimer ??= setTimeout(sendReport, opts.reportDelayMs ?? 20);
  };

  const engine = new TaskEngine({
    runtime: opts.runtime,
    store: opts.store,
    instanceId: opts.instanceId,
    clusterName: opts.clusterName,
    imagePullBehavior: opts.imagePullBehavior,
    relistIntervalMs: opts.relistIntervalMs,
    pauseImage: opts.pauseImage,
    cleanupWaitMs: opts.cleanupWaitMs,
    log: opts.log,
    onChange: scheduleReport,
  });

  const logs = new LogServer({ runtime: opts.runtime, state: () => engine.state, send: (c) => opts.link.publishResponse(c), log: opts.log });

  return {
    engine,
    logs,
    updateFacts(next) {
      facts = next;
      factsSent = false;
      scheduleReport();
    },
    updateHealth(next) {
      health = next;
      healthSent = false;
      scheduleReport();
    },
    async start() {
      engine.start();
      leaseTimer = setInterval(() => logs.expireLeases(), 30_000);
      await opts.link.start({
        onDesired: (d) => {
          if (engine.applyDesired(d)) opts.log?.(`[agent] applied desired generation ${d.generation} (${d.tasks.length} tasks)`);
        },
        onConnected: () => {
          factsSent = false;
          healthSent = false;
          scheduleReport();
        },
        onDisconnected: () => logs.cancelAll(),
        onRequest: (req) => {
          if (req.kind === "cancel") return logs.cancel(req.requestId);
          if (req.kind === "keepalive") return logs.keepalive(req.requestIds);
          void logs.serve(req);
        },
      });
    },
    async stop() {
      clearTimeout(reportTimer);
      clearInterval(leaseTimer);
      logs.cancelAll();
      await engine.stop();
      if (opts.link.connected) sendReport();
      await opts.link.stop();
    },
  };
}
