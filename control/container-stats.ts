import type { StatsMessage } from "../shared/messages.ts";

/**
 * Recent container cpu and memory use as the agents sample it (agent/engine/stats-sampler.ts), in
 * memory per control process: the last `samples` readings of every running container, by the
 * instance that sent them. Nothing is stored in the database: a sample is worth something for a
 * few minutes, and each control process (under HA, each one) hears every agent's samples itself.
 *
 * Keyed by instance: a message names only task ids, and the topic names the instance (the broker
 * binds it to the sender's credential). Readers ask for a task on the instance the task row says it
 * runs on, so an agent naming another host's task fills a slot nobody reads, and each instance holds
 * at most what its latest message carried (a task missing from it no longer runs there).
 */

/** One reading: cpu in CPU units (1024 = one CPU; null: unknown), memory in bytes, sampled at (agent clock, ms). */
export interface UsageSample {
  at: number;
  cpuUnits: number | null;
  memoryBytes: number;
}

/** A container's recent readings, newest last. */
export interface ContainerUsageHistory {
  name: string;
  samples: UsageSample[];
}

/** One line of containerStatsSnapshot(): a container's latest reading. */
export interface ContainerStatsEntry extends UsageSample {
  instanceId: string;
  taskId: string;
  container: string;
}

export interface ContainerStatsOptions {
  /** Readings kept per container (ring buffer). */
  samples?: number;
  /** An instance not heard from for this long has its readings dropped (it stopped sampling or went away). */
  maxAgeMs?: number;
  now?: () => number;
}

export const DEFAULT_STATS_SAMPLES = 10;
export const DEFAULT_STATS_MAX_AGE_MS = 5 * 60_000;
const FIELDS = 3;

/** Fixed-size ring of (at, cpu, memory) triples in one typed array: 10,000 hosts × 5 tasks stay a few MB. */
class UsageRing {
  private readonly data: Float64Array;
  private head = 0;
  private count = 0;

  constructor(private readonly size: number) {
    this.data = new Float64Array(size * FIELDS);
  }

  push(at: number, cpuUnits: number | null, memoryBytes: number): void {
    const i = this.head * FIELDS;
    this.data[i] = at;
    this.data[i + 1] = cpuUnits ?? Number.NaN;
    this.data[i + 2] = memoryBytes;
    this.head = (this.head + 1) % this.size;
    this.count = Math.min(this.count + 1, this.size);
  }

  /** Oldest first. */
  samples(): UsageSample[] {
    const out: UsageSample[] = [];
    for (let k = this.count; k > 0; k--) out.push(this.at((this.head - k + this.size) % this.size));
    return out;
  }

  latest(): UsageSample | undefined {
    return this.count ? this.at((this.head - 1 + this.size) % this.size) : undefined;
  }

  private at(slot: number): UsageSample {
    const i = slot * FIELDS;
    const cpu = this.data[i + 1]!;
    return { at: this.data[i]!, cpuUnits: Number.isNaN(cpu) ? null : cpu, memoryBytes: this.data[i + 2]! };
  }
}

interface InstanceStats {
  receivedAt: number;
  tasks: Map<string, Map<string, UsageRing>>;
}

export class ContainerStatsStore {
  private readonly instances = new Map<string, InstanceStats>();
  private readonly size: number;
  private readonly maxAgeMs: number;
  private readonly now: () => number;
  private lastSweep = 0;
  /** Messages applied (for benchmarks and /metrics). */
  applied = 0;

  constructor(opts: ContainerStatsOptions = {}) {
    this.size = Math.max(1, opts.samples ?? DEFAULT_STATS_SAMPLES);
    this.maxAgeMs = opts.maxAgeMs ?? DEFAULT_STATS_MAX_AGE_MS;
    this.now = opts.now ?? Date.now;
  }

  /** Applies one agent's sample: its tasks' readings are appended, its tasks not in it are dropped. */
  apply(instanceId: string, message: StatsMessage): void {
    const now = this.now();
    this.applied++;
    let inst = this.instances.get(instanceId);
    if (!inst) this.instances.set(instanceId, (inst = { receivedAt: now, tasks: new Map() }));
    inst.receivedAt = now;
    const next = new Map<string, Map<string, UsageRing>>();
    for (const [taskId, containers] of Object.entries(message.tasks)) {
      const before = inst.tasks.get(taskId);
      const rings = new Map<string, UsageRing>();
      for (const [name, [cpu, memory]] of Object.entries(containers)) {
        const ring = before?.get(name) ?? new UsageRing(this.size);
        ring.push(message.at, cpu, memory);
        rings.set(name, ring);
      }
      next.set(taskId, rings);
    }
    inst.tasks = next;
    if (!next.size) this.instances.delete(instanceId);
    if (now - this.lastSweep > this.maxAgeMs / 4) this.sweep(now);
  }

  /** Forgets an instance's readings (deregistered, or its agent went offline). */
  forgetInstance(instanceId: string): void {
    this.instances.delete(instanceId);
  }

  /** A task's containers' recent readings, or undefined when none are fresh. */
  task(instanceId: string | null | undefined, taskId: string): ContainerUsageHistory[] | undefined {
    if (!instanceId) return undefined;
    const inst = this.fresh(instanceId);
    const rings = inst?.tasks.get(taskId);
    if (!rings) return undefined;
    return [...rings].map(([name, ring]) => ({ name, samples: ring.samples() }));
  }

  /** The latest reading of every container on every instance heard from recently (for /metrics). */
  snapshot(): ContainerStatsEntry[] {
    const out: ContainerStatsEntry[] = [];
    const now = this.now();
    for (const [instanceId, inst] of this.instances) {
      if (now - inst.receivedAt > this.maxAgeMs) continue;
      for (const [taskId, rings] of inst.tasks) {
        for (const [container, ring] of rings) {
          const last = ring.latest();
          if (last) out.push({ instanceId, taskId, container, ...last });
        }
      }
    }
    return out;
  }

  /** Instances with readings (memory bound checks). */
  get instanceCount(): number {
    return this.instances.size;
  }

  private fresh(instanceId: string): InstanceStats | undefined {
    const inst = this.instances.get(instanceId);
    return inst && this.now() - inst.receivedAt <= this.maxAgeMs ? inst : undefined;
  }

  private sweep(now: number): void {
    this.lastSweep = now;
    for (const [id, inst] of this.instances) if (now - inst.receivedAt > this.maxAgeMs) this.instances.delete(id);
  }
}

/**
 * The latest reading of every container this control process holds, for a metrics exporter
 * (`/metrics`: cpu units and memory bytes by task and container). Read only.
 */
export function containerStatsSnapshot(store: ContainerStatsStore): ContainerStatsEntry[] {
  return store.snapshot();
}
