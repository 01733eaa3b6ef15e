import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { processMetrics } from "../../shared/process-metrics.ts";
import { FLOTILLA_VERSION } from "../../shared/version.ts";

/** Latency buckets (seconds) for work that should take milliseconds: RunTask, report apply, API calls. */
const FAST_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** MQTT message kinds, by the topic they travel on (architecture.md's topic table). */
export type MqttMessageType = "register" | "register-reply" | "presence" | "report" | "stats" | "response" | "desired" | "request";

/**
 * The control service's Prometheus metrics, in a registry of its own (never prom-client's global
 * one), so several control services in one process (tests, benchmarks) each count only their own.
 * The event counters and histograms live here and are moved where the thing happens (RunTask,
 * report apply, the API, the agent link); gauges of the fleet are computed at scrape time
 * (fleet-gauges.ts), so they can never drift from the database.
 */
export class ControlMetrics {
  readonly registry = new Registry();
  /** Tasks placed (committed to an instance) by RunTask, StartTask and the service scheduler. */
  readonly placements: Counter<"cluster">;
  readonly runTaskDuration: Histogram<"outcome">;
  readonly reportApplyDuration: Histogram;
  readonly reportsApplied: Counter;
  readonly apiRequests: Counter<"method" | "route" | "status">;
  readonly apiRequestDuration: Histogram<"method" | "route" | "status">;
  readonly mqttMessages: Counter<"direction" | "type">;
  /** From a change the scheduler was told of (poke) to the start of the round that acts on it. */
  readonly serviceReconcileLag: Histogram;
  readonly serviceRoundDuration: Histogram;

  constructor(opts: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (opts.processMetrics ?? true) processMetrics(this.registry, "flotilla_control_");
    // Prometheus' build_info convention: a constant 1 whose label says which version answers.
    new Gauge({ name: "flotilla_control_build_info", help: "Always 1; the version label is this control process's Flotilla version.", labelNames: ["version"], registers }).set({ version: FLOTILLA_VERSION }, 1);
    this.placements = new Counter({ name: "flotilla_placements_total", help: "Tasks placed on a container instance (RunTask, StartTask, services).", labelNames: ["cluster"], registers });
    this.runTaskDuration = new Histogram({
      name: "flotilla_run_task_duration_seconds",
      help: "RunTask latency, from the request to its tasks committed (or refused).",
      labelNames: ["outcome"],
      buckets: FAST_BUCKETS,
      registers,
    });
    this.reportApplyDuration = new Histogram({
      name: "flotilla_report_apply_duration_seconds",
      help: "Time to apply one batch of agent reports to the database.",
      buckets: FAST_BUCKETS,
      registers,
    });
    this.reportsApplied = new Counter({ name: "flotilla_reports_applied_total", help: "Agent reports applied.", registers });
    this.apiRequests = new Counter({
      name: "flotilla_api_requests_total",
      help: "HTTP requests by matched route pattern and status.",
      labelNames: ["method", "route", "status"],
      registers,
    });
    this.apiRequestDuration = new Histogram({
      name: "flotilla_api_request_duration_seconds",
      help: "HTTP request latency by matched route pattern and status.",
      labelNames: ["method", "route", "status"],
      buckets: FAST_BUCKETS,
      registers,
    });
    this.mqttMessages = new Counter({
      name: "flotilla_mqtt_messages_total",
      help: "MQTT messages the control received (in) and published (out), by type.",
      labelNames: ["direction", "type"],
      registers,
    });
    this.serviceReconcileLag = new Histogram({
      name: "flotilla_service_reconcile_lag_seconds",
      help: "From a change the service scheduler was told of to the start of the round acting on it.",
      buckets: FAST_BUCKETS,
      registers,
    });
    this.serviceRoundDuration = new Histogram({
      name: "flotilla_service_reconcile_round_duration_seconds",
      help: "Duration of one service scheduler round over every live service.",
      buckets: FAST_BUCKETS,
      registers,
    });
  }

  mqtt(direction: "in" | "out", type: MqttMessageType): void {
    this.mqttMessages.inc({ direction, type });
  }

  /** A gauge whose value(s) are read at scrape time; `collect` sets them (it may be async). */
  scrapeGauge<L extends string>(name: string, help: string, labelNames: readonly L[], collect: (g: Gauge<L>) => void | Promise<void>): Gauge<L> {
    return new Gauge<L>({
      name,
      help,
      labelNames,
      registers: [this.registry],
      async collect() {
        await collect(this);
      },
    });
  }

  /** The Prometheus text exposition of every metric. */
  async text(): Promise<{ body: string; contentType: string }> {
    return { body: await this.registry.metrics(), contentType: this.registry.contentType };
  }
}
