import { afterAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { startAgentProcess, type AgentProcess } from "../helpers/agent-process.ts";
import { startControlProcess, type ControlProcess } from "../helpers/control-process.ts";
import { activation, waitTaskStatus } from "../helpers/fleet.ts";
import { currentTestFile, leftBehindBy, releaseFileResources, trackInstance } from "../helpers/leftovers.ts";
import { logEntriesOf, type LogEntry } from "../helpers/log-capture.ts";
import { waitFor } from "../helpers/wait.ts";

/**
 * The log lines of a real control process and a real agent process, both at --log-level trace,
 * through a run that handles every kind of secret there is: the admin token on every call, an
 * activation code, the instance's MQTT password, a secret's value in a task's environment.
 * Every line is a JSON object of the documented shape and none holds any of those values.
 */
const CLUSTER = "logs";
const TOKEN = `admin-${randomBytes(16).toString("hex")}`;
const SECRET = `s3cr3t-${randomBytes(12).toString("hex")}`;
const file = currentTestFile();

let control: ControlProcess;
let agent: AgentProcess;

afterAll(async () => {
  await releaseFileResources(file);
  const left = await leftBehindBy(file);
  if (left.length) throw new Error(`teardown left behind: ${left.join("; ")}`);
}, 60_000);

function entriesOf(output: string): LogEntry[] {
  const lines = output.split("\n").filter((l) => l.trim() !== "");
  const entries = logEntriesOf(output);
  // Every line is JSON (stdout is a pipe here, not a terminal): nothing else is printed.
  expect(entries.length).toBe(lines.length);
  for (const e of entries) {
    expect(Object.keys(e).slice(0, 3)).toEqual(["level", "time", "component"]);
    expect(["trace", "debug", "info", "warn", "error", "fatal"]).toContain(e.level);
    expect(new Date(e.time).toISOString()).toBe(e.time);
    expect(typeof e.msg).toBe("string");
  }
  return entries;
}

describe("logs of a control process and an agent process", () => {
  test("are JSON lines with ids, one line per API request, and carry no secret value", async () => {
    control = await startControlProcess({ token: TOKEN, args: ["--log-level", "trace"] });
    const tc = control.asTestControl();
    const act = await activation(tc, CLUSTER);
    agent = startAgentProcess({ control: control.mqttUrl, activation: act, args: ["--image-pull-behavior", "prefer-cached", "--log-level", "trace"] });
    const instanceId = await waitFor("the agent to register and connect", async () => {
      const list = (await tc.api("GET", `/v1/clusters/${CLUSTER}/container-instances`)).body.containerInstances as any[];
      return list.find((i) => i.agentConnected)?.containerInstanceId as string | undefined;
    });
    trackInstance(instanceId);

    const put = await tc.api("POST", "/v1/secrets", { name: "db-password", value: SECRET });
    expect(put.status).toBe(201);
    const td = await tc.api("POST", "/v1/task-definitions", {
      family: "logs-secret",
      containerDefinitions: [
        {
          name: "app",
          image: "flotilla/busybox:test",
          memory: 32,
          command: ["sh", "-c", 'trap "exit 0" TERM; while true; do sleep 1; done'],
          stopTimeout: 2,
          secrets: [{ name: "DB_PASSWORD", valueFrom: put.body.secret.arn }],
        },
      ],
    });
    expect(td.status).toBe(201);
    // A caller's request id is echoed and names the request's line.
    const run = await fetch(`${control.httpUrl}/v1/clusters/${CLUSTER}/tasks`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json", "x-request-id": "run-task-1" },
      body: JSON.stringify({ taskDefinition: "logs-secret" }),
    });
    expect(run.status).toBe(201);
    expect(run.headers.get("x-request-id")).toBe("run-task-1");
    const taskId = ((await run.json()) as any).tasks[0].taskArn.split("/").pop() as string;
    await waitTaskStatus(tc, CLUSTER, taskId, "RUNNING", 30_000);
    expect((await tc.api("POST", `/v1/clusters/${CLUSTER}/tasks/${taskId}/stop`, {})).status).toBe(200);
    await waitTaskStatus(tc, CLUSTER, taskId, "STOPPED", 30_000);
    const { password } = JSON.parse(readFileSync(join(agent.dataDir, "identity.json"), "utf8")) as { password: string };
    // Both end (their last lines are written) before anything is read.
    await agent.stop();
    await control.stop();

    const controlOut = control.output();
    const agentOut = agent.output();
    for (const out of [controlOut, agentOut]) {
      for (const value of [SECRET, TOKEN, act.activationCode, password]) expect(out).not.toContain(value);
      expect(out.toLowerCase()).not.toContain("bearer");
    }

    const controlLines = entriesOf(controlOut);
    const agentLines = entriesOf(agentOut);
    // The request's line: method, route pattern, status, duration, the caller's id; no header.
    const request = controlLines.find((e) => e.requestId === "run-task-1" && e.msg === "request")!;
    expect(request).toMatchObject({ level: "info", component: "api", cluster: CLUSTER, method: "POST", route: "/v1/clusters/:cluster/tasks", path: `/v1/clusters/${CLUSTER}/tasks`, status: 201 });
    expect(typeof request.durationMs).toBe("number");
    expect(Object.keys(request)).not.toContain("authorization");
    expect(Object.keys(request)).not.toContain("headers");
    // Ids: the control names the instance in lines about it, the agent names itself in all of its own.
    expect(controlLines.some((e) => e.component === "link" && e.instanceId === instanceId && e.msg.startsWith("registered container instance"))).toBe(true);
    const afterRegistration = agentLines.slice(agentLines.findIndex((e) => e.msg.startsWith("registered as")));
    expect(afterRegistration.length).toBeGreaterThan(3);
    for (const e of afterRegistration) expect(e).toMatchObject({ cluster: CLUSTER, instanceId });
    expect(agentLines.find((e) => e.msg === `task ${taskId} RUNNING`)).toMatchObject({ level: "info", component: "engine", taskId });
    // --log-level trace lets the debug lines through (absent at the default level: shared/log.test.ts).
    expect(agentLines.some((e) => e.level === "debug" && e.component === "link" && e.msg === "report sent")).toBe(true);
    expect(controlLines.some((e) => e.level === "debug" && e.msg === "report applied" && e.instanceId === instanceId)).toBe(true);
  }, 90_000);
});
