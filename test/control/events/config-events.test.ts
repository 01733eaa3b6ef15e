import { expect, test } from "bun:test";
import { ConfigError, parseControlConfig } from "../../../control/config.ts";

test("webhook allow-list and event retention come from flags or the environment", () => {
  const d = parseControlConfig([], {});
  expect(d.webhookAllowHosts).toBeUndefined();
  expect(d.eventRetention).toEqual({ maxCount: 100_000, maxAgeMs: 168 * 3600_000 });
  const c = parseControlConfig(["--webhook-allow-hosts", "hooks.example.com, 10.1.2.3", "--event-retention-count", "50"], { FLOTILLA_EVENT_RETENTION_HOURS: "2" });
  expect(c.webhookAllowHosts).toEqual(["hooks.example.com", "10.1.2.3"]);
  expect(c.eventRetention).toEqual({ maxCount: 50, maxAgeMs: 2 * 3600_000 });
  expect(() => parseControlConfig(["--event-retention-count", "0"], {})).toThrow(ConfigError);
  expect(() => parseControlConfig(["--webhook-allow-hosts", "http://x/"], {})).toThrow(/host names/);
});
