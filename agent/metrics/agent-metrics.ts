import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { processMetrics } from "../../shared/process-metrics.ts";
import type { ReadonlyAgentState } from "../store/state-file.ts";

/** Docker calls are milliseconds to seconds; pulls seconds to minutes. */
const CALL_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const PULL_BUCKETS = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

/**
 * The agent's Prometheus metrics (GET /metrics on the introspection port), in a registry of its
 * own so several agents in one process (tests) each count only their own. Counters are moved
 * where the thing happens (the runtime wrapper, the link handlers); the container and generation
 * gauges are read from the agent's state at scrape time.
 */
export class AgentMetrics {
  readonly registry = new Registry();
  readonly dockerCallDuration: Histogram<"call">;
  readonly dockerCallErrors: Counter<"call" | "kind">;
  readonly imagePullDuration: Histogram<"outcome">;
  readonly imagePullBytes: Counter;
  readonly linkConnected: Gauge;
  readonly linkReconnects: Counter;
  readonly restarts: Counter<"link">;
  private readonly generations: Gauge<"source">;
  private readonly generationLag: Gauge;
  private connects = 0;
  private received = 0;
  private reported = 0;
  private state: () => ReadonlyAgentState | undefined = () => undefined;

  constructor(opts: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (opts.processMetrics ?? true) processMetrics(this.registry, "flotilla_agent_");
    this.dockerCallDuration = new Histogram({
      name: "flotilla_agent_docker_call_duration_seconds",
      help: "Container runtime (Docker Engine API) call latency, by call.",
      labelNames: ["call"],
      buckets: CALL_BUCKETS,
      registers,
    });
    this.dockerCallErrors = new Counter({
      name: "flotilla_agent_docker_call_errors_total",
      help: "Container runtime calls that failed, by call and error kind (ECS error class).",
      labelNames: ["call", "kind"],
      registers,
    });
    this.imagePullDuration = new Histogram({
      name: "flotilla_agent_image_pull_duration_seconds",
      help: "Time to make a task's image available: pulled (the engine did not have it), cached, or error.",
      labelNames: ["outcome"],
      buckets: PULL_BUCKETS,
      registers,
    });
    this.imagePullBytes = new Counter({ name: "flotilla_agent_image_pull_bytes_total", help: "Image layer bytes downloaded by pulls.", registers });
    this.linkConnected = new Gauge({ name: "flotilla_agent_link_connected", help: "1 while the MQTT link to the control service is up.", registers });
    this.linkReconnects = new Counter({ name: "flotilla_agent_link_reconnects_total", help: "MQTT link connections after the first one.", registers });
    this.restarts = new Counter({
      name: "flotilla_agent_container_restarts_total",
      help: "Containers restarted in place by their restartPolicy, by whether the link was up (disconnected: applied offline).",
      labelNames: ["link"],
      registers,
    });
    const self = this;
    this.generations = new Gauge({
      name: "flotilla_agent_desired_generation",
      help: "Desired-state generation: the newest received, the one the engine holds (applied), the newest reported to the control.",
      labelNames: ["source"],
      registers,
      collect() {
        this.set({ source: "received" }, self.received);
        this.set({ source: "applied" }, self.state()?.generation ?? 0);
        this.set({ source: "reported" }, self.reported);
      },
    });
    this.generationLag = new Gauge({
      name: "flotilla_agent_desired_generation_lag",
      help: "Newest desired generation received minus the newest the control has been told (reported): changes not yet acknowledged.",
      registers,
      collect() {
        this.set(Math.max(0, self.received - self.reported));
      },
    });
    new Gauge({
      name: "flotilla_agent_containers",
      help: "The agent's containers by known status.",
      labelNames: ["state"],
      registers,
      collect() {
        this.reset();
        for (const t of Object.values(self.state()?.tasks ?? {})) for (const c of t.containers) this.inc({ state: c.knownStatus });
      },
    });
    new Gauge({
      name: "flotilla_agent_tasks",
      help: "The agent's tasks by known status.",
      labelNames: ["state"],
      registers,
      collect() {
        this.reset();
        for (const t of Object.values(self.state()?.tasks ?? {})) this.inc({ state: t.knownStatus });
      },
    });
    this.linkConnected.set(0);
  }

  /** Where the scrape-time gauges read the agent's state. */
  observeState(state: () => ReadonlyAgentState): void {
    this.state = state;
  }

  linkUp(): void {
    if (this.connects++ > 0) this.linkReconnects.inc();
    this.linkConnected.set(1);
  }

  linkDown(): void {
    this.linkConnected.set(0);
  }

  desiredReceived(generation: number): void {
    this.received = Math.max(this.received, generation);
  }

  reportSent(generation: number): void {
    this.reported = Math.max(this.reported, generation);
  }

  containerRestarted(linkConnected: boolean): void {
    this.restarts.inc({ link: linkConnected ? "connected" : "disconnected" });
  }

  async text(): Promise<{ body: string; contentType: string }> {
    return { body: await this.registry.metrics(), contentType: this.registry.contentType };
  }
}
