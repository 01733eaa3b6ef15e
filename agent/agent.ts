import { randomBytes } from "node:crypto";
import type { HostFacts, Report } from "../shared/messages.ts";
import { TaskEngine } from "./engine/task-engine.ts";
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
  cleanupWaitMs?: number;
  /** Coalesces bursts of changes into one report. */
  reportDelayMs?: number;
  log?: (line: string) => void;
}

export interface Agent {
  engine: TaskEngine;
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
  let reportTimer: ReturnType<typeof setTimeout> | undefined;

  const sendReport = () => {
    reportTimer = undefined;
    const report: Report = {
      instanceId: opts.instanceId,
      bootId,
      seq: ++seq,
      generation: engine.state.generation,
      sentAt: Date.now(),
      facts: factsSent ? undefined : opts.facts,
      tasks: engine.reportedTasks(),
    };
    if (opts.link.publishReport(report)) factsSent = true;
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
    cleanupWaitMs: opts.cleanupWaitMs,
    log: opts.log,
    onChange: scheduleReport,
  });

  return {
    engine,
    async start() {
      engine.start();
      await opts.link.start({
        onDesired: (d) => {
          if (engine.applyDesired(d)) opts.log?.(`[agent] applied desired generation ${d.generation} (${d.tasks.length} tasks)`);
        },
        onConnected: () => {
          factsSent = false;
          scheduleReport();
        },
      });
    },
    async stop() {
      clearTimeout(reportTimer);
      await engine.stop();
      if (opts.link.connected) sendReport();
      await opts.link.stop();
    },
  };
}
