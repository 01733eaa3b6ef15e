import type { PullSummary } from "./types.ts";

/** One event of Docker's pull progress stream (per layer). */
export interface DockerPullEvent {
  id?: string;
  status?: string;
  progressDetail?: { current?: number; total?: number };
}

/**
 * Folds Docker's per-layer pull events into one summary, and tells when it is worth reporting:
 * at most every `minIntervalMs`, so a task's reports are not flooded by a big pull.
 */
export class PullProgress {
  private layers = new Map<string, { done: boolean; current: number; total: number }>();
  private lastEmit = -Infinity;

  constructor(
    private onSummary: (s: PullSummary) => void,
    private minIntervalMs = 2000,
    private now: () => number = Date.now,
  ) {}

  push(e: DockerPullEvent): void {
    if (!e.id || !e.status || e.id === "latest" || e.status.startsWith("Pulling from")) return;
    const l = this.layers.get(e.id) ?? { done: false, current: 0, total: 0 };
    if (e.status === "Downloading" && e.progressDetail?.total) {
      l.current = e.progressDetail.current ?? l.current;
      l.total = e.progressDetail.total;
    }
    if (e.status === "Pull complete" || e.status === "Already exists") {
      l.done = true;
      l.current = l.total;
    }
    this.layers.set(e.id, l);
    const t = this.now();
    if (t - this.lastEmit >= this.minIntervalMs) {
      this.lastEmit = t;
      this.onSummary(this.summary());
    }
  }

  summary(): PullSummary {
    const ls = [...this.layers.values()];
    return {
      layers: ls.length,
      layersDone: ls.filter((l) => l.done).length,
      bytesDone: ls.reduce((a, l) => a + l.current, 0),
      bytesTotal: ls.reduce((a, l) => a + l.total, 0),
    };
  }
}

export function describePull(image: string, s: PullSummary): string {
  const mib = (b: number) => (b / 1024 / 1024).toFixed(1);
  return `Pulling ${image}: ${s.layersDone}/${s.layers} layers, ${mib(s.bytesDone)}/${mib(s.bytesTotal)} MiB`;
}
