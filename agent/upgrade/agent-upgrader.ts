import type { KeyObject } from "node:crypto";
import type { AgentUpdate, UpgradeRequest } from "../../shared/messages.ts";
import { silentLogger, withComponent, type Logger } from "../../shared/log.ts";
import { stagedPath, swapInStaged } from "./binary-swap.ts";
import { downloadRelease } from "./release-download.ts";
import { readUpgradeMarker, writeUpgradeMarker, type UpgradeMarker } from "./upgrade-marker.ts";

export interface AgentUpgraderOptions {
  dataDir: string;
  /** The running executable; undefined when the agent is not a compiled binary (bun agent/main.ts). */
  binary?: string;
  version: string;
  /** Trusted release public keys (--release-public-key); empty: every upgrade is refused. */
  keys: KeyObject[];
  /** How long a new binary has to connect before the old one is put back. */
  deadlineMs: number;
  /** The status changed: report it. */
  onStatus(): void;
  /** Stops the agent (containers keep running) and executes `binary` in this process's place. */
  reexec(binary: string): Promise<void>;
  now?: () => number;
  log?: Logger;
  fetch?: typeof fetch;
}

/**
 * Carries out an upgrade command: STAGING (download, verify) → STAGED → UPDATING (swap, re-exec;
 * the marker carries the state into the new process) → UPDATED once the new binary connects.
 * Any refusal is FAILED with its reason, and the running binary stays as it was.
 */
export class AgentUpgrader {
  private transient?: AgentUpdate;
  private busy = false;
  private readonly log: Logger;
  /** The marker as this process last read or wrote it (every report asks: no file read each time). */
  private marker: UpgradeMarker | null;

  constructor(private opts: AgentUpgraderOptions) {
    this.log = withComponent(opts.log ?? silentLogger, "upgrade");
    this.marker = readUpgradeMarker(opts.dataDir);
  }

  private saveMarker(marker: UpgradeMarker) {
    writeUpgradeMarker(this.opts.dataDir, marker);
    this.marker = marker;
  }

  /** What the reports say: the command under way, else the last upgrade's outcome. */
  status(): AgentUpdate | undefined {
    if (this.transient) return this.transient;
    const m = this.marker;
    return m ? { status: m.status, version: m.version, ...(m.reason ? { reason: m.reason } : {}) } : undefined;
  }

  /** The link came up: a binary on trial is confirmed. */
  connected(): void {
    const m = this.marker;
    if (!m || m.status !== "UPDATING" || m.version !== this.opts.version) return;
    this.saveMarker({ ...m, status: "UPDATED" });
    this.log.info(`agent ${m.version} connected: upgrade from ${m.previousVersion} confirmed`);
    this.opts.onStatus();
  }

  async handle(req: UpgradeRequest): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      await this.run(req);
    } catch (e) {
      this.set({ status: "FAILED", version: req.version, reason: (e as Error).message });
      this.log.warn(`upgrade to ${req.version} refused: ${(e as Error).message}; keeping agent ${this.opts.version}`);
    } finally {
      this.busy = false;
    }
  }

  private async run(req: UpgradeRequest): Promise<void> {
    const { binary, version } = this.opts;
    if (req.version === version) return this.set({ status: "UPDATED", version });
    if (!binary) throw new Error("the agent is not running as a compiled binary (bun agent/main.ts); upgrade it by hand");
    if (this.opts.keys.length === 0) throw new Error("the agent has no --release-public-key to verify releases with");
    this.set({ status: "STAGING", version: req.version });
    this.log.info(`downloading agent ${req.version}`);
    await downloadRelease(req, stagedPath(binary), this.opts.keys, this.opts.fetch);
    this.set({ status: "STAGED", version: req.version });
    const now = this.opts.now ?? Date.now;
    this.saveMarker({ status: "UPDATING", version: req.version, previousVersion: version, binary, startedAt: now(), deadlineMs: this.opts.deadlineMs });
    swapInStaged(binary);
    this.set({ status: "UPDATING", version: req.version });
    this.log.info(`agent ${req.version} verified and in place; re-executing (containers keep running)`);
    await this.opts.reexec(binary);
  }

  private set(update: AgentUpdate) {
    this.transient = update.status === "UPDATING" ? undefined : update;
    this.opts.onStatus();
  }
}
