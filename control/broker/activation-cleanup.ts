import { activationUsable, activationsExpiredBetween } from "../ops/activations.ts";
import type { OpsContext } from "../ops/context.ts";
import type { ExternalBroker } from "./external.ts";
import { withComponent, type Logger } from "../../shared/log.ts";

/**
 * With an external broker, activation credentials live in Mosquitto too. They go when revoked
 * (API), when used up (after a registration) and when expired (this sweep). The control refuses
 * registrations of such activations anyway; this keeps the broker from accepting their logins.
 */
export function startActivationCleanup(ctx: OpsContext, broker: ExternalBroker, logger: Logger, everyMs = 60_000, graceMs = 3_000) {
  const log = withComponent(logger, "broker");
  const pending = new Set<ReturnType<typeof setTimeout>>();
  let last = 0; // first sweep: every activation that ever expired
  const sweep = async () => {
    const now = ctx.clock.now();
    for (const id of await activationsExpiredBetween(ctx, last, now)) await broker.activationGone(id);
    last = now;
  };
  const run = () => void sweep().catch((e: Error) => log.error(`activation sweep failed: ${e.message}`));
  run();
  const timer = setInterval(run, everyMs);
  timer.unref?.();
  return {
    /**
     * After a registration: drop the activation's broker client once it is used up, a little
     * later, so the registering agent (still connected with it) receives its reply first.
     */
    afterRegistration(activationId: string): void {
      const t = setTimeout(() => {
        pending.delete(t);
        void (async () => {
          if (!(await activationUsable(ctx, activationId))) await broker.activationGone(activationId);
        })().catch((e: Error) => log.warn({ activationId }, `could not remove used-up activation ${activationId}: ${e.message}`));
      }, graceMs);
      pending.add(t);
    },
    stop: () => {
      clearInterval(timer);
      for (const t of pending) clearTimeout(t);
    },
  };
}
