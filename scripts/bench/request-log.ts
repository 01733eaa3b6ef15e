/**
 * What the API's request log costs (issue 16): the same in-process requests (Hono `app.request`,
 * no network) through createApi over a real libSQL file, with the logger at `info` (a JSON line per
 * request, written synchronously to /dev/null through pino's sonic-boom, as to a journald pipe) and
 * at `silent` (the middleware still runs: request id, header, timing; no line). Alternating rounds,
 * so load on a shared machine hits both alike. Prints one JSON object.
 *
 *   bun scripts/bench/request-log.ts [--requests 20000] [--rounds 5]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { createApi } from "../../control/api/app.ts";
import { openDatabase } from "../../control/db/open.ts";
import { createSerializer, type OpsContext } from "../../control/ops/context.ts";
import { ensureAdminToken } from "../../control/ops/tokens.ts";
import { systemClock } from "../../control/clock.ts";
import { PlacementIndexCache } from "../../control/scheduling/index-cache.ts";
import { PlacementStore } from "../../control/scheduling/placement-store.ts";
import { createLogger } from "../../shared/log.ts";
import { benchArgs } from "./lib/args.ts";
import { round } from "./lib/proc-stats.ts";

const args = benchArgs();
const REQUESTS = args.num("requests", 20_000);
const ROUNDS = args.num("rounds", 5);
const TOKEN = "bench-request-log-token";

const dir = mkdtempSync(join(tmpdir(), "flotilla-bench-reqlog-"));
const db = await openDatabase(`file:${join(dir, "flotilla.db")}`);
const placement = PlacementStore.open(db);
const ctx: OpsContext = { db: db.db, clock: systemClock, serialize: createSerializer(), desiredChanged: () => {}, indexes: new PlacementIndexCache(placement, systemClock), placement };
await ensureAdminToken(ctx, TOKEN);
const devNull = pino.destination({ dest: "/dev/null", sync: true });
const apps = {
  info: createApi(ctx, { log: createLogger({ component: "control", level: "info", format: "json", destination: devNull }) }),
  silent: createApi(ctx, { log: createLogger({ component: "control", level: "silent", format: "json", destination: devNull }) }),
};
const headers = { authorization: `Bearer ${TOKEN}` };
await apps.info.request("/v1/clusters", { method: "POST", headers: { ...headers, "content-type": "application/json" }, body: JSON.stringify({ clusterName: "bench" }) });

/** Microseconds per request over REQUESTS sequential calls of `path`. */
async function measure(app: (typeof apps)["info"], path: string): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < REQUESTS; i++) {
    const res = await app.request(path, { headers });
    await res.arrayBuffer();
  }
  return ((performance.now() - t0) * 1000) / REQUESTS;
}

const results: Record<string, { info: number[]; silent: number[] }> = {};
for (const path of ["/healthz", "/v1/clusters/bench"]) {
  results[path] = { info: [], silent: [] };
  await measure(apps.info, path); // warm-up
  for (let r = 0; r < ROUNDS; r++) {
    results[path]!.info.push(await measure(apps.info, path));
    results[path]!.silent.push(await measure(apps.silent, path));
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const out = Object.fromEntries(
  Object.entries(results).map(([path, r]) => {
    const info = median(r.info);
    const silent = median(r.silent);
    return [path, { usPerRequestWithLine: round(info), usPerRequestWithoutLine: round(silent), usPerLine: round(info - silent), requestsPerSecondWithLine: Math.round(1e6 / info) }];
  }),
);
console.log(JSON.stringify({ benchmark: "request-log", config: { requests: REQUESTS, rounds: ROUNDS }, results: out }, null, 2));
placement.close();
db.close();
rmSync(dir, { recursive: true, force: true });
