import { describe, expect, test } from "bun:test";
import { startControlWith } from "../control/security/control-with.ts";
import { startMosquitto } from "../control/security/mosquitto.ts";

/**
 * A control service told to stop while its external broker has stopped answering (frozen here
 * with SIGSTOP, as a hung or partitioned broker would be) with a QoS 1 publish in flight: mqtt.js's
 * graceful end would wait for that acknowledgement for ever. The stop gives it a bounded grace
 * (5 s for pending work, then the connection is cut) and returns.
 */
describe("control stop with a broker that stopped answering", () => {
  test("returns although a publish is never acknowledged", async () => {
    const mq = await startMosquitto();
    const tc = await startControlWith({ externalBroker: { url: mq.url, adminUser: mq.adminUser, adminPassword: mq.adminPassword } });
    try {
      process.kill(mq.pid, "SIGSTOP");
      const publish = tc.control.link.clearDesired("instance-that-never-hears-it").then(() => "acknowledged", () => "failed");
      const outcome = await Promise.race([tc.stop().then(() => "stopped"), publish, Bun.sleep(30_000).then(() => "still stopping after 30 s")]);
      expect(outcome).toBe("stopped");
    } finally {
      process.kill(mq.pid, "SIGCONT");
      await tc.stop();
      await mq.stop();
    }
  }, 60_000);
});
