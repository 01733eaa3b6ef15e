import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { systemClock } from "../../../control/clock.ts";
import type { Database } from "../../../control/db/open.ts";
import { createSerializer, type OpsContext } from "../../../control/ops/context.ts";
import { createActivation } from "../../../control/ops/activations.ts";
import { createCluster } from "../../../control/ops/clusters.ts";
import { registerContainerInstance } from "../../../control/ops/instances.ts";
import { PlacementIndexCache } from "../../../control/scheduling/index-cache.ts";
import { PlacementStore } from "../../../control/scheduling/placement-store.ts";
import { twoConnections } from "./two-dbs.ts";

let dbs: Awaited<ReturnType<typeof twoConnections>>;
beforeEach(async () => {
  dbs = await twoConnections();
});
afterEach(() => dbs.close());

/** One control process's context: its own connection and its own serializer. */
const processCtx = (d: Database): OpsContext => {
  const placement = PlacementStore.open(d);
  return { db: d.db, clock: systemClock, serialize: createSerializer(), desiredChanged: () => {}, indexes: new PlacementIndexCache(placement, systemClock), placement };
};

const FACTS = { hostname: "h", resources: { cpu: 1024, memory: 1024 }, attributes: {}, versionInfo: { agentVersion: "t", dockerVersion: "t" } };

describe("registration across control processes sharing the database", () => {
  test("an activation's limit holds when another process registers between the check and the write", async () => {
    const a = processCtx(dbs.a);
    await createCluster(a, { clusterName: "c" });
    const act = await createActivation(a, "c", { registrationLimit: 1 });
    // Process b has checked the activation (count 0 < 1) when process a's registration commits.
    let raced = false;
    const b: OpsContext = {
      ...processCtx(dbs.b),
      db: new Proxy(dbs.b.db, {
        get(target, prop, receiver) {
          if (prop !== "transaction") return Reflect.get(target, prop, receiver);
          return async (...args: Parameters<typeof target.transaction>) => {
            if (!raced) {
              raced = true;
              expect((await registerContainerInstance(a, act.activationId, act.activationCode, FACTS)).ok).toBe(true);
            }
            return target.transaction(...args);
          };
        },
      }),
    };
    const late = await registerContainerInstance(b, act.activationId, act.activationCode, FACTS);
    expect(raced).toBe(true);
    expect(late).toEqual({ ok: false, reason: "activation registration limit reached" });
    const count = await dbs.b.client.execute("SELECT registrations_count AS n, (SELECT count(*) FROM container_instances) AS rows FROM activations");
    expect(count.rows[0]).toMatchObject({ n: 1, rows: 1 });
  });
});
