import { readFileSync, statfsSync } from "node:fs";
import type { HostFacts, InstanceHealth } from "../../shared/messages.ts";
import type { ContainerRuntime, RuntimeInfo } from "../runtime/types.ts";
import { hostFacts } from "./facts.ts";
import { DEFAULT_THRESHOLDS, evaluateHealth, meaningfulChange, parseCpuStat, parseMeminfo, type CpuTimes, type HealthSample, type HealthThresholds } from "./health.ts";
import { silentLogger, withComponent, type Logger } from "../../shared/log.ts";

export interface HostMonitorOptions {
  runtime: ContainerRuntime;
  /** Custom attributes (--attribute) that belong in the refreshed facts. */
  attributes: Record<string, string>;
  /** --advertise-address: first in the refreshed facts' addresses. */
  advertiseAddress?: string;
  /** The host's addresses now (default: read from the system, addresses.ts). */
  addresses?: () => string[];
  /** GPU ids found at start (GPU support on); refreshed facts keep them. */
  gpus?: string[];
  /** The facts sent last (at start: those registered with). */
  initialFacts: HostFacts;
  intervalMs: number;
  thresholds?: Partial<HealthThresholds>;
  /** A new health reading worth sending. */
  onHealth: (health: InstanceHealth) => void;
  /** Host facts changed (memory, cpus, Docker version...). */
  onFacts: (facts: HostFacts) => void;
  /** How long Docker may take to answer before it counts as not answering. */
  runtimeTimeoutMs?: number;
  readFile?: (path: string) => string;
  statfs?: (path: string) => { bavail: number; blocks: number; bsize: number };
  now?: () => number;
  log?: Logger;
}

/**
 * Checks the host every interval: does the container runtime answer, is there disk under its
 * data root, is memory under pressure; measures light metrics; refreshes host facts. Sends only
 * what changed meaningfully, because an edge host's idle uplink budget is tiny.
 */
export class HostMonitor {
  private timer?: ReturnType<typeof setInterval>;
  private prevCpu?: CpuTimes;
  private lastHealth?: InstanceHealth;
  private sentHealth?: InstanceHealth;
  private lastFacts: string;
  private dataRoot?: string;
  private running: Promise<void> | null = null;

  constructor(private opts: HostMonitorOptions) {
    this.lastFacts = JSON.stringify(opts.initialFacts);
  }

  get health(): InstanceHealth | undefined {
    return this.lastHealth;
  }

  start(): void {
    void this.tick();
    this.timer = setInterval(() => void this.tick(), this.opts.intervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  tick(): Promise<void> {
    this.running ??= this.check().finally(() => (this.running = null));
    return this.running;
  }

  private async check(): Promise<void> {
    const now = this.opts.now ?? Date.now;
    const read = this.opts.readFile ?? ((p: string) => readFileSync(p, "utf8"));
    const sample: HealthSample = { at: now() };
    let info: RuntimeInfo | undefined;
    try {
      info = await withTimeout(this.opts.runtime.info(), this.opts.runtimeTimeoutMs ?? 5000);
      this.dataRoot = info.dataRoot ?? this.dataRoot;
    } catch (e) {
      sample.runtimeError = (e as Error).message;
    }
    try {
      sample.cpu = parseCpuStat(read("/proc/stat"));
    } catch {}
    try {
      sample.memory = parseMeminfo(read("/proc/meminfo"));
    } catch {}
    if (this.dataRoot) {
      try {
        const fs = (this.opts.statfs ?? statfsSync)(this.dataRoot);
        sample.disk = { path: this.dataRoot, freeBytes: fs.bavail * fs.bsize, totalBytes: fs.blocks * fs.bsize };
      } catch (e) {
        sample.diskError = `cannot stat ${this.dataRoot}: ${(e as Error).message}`;
      }
    }
    const health = evaluateHealth(sample, this.prevCpu, { ...DEFAULT_THRESHOLDS, ...this.opts.thresholds }, this.lastHealth);
    this.prevCpu = sample.cpu ?? this.prevCpu;
    this.lastHealth = health;
    // Logged when the status or the set of failing checks changes (IMPAIRED by the runtime, then
    // also by the disk, is news to an operator reading the log).
    const impaired = (h: typeof health | undefined) => (h?.details ?? []).filter((d) => d.status === "IMPAIRED").map((d) => d.type).join(",");
    if (health.overallStatus !== this.sentHealth?.overallStatus || impaired(health) !== impaired(this.sentHealth)) {
      withComponent(this.opts.log ?? silentLogger, "host")[health.overallStatus === "IMPAIRED" ? "warn" : "info"](`instance health ${health.overallStatus}${health.overallStatus === "IMPAIRED" ? `: ${health.details.filter((d) => d.status === "IMPAIRED").map((d) => `${d.type} (${d.reason})`).join(", ")}` : ""}`);
    }
    if (meaningfulChange(this.sentHealth, health)) {
      this.sentHealth = health;
      this.opts.onHealth(health);
    }
    if (info) {
      // Addresses change too (DHCP, an interface brought up): they are part of the facts.
      const facts = hostFacts(info, this.opts.attributes, { advertise: this.opts.advertiseAddress, addresses: this.opts.addresses, gpus: this.opts.gpus });
      const key = JSON.stringify(facts);
      if (key !== this.lastFacts) {
        this.lastFacts = key;
        this.opts.onFacts(facts);
      }
    }
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]);
}
