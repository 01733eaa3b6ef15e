/** The event log's retention duty: prunes by count and age now and then (a leader duty under HA). */
import type { OpsContext } from "../scheduling/context.ts";
import { pruneEvents, type EventRetention } from "./log.ts";
import { silentLogger, withComponent, type Logger } from "../../shared/log.ts";

export function startEventRetention(ctx: OpsContext, r: EventRetention & { intervalMs: number }, logger: Logger = silentLogger): () => void {
  const log = withComponent(logger, "events");
  const run = () =>
    void ctx
      .serialize(() => pruneEvents(ctx.db, ctx.clock.now(), r))
      .catch((e: Error) => log.error(`pruning failed: ${e.message}`));
  run();
  const timer = setInterval(run, r.intervalMs);
  return () => clearInterval(timer);
}
