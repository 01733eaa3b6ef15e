import { and, eq, gt } from "drizzle-orm";
import { createHash } from "node:crypto";
import type { TaskRow } from "../db/rows.ts";
import { perDatabase } from "../db/per-database.ts";
import { tasks } from "../db/schema.ts";
import type { OpsContext } from "./context.ts";
import { invalid } from "./errors.ts";

/** How long a RunTask clientToken is honoured: a retry within it returns the first call's tasks. */
export const CLIENT_TOKEN_TTL_MS = 24 * 60 * 60 * 1000;

/** Calls still running, per database and `cluster\0token`: a concurrent retry waits for the first. */
const inFlight = perDatabase(() => new Map<string, { request: string; done: Promise<Launched> }>());

/** What a launch answers: its tasks and why others were not started (ECS's failures[]). */
export interface Launched {
  tasks: TaskRow[];
  failures: { arn?: string; reason: string; detail?: string }[];
}

/** The digest a token is bound to: the whole request as parsed (key order is the schema's). */
export function requestDigest(cluster: string, request: unknown): string {
  return createHash("sha256").update(JSON.stringify([cluster, request])).digest("base64url");
}

const mismatch = () =>
  invalid("clientToken: already used with a different request", [{ path: "clientToken", message: "already used with a different request" }]);

/**
 * RunTask idempotency. The first call with a token launches (`launch`, whose tasks carry the token
 * and digest); a later call with the same token and the same request gets those tasks back and
 * launches nothing, whether the first is still running (in this process) or done (its rows, for
 * CLIENT_TOKEN_TTL_MS). The same token with another request is refused. A first call that placed
 * no task left nothing to return, so a retry launches again.
 */
export async function onceForToken(
  ctx: OpsContext,
  cluster: string,
  token: string,
  request: string,
  launch: () => Promise<Launched>,
): Promise<Launched> {
  const key = `${cluster}\0${token}`;
  const running = inFlight(ctx.db).get(key);
  if (running) {
    if (running.request !== request) throw mismatch();
    // The first call's failures were its answer; a repeat gets only what was started.
    return { tasks: (await running.done).tasks, failures: [] };
  }
  const done = (async (): Promise<Launched> => {
    const since = ctx.clock.now() - CLIENT_TOKEN_TTL_MS;
    const prior = await ctx.db
      .select()
      .from(tasks)
      .where(and(eq(tasks.clusterName, cluster), eq(tasks.clientToken, token), gt(tasks.createdAt, since)))
      .all();
    if (prior.length > 0) {
      if (prior[0]!.clientRequest !== request) throw mismatch();
      return { tasks: prior, failures: [] };
    }
    return launch();
  })();
  inFlight(ctx.db).set(key, { request, done });
  try {
    return await done;
  } finally {
    inFlight(ctx.db).delete(key);
  }
}
