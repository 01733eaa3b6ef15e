import { describe, expect, test } from "bun:test";
import { createLogger, defaultLogFormat, parseLogSettings, REDACTED, withComponent } from "../../shared/log.ts";
import { captureLogs } from "../helpers/log-capture.ts";

describe("the logger (shared/log.ts)", () => {
  test("a line is one JSON object: level, time, component, the ids bound, msg", () => {
    const logs = captureLogs({ component: "agent" });
    const log = logs.log.child({ cluster: "edge", instanceId: "i-1" });
    withComponent(log, "engine").info({ taskId: "t-1" }, "task t-1 RUNNING");
    expect(logs.lines).toHaveLength(1);
    expect(logs.lines[0]).not.toContain("\n");
    const e = JSON.parse(logs.lines[0]!);
    expect(Object.keys(e)).toEqual(["level", "time", "component", "cluster", "instanceId", "taskId", "msg"]);
    expect(e).toMatchObject({ level: "info", component: "engine", cluster: "edge", instanceId: "i-1", taskId: "t-1", msg: "task t-1 RUNNING" });
    expect(new Date(e.time).toISOString()).toBe(e.time);
  });

  test("withComponent replaces the component, never repeats the key, and keeps the ids", () => {
    const logs = captureLogs({ component: "control" });
    const a = withComponent(logs.log.child({ requestId: "r-1" }), "api");
    withComponent(a, "audit").warn("could not record");
    expect(logs.lines[0]!.match(/"component"/g)).toHaveLength(1);
    expect(logs.entries()[0]).toMatchObject({ component: "audit", requestId: "r-1", level: "warn" });
  });

  test("--log-level filters: debug lines are absent at info, present at debug; silent writes nothing", () => {
    for (const [level, expected] of [["info", ["info", "warn"]], ["debug", ["debug", "info", "warn"]], ["warn", ["warn"]], ["silent", []]] as const) {
      const logs = captureLogs({ level });
      logs.log.trace("t");
      logs.log.debug("d");
      logs.log.info("i");
      logs.log.warn("w");
      expect(logs.entries().map((e) => e.level)).toEqual([...expected]);
    }
  });

  test("fields named like credentials are redacted, and so are credential headers", () => {
    const logs = captureLogs();
    logs.log.info(
      { token: "tok-1", password: "pw-1", secret: "s-1", authorization: "Bearer b-1", activationCode: "ac-1", headers: { authorization: "Bearer h-1", cookie: "c-1" }, credentials: "cr-1", secretAccessKey: "sak-1", req: { headers: { authorization: "Bearer rh-1" } } },
      "with credentials",
    );
    const line = logs.lines[0]!;
    for (const v of ["tok-1", "pw-1", "s-1", "b-1", "ac-1", "h-1", "c-1", "cr-1", "sak-1", "rh-1"]) expect(line).not.toContain(v);
    expect(logs.entries()[0]).toMatchObject({ token: REDACTED, headers: { authorization: REDACTED }, credentials: REDACTED, req: { headers: { authorization: REDACTED } } });
  });

  test("the pretty format is one human line per entry: time, level, component, message, then the ids", () => {
    const lines: string[] = [];
    const log = createLogger({ component: "control", format: "pretty", colorize: false, destination: { write: (s) => void lines.push(s) } });
    withComponent(log, "link").child({ instanceId: "i-9" }).warn("instance i-9 disconnected");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] WARN: link: instance i-9 disconnected \{"instanceId":"i-9"\}\n$/);
  });

  test("the format follows the terminal unless --log-format says", () => {
    expect(defaultLogFormat(true)).toBe("pretty");
    expect(defaultLogFormat(false)).toBe("json");
  });

  test("settings: levels and formats are checked, with a readable message", () => {
    const fail = (m: string) => new Error(m);
    expect(parseLogSettings(undefined, undefined, fail)).toEqual({ level: "info", format: undefined });
    expect(parseLogSettings("DEBUG", "pretty", fail)).toEqual({ level: "debug", format: "pretty" });
    expect(() => parseLogSettings("loud", undefined, fail)).toThrow('--log-level must be one of trace, debug, info, warn, error, fatal, silent, got "loud"');
    expect(() => parseLogSettings("info", "xml", fail)).toThrow('--log-format must be json or pretty, got "xml"');
  });
});
