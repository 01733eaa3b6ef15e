import { collectDefaultMetrics, type Registry } from "prom-client";

/**
 * prom-client's process metrics (cpu, resident memory, open fds, event-loop lag, heap totals) in
 * the given registry, under `prefix`. The per-heap-space gauges are left out: under Bun,
 * v8.getHeapSpaceStatistics() walks the heap, 65 ms a scrape for a control holding 50,000 tasks
 * (scripts/bench/metrics-scrape.ts), while the heap totals come cheaply from process.memoryUsage().
 */
export function processMetrics(registry: Registry, prefix: string): void {
  collectDefaultMetrics({ register: registry, prefix });
  for (const kind of ["total", "used", "available"]) registry.removeSingleMetric(`${prefix}nodejs_heap_space_size_${kind}_bytes`);
}
