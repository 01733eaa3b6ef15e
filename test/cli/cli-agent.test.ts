import { beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AgentProcess } from "../helpers/agent-process.ts";
import { TEST_TOKEN, type TestControl } from "../helpers/control.ts";
import { singleAgentCluster } from "../helpers/fleet.ts";
import { waitFor } from "../helpers/wait.ts";
import { cli } from "./run-cli.ts";

/** The CLI driving a real control service with a real agent: instances, attributes, tasks and logs. */
let tc: TestControl;
let agent: AgentProcess;
let instanceId: string;
let env: Record<string, string>;
const dir = mkdtempSync(join(tmpdir(), "flotilla-cli-agent-"));
const ROOT = join(import.meta.dir, "..", "..");

singleAgentCluster("cli-e2e", { agentArgs: ["--introspection-port", "off"], ready: (c) => ({ tc, agent, instanceId } = c) });

beforeAll(() => {
  env = { FLOTILLA_API_URL: tc.control.httpUrl, FLOTILLA_TOKEN: TEST_TOKEN, FLOTILLA_CLUSTER: "cli-e2e" };
  writeFileSync(
    join(dir, "talker.json"),
    JSON.stringify({
      family: "talker",
      containerDefinitions: [{
        name: "talk",
        image: "flotilla/busybox:test",
        memory: 32,
        essential: true,
        command: ["sh", "-c", 'trap "exit 0" TERM; echo hello-from-task; i=0; while true; do i=$((i+1)); echo tick-$i; sleep 1; done'],
      }],
    }),
  );
});

describe("flotilla CLI with a real agent", () => {
  test("instances list/describe, attributes put/list/delete", async () => {
    const list = await cli(["instances", "list"], env);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`${instanceId}\\s+\\S+\\s+ACTIVE\\s+yes`));
    const put = await cli(["attributes", "put", "-t", instanceId, "site=berlin", "gpu"], env);
    expect(put.code).toBe(0);
    const attrs = await cli(["attributes", "list", "--name", "site"], env);
    expect(attrs.stdout).toMatch(new RegExp(`${instanceId}\\s+site\\s+berlin`));
    const desc = await cli(["instances", "describe", instanceId], env);
    expect(desc.stdout).toMatch(/Attributes:.*site=berlin/);
    const del = await cli(["attributes", "delete", "-t", instanceId, "site"], env);
    expect(del.code).toBe(0);
    expect((await cli(["attributes", "list", "--name", "site"], env)).stdout).not.toContain("berlin");
  });

  test("drain keeps new tasks off an instance; activate lets them on again", async () => {
    expect((await cli(["task-definitions", "register", "-f", join(dir, "talker.json")], env)).code).toBe(0);
    const drain = await cli(["instances", "drain", instanceId], env);
    expect(drain.code).toBe(0);
    expect(drain.stdout).toContain("DRAINING");
    const refused = await cli(["tasks", "run", "talker"], env);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain("failure:");
    const activate = await cli(["instances", "activate", instanceId], env);
    expect(activate.stdout).toContain("ACTIVE");
  });

  test("tasks run, describe, logs (tail and follow), stop", async () => {
    const ran = await cli(["tasks", "run", "talker", "-o", "json"], env);
    expect(ran.code).toBe(0);
    const taskId = ran.json().tasks[0].taskId as string;
    await waitFor("task RUNNING via the CLI", async () => (await cli(["tasks", "describe", taskId, "-o", "json"], env)).json().task.lastStatus === "RUNNING", { timeoutMs: 30_000 });
    const desc = await cli(["tasks", "describe", taskId], env);
    expect(desc.stdout).toMatch(/Last status:\s+RUNNING/);
    expect(desc.stdout).toMatch(/talk\s+flotilla\/busybox:test\s+RUNNING/);

    const logs = await waitFor("first log line", async () => {
      const r = await cli(["tasks", "logs", taskId], env);
      return r.stdout.includes("hello-from-task") ? r : undefined;
    });
    expect(logs.code).toBe(0);
    const tail = await cli(["tasks", "logs", taskId, "--tail", "1"], env);
    expect(tail.stdout.trim().split("\n")).toHaveLength(1);

    // Follow streams lines as they come; the test stops it once new ticks arrived.
    const follow = Bun.spawn(["bun", join(ROOT, "control/cli/main.ts"), "tasks", "logs", taskId, "-f", "--tail", "0"], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, FLOTILLA_CONFIG: "/nonexistent", ...env },
      stdout: "pipe",
      stderr: "pipe",
    });
    let followed = "";
    void (async () => { for await (const c of follow.stdout) followed += new TextDecoder().decode(c); })();
    await waitFor("two followed ticks", () => (followed.match(/tick-\d+/g) ?? []).length >= 2, { timeoutMs: 15_000 });
    follow.kill("SIGINT");
    expect(await follow.exited).toBe(130);

    const stop = await cli(["tasks", "stop", taskId, "--reason", "cli test"], env);
    expect(stop.code).toBe(0);
    await waitFor("task STOPPED", async () => (await cli(["tasks", "describe", taskId, "-o", "json"], env)).json().task.lastStatus === "STOPPED", { timeoutMs: 30_000 });
    const stopped = await cli(["tasks", "list", "--desired-status", "STOPPED"], env);
    expect(stopped.stdout).toContain(taskId);
    expect(stopped.stdout).toContain("cli test");
  }, 90_000);

  test("services create, wait-stable, events, update, delete against the real scheduler", async () => {
    const created = await cli(["services", "create", "talkers", "--task-definition", "talker", "--desired-count", "2", "--max-percent", "200", "--min-healthy-percent", "50"], env);
    expect(created.stderr).toBe("");
    expect(created.code).toBe(0);
    const stable = await cli(["services", "wait-stable", "talkers", "--timeout", "60", "--interval", "200"], env);
    expect(stable.stderr).toMatch(/talkers: running \d\/2 \| PRIMARY talker:1: running/);
    expect(stable.code).toBe(0);
    expect(stable.stdout).toContain("service talkers is stable: 2/2 running");
    const list = await cli(["services", "list"], env);
    expect(list.stdout).toMatch(/talkers\s+ACTIVE\s+REPLICA\s+talker:1\s+2\s+2/);
    const events = await cli(["services", "events", "talkers", "-o", "json"], env);
    expect(events.json().events.length).toBeGreaterThan(0);
    const scaled = await cli(["services", "update", "talkers", "--desired-count", "1"], env);
    expect(scaled.code).toBe(0);
    const again = await cli(["services", "wait-stable", "talkers", "--timeout", "60", "--interval", "200", "-o", "json"], env);
    expect(again.code).toBe(0);
    expect(again.json().service.runningCount).toBe(1);
    const del = await cli(["services", "delete", "talkers", "--force"], env);
    expect(del.code).toBe(0);
    expect(del.stdout).toMatch(/service talkers (DRAINING|INACTIVE)/);
  }, 120_000);

  test("instances deregister removes the instance from the cluster", async () => {
    const r = await cli(["instances", "deregister", instanceId, "--force"], env);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`instance ${instanceId} deregistered`);
    const list = (await cli(["instances", "list", "-o", "json"], env)).json().containerInstances as any[];
    expect(list.filter((i) => i.containerInstanceId === instanceId && i.status !== "INACTIVE")).toHaveLength(0);
  });
});
