import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { ConfigError as AgentConfigError, parseAgentConfig } from "../../agent/config.ts";
import { ConfigError, parseControlConfig } from "../../control/config.ts";
import { startControlProcess } from "../helpers/control-process.ts";
import { currentTestFile, releaseFileResources } from "../helpers/leftovers.ts";

const ROOT = join(import.meta.dir, "..", "..");
const file = currentTestFile();
afterAll(() => releaseFileResources(file), 30_000);

/** Runs a process that should refuse its flags; returns its exit code, stdout and stderr. */
async function refused(args: string[], env: Record<string, string> = {}) {
  const p = Bun.spawn(["bun", ...args], { cwd: ROOT, stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, ...env } });
  const [code, out, err] = await Promise.all([p.exited, new Response(p.stdout).text(), new Response(p.stderr).text()]);
  return { code, out, err };
}

describe("--log-level and --log-format", () => {
  test("both processes take them by flag or environment (flag first); info and the terminal's format by default", () => {
    expect(parseControlConfig([], {}).log).toEqual({ level: "info", format: undefined });
    expect(parseControlConfig(["--log-level", "debug", "--log-format", "json"], { FLOTILLA_LOG_LEVEL: "warn" }).log).toEqual({ level: "debug", format: "json" });
    expect(parseControlConfig([], { FLOTILLA_LOG_LEVEL: "warn", FLOTILLA_LOG_FORMAT: "pretty" }).log).toEqual({ level: "warn", format: "pretty" });
    const agent = (args: string[], env: Record<string, string> = {}) => parseAgentConfig(["--control", "mqtt://127.0.0.1:1883", ...args], env).log;
    expect(agent([])).toEqual({ level: "info", format: undefined });
    expect(agent(["--log-level", "trace"])).toEqual({ level: "trace", format: undefined });
    expect(agent([], { FLOTILLA_LOG_LEVEL: "silent", FLOTILLA_LOG_FORMAT: "json" })).toEqual({ level: "silent", format: "json" });
    expect(() => parseControlConfig(["--log-level", "verbose"], {})).toThrow(ConfigError);
    expect(() => agent([], { FLOTILLA_LOG_FORMAT: "xml" })).toThrow(AgentConfigError);
  });

  test("a bad value stops either process at once with one readable line and exit code 2", async () => {
    const control = await refused(["control/main.ts", "--log-level", "loud"]);
    expect(control.code).toBe(2);
    expect(control.err.trim().split("\n")).toEqual(['flotilla-control: --log-level must be one of trace, debug, info, warn, error, fatal, silent, got "loud" (see --help)']);
    const agent = await refused(["agent/main.ts", "--control", "mqtt://127.0.0.1:1"], { FLOTILLA_LOG_FORMAT: "xml" });
    expect(agent.code).toBe(2);
    expect(agent.err.trim().split("\n")).toEqual(['flotilla-agent: --log-format must be json or pretty, got "xml" (see --help)']);
  }, 20_000);

  test("--log-format pretty makes a real control process write human lines even into a pipe", async () => {
    const token = "pretty-admin-token-0123456789";
    const c = await startControlProcess({ token, args: ["--log-format", "pretty"] });
    const res = await fetch(`${c.httpUrl}/v1/clusters`, { headers: { authorization: `Bearer ${token}`, "x-request-id": "pretty-1" } });
    expect(res.status).toBe(200);
    await c.stop();
    const lines = c.output().trim().split("\n");
    expect(lines[0]).toMatch(/^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] INFO: control: flotilla control listening: api http:\/\/127\.0\.0\.1:\d+ /);
    expect(lines.find((l) => l.includes("pretty-1"))).toMatch(/INFO: api: request \{"requestId":"pretty-1","method":"GET","route":"\/v1\/clusters","path":"\/v1\/clusters","status":200,"durationMs":[\d.]+\}$/);
    expect(c.output()).not.toContain(token);
    // No colour codes into a pipe.
    expect(c.output()).not.toContain("\u001b[");
  }, 40_000);
});
