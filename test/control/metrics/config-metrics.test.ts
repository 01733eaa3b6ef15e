import { expect, test } from "bun:test";
import { CONTROL_HELP, ConfigError, parseControlConfig } from "../../../control/config.ts";

test("--metrics-listen: 127.0.0.1:9464 by default, HOST:PORT from the flag or FLOTILLA_METRICS_LISTEN, off for none", () => {
  expect(parseControlConfig([], {}).metricsListen).toEqual({ host: "127.0.0.1", port: 9464 });
  expect(parseControlConfig(["--metrics-listen", "0.0.0.0:9100"], {}).metricsListen).toEqual({ host: "0.0.0.0", port: 9100 });
  expect(parseControlConfig([], { FLOTILLA_METRICS_LISTEN: "[::1]:0" }).metricsListen).toEqual({ host: "::1", port: 0 });
  expect(parseControlConfig(["--metrics-listen", "off"], { FLOTILLA_METRICS_LISTEN: "127.0.0.1:1" }).metricsListen).toBeUndefined();
  expect(() => parseControlConfig(["--metrics-listen", "9464"], {})).toThrow(ConfigError);
  expect(() => parseControlConfig(["--metrics-listen", "localhost:70000"], {})).toThrow(/--metrics-listen must be a port number/);
  expect(CONTROL_HELP).toContain("--metrics-listen HOST:PORT");
});
