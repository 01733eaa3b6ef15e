/** The event log's retention duty: prunes by count and age now and then (a leader duty under HA). */
import type { OpsContext } from "../scheduling/context.ts";
import { pruneEvents, type EventRetention } from "./log.ts";

export function startEventRetention(ctx: OpsContext, r: EventRetention & { intervalMs: number }, log?: (line: string) => void): () => void {
  const run = () =>
    void ctx
      .serialize(() => pruneEvents(ctx.db, ctx.clock.now(), r))
      .catch((e: Error) => log?.(`[events] pruning failed: ${e.message}`));
  run();
  const timer = setInterval(run, r.intervalMs);
  return () => clearInterval(timer);
}
