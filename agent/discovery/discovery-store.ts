import { join } from "node:path";
import { z } from "zod";
import { discoverySetSchema, type DiscoverySet } from "../../shared/discovery.ts";
import { readFileIfExists, writeFileAtomic } from "../store/atomic-file.ts";
import { silentLogger, withComponent, type Logger } from "../../shared/log.ts";

const fileSchema = z.object({ version: z.literal(1), renewedAt: z.number(), set: discoverySetSchema });

export const DEFAULT_STALE_AFTER_MS = 300_000;

export interface DiscoveryStoreOptions {
  /** `{dataDir}/discovery.json`; undefined: memory only. */
  dataDir?: string;
  clusterName: string;
  /** Records not renewed by the control within this long are served with TTL 0. */
  staleAfterMs?: number;
  now?: () => number;
  log?: Logger;
}

/**
 * The last service discovery set the control sent, kept on disk so a restarted agent answers
 * while the control is out of reach. A set not newer than the one held is dropped (a retained
 * copy delivered again, or one from a control process that lost a race); so is one for another
 * cluster. Saves are coalesced: a burst of sets is one write.
 */
export class DiscoveryStore {
  private current: { set: DiscoverySet; renewedAt: number } | null = null;
  private listeners: ((set: DiscoverySet) => void)[] = [];
  private saveTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly path?: string;
  private readonly now: () => number;

  constructor(private opts: DiscoveryStoreOptions) {
    this.now = opts.now ?? Date.now;
    this.path = opts.dataDir ? join(opts.dataDir, "discovery.json") : undefined;
    if (!this.path) return;
    const text = readFileIfExists(this.path);
    if (!text) return;
    try {
      const parsed = fileSchema.safeParse(JSON.parse(text));
      if (parsed.success && parsed.data.set.clusterName === opts.clusterName) this.current = { set: parsed.data.set, renewedAt: parsed.data.renewedAt };
    } catch {
      withComponent(opts.log ?? silentLogger, "dns").warn(`ignoring unreadable ${this.path}`);
    }
  }

  get set(): DiscoverySet | null {
    return this.current?.set ?? null;
  }

  get generation(): number {
    return this.current?.set.generation ?? 0;
  }

  /** True when the records were not renewed within the stale bound (or there are none). */
  stale(): boolean {
    return !this.current || this.now() - this.current.renewedAt > (this.opts.staleAfterMs ?? DEFAULT_STALE_AFTER_MS);
  }

  /** Takes a set if it is newer; true when it did. */
  apply(set: DiscoverySet): boolean {
    if (set.clusterName !== this.opts.clusterName) return false;
    if (this.current && set.generation <= this.current.set.generation) return false;
    this.current = { set, renewedAt: this.now() };
    this.scheduleSave();
    for (const fn of this.listeners) fn(set);
    return true;
  }

  /** Calls fn with every set taken from now on (the ingress proxy follows the records this way). */
  onApplied(fn: (set: DiscoverySet) => void): void {
    this.listeners.push(fn);
  }

  private scheduleSave(): void {
    if (!this.path || this.saveTimer) return;
    this.saveTimer = setTimeout(() => this.flush(), 25);
  }

  /** Writes what is pending now (also at stop). */
  flush(): void {
    clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    if (!this.path || !this.current) return;
    try {
      writeFileAtomic(this.path, JSON.stringify({ version: 1, ...this.current }));
    } catch (e) {
      withComponent(this.opts.log ?? silentLogger, "dns").warn(`saving ${this.path} failed: ${(e as Error).message}`);
    }
  }
}
