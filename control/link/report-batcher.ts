import type { Report } from "../../shared/messages.ts";
import type { OpsContext } from "../ops/context.ts";
import { applyReports, type ReportOutcome } from "../ops/reports.ts";

interface Queued {
  instanceId: string;
  report: Report;
  resolve(o: ReportOutcome): void;
  reject(e: unknown): void;
}

/** Largest burst applied in one go (it holds the serialized section that long). */
const MAX_BATCH = 500;

/**
 * Applies agent reports in bursts (ops/reports.ts applyReports): reports that arrive while a burst
 * is being applied wait and go together in the next one, so under load the batches grow by
 * themselves and when idle a report is applied on the next turn of the event loop. Reports are
 * applied in arrival order. Should a burst fail, its reports are applied one by one, so one bad
 * report only fails itself.
 */
export class ReportBatcher {
  private queue: Queued[] = [];
  private draining: Promise<void> | null = null;

  constructor(private ctx: OpsContext) {}

  apply(instanceId: string, report: Report): Promise<ReportOutcome> {
    return new Promise((resolve, reject) => {
      this.queue.push({ instanceId, report, resolve, reject });
      this.draining ??= new Promise<void>((r) => setImmediate(r)).then(() => this.drain());
    });
  }

  /** Resolves once every report queued so far has been applied (or failed). */
  async idle(): Promise<void> {
    while (this.draining) await this.draining;
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length) {
        const batch = this.queue.splice(0, MAX_BATCH);
        try {
          const outcomes = await applyReports(this.ctx, batch);
          batch.forEach((q, i) => q.resolve(outcomes[i]!));
        } catch {
          for (const q of batch) {
            await applyReports(this.ctx, [q]).then(
              ([o]) => q.resolve(o!),
              (e) => q.reject(e),
            );
          }
        }
      }
    } finally {
      this.draining = null;
    }
  }
}
