import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startTestControl, type TestControl } from "../../helpers/control.ts";
import { Scrape } from "../../helpers/prometheus.ts";
import { waitFor } from "../../helpers/wait.ts";
import { startMosquitto, type Mosquitto } from "../security/mosquitto.ts";

/**
 * flotilla_leader under HA: two control services on one database and one Mosquitto; exactly one
 * says it leads, and when it stops the other takes the lease and says so.
 */
let mq: Mosquitto | undefined;
const controls: TestControl[] = [];
// Shared by both, so neither removes the database under the other when it stops.
const dir = mkdtempSync(join(tmpdir(), "flotilla-leader-metrics-"));
afterAll(async () => {
  for (const c of controls) await c.stop();
  await mq?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const leading = async (c: TestControl) => new Scrape((await c.control.metrics.text()).body).value("flotilla_leader", { ha: "true" });

test("one leader among two HA control services; the other takes over when it stops", async () => {
  mq = await startMosquitto();
  const externalBroker = { url: mq.url, adminUser: mq.adminUser, adminPassword: mq.adminPassword };
  const a = await startTestControl({ dir, extra: { externalBroker, ha: { holderId: "metrics-a", leaseTtlMs: 1000 } } });
  controls.push(a);
  const b = await startTestControl({ dir, extra: { externalBroker, ha: { holderId: "metrics-b", leaseTtlMs: 1000 } } });
  controls.push(b);
  await waitFor("a leader", async () => (await leading(a)) + (await leading(b)) === 1);
  const [leader, follower] = (await leading(a)) === 1 ? [a, b] : [b, a];
  expect(await leading(follower)).toBe(0);
  await leader.stop();
  await waitFor("the other to take the lease", async () => (await leading(follower)) === 1, { timeoutMs: 10_000 });
}, 30_000);
