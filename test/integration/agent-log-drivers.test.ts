import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { TEST_TOKEN, type TestControl } from "../helpers/control.ts";
import type { AgentProcess } from "../helpers/agent-process.ts";
import { docker } from "../helpers/docker.ts";
import { singleAgentCluster, waitTaskStatus } from "../helpers/fleet.ts";
import { waitFor } from "../helpers/wait.ts";

/**
 * Log drivers on a real agent and Docker: a host-side driver (gelf over UDP to a receiver this
 * test runs on 127.0.0.1) gets its options and a secretOptions value from a Flotilla secret, the
 * lines reach the receiver, and Docker's dual logging keeps them readable through the task logs API.
 */
const C = "log-drivers";
let tc: TestControl;
let agent: AgentProcess;
singleAgentCluster(C, { control: { extra: { masterKey: randomBytes(32) } }, ready: (c) => ({ tc, agent } = c) });
const auth = { authorization: `Bearer ${TEST_TOKEN}` };

/** GELF messages as they arrive (uncompressed: the task asks Docker for gelf-compression-type none). */
const gelf: Record<string, unknown>[] = [];
let gelfPort = 0;
let receiver: { close(): void } | undefined;
beforeAll(async () => {
  const sock = await Bun.udpSocket({
    hostname: "127.0.0.1",
    socket: {
      data(_s, buf) {
        gelf.push(JSON.parse(buf.toString()));
      },
    },
  });
  gelfPort = sock.port;
  receiver = sock;
});
afterAll(() => receiver?.close());

async function runTask(td: unknown): Promise<string> {
  const reg = await tc.api("POST", "/v1/task-definitions", td);
  expect(reg.status).toBe(201);
  const run = await tc.api("POST", `/v1/clusters/${C}/tasks`, { taskDefinition: reg.body.taskDefinition.family });
  expect(run.body.failures).toEqual([]);
  return run.body.tasks[0].taskId as string;
}

const logsOf = (taskId: string, container: string, needle: string) =>
  waitFor(`${container}'s log through the task logs API`, async () => {
    const r = await fetch(`${tc.control.httpUrl}/v1/clusters/${C}/tasks/${taskId}/logs?container=${container}`, { headers: auth });
    const text = await r.text();
    return r.status === 200 && text.includes(needle) ? text : undefined;
  });

async function stop(taskId: string) {
  await tc.api("POST", `/v1/clusters/${C}/tasks/${taskId}/stop`, { reason: "done" });
  await waitTaskStatus(tc, C, taskId, "STOPPED", 30_000);
}

describe("Docker's host-side log drivers", () => {
  test("gelf: options and a secretOptions value from a Flotilla secret reach Docker; lines reach the receiver and the logs API", async () => {
    const SECRET_TAG = `tag-${randomBytes(6).toString("hex")}`;
    expect((await tc.api("POST", "/v1/secrets", { name: "logs/gelf-tag", value: SECRET_TAG })).status).toBe(201);
    const taskId = await runTask({
      family: "gelfed",
      containerDefinitions: [
        {
          name: "app",
          image: "flotilla/busybox:test",
          memory: 32,
          logConfiguration: {
            logDriver: "gelf",
            options: { "gelf-address": `udp://127.0.0.1:${gelfPort}`, "gelf-compression-type": "none" },
            secretOptions: [{ name: "tag", valueFrom: "logs/gelf-tag" }],
          },
          command: ["sh", "-c", 'echo "hello over gelf"; trap "exit 0" TERM; sleep 600 & wait'],
          stopTimeout: 2,
        },
      ],
    });
    const task = await waitTaskStatus(tc, C, taskId, "RUNNING", 30_000);
    const app = task.containers.find((c: any) => c.name === "app");
    const hostConfig = JSON.parse(await docker("inspect", "--format", "{{json .HostConfig}}", app.runtimeId));
    expect(hostConfig.LogConfig).toEqual({
      Type: "gelf",
      Config: { "gelf-address": `udp://127.0.0.1:${gelfPort}`, "gelf-compression-type": "none", tag: SECRET_TAG },
    });
    const msg = await waitFor("the line at the GELF receiver", () => gelf.find((m) => m.short_message === "hello over gelf"));
    expect(msg._tag).toBe(SECRET_TAG);
    expect(await logsOf(taskId, "app", "hello over gelf")).toContain("hello over gelf");
    // The value travels only in the desired set and Docker's LogConfig: no log line of either side names it.
    expect(tc.logs.join("\n")).not.toContain(SECRET_TAG);
    expect(agent.output()).not.toContain(SECRET_TAG);
    expect(JSON.stringify(task)).not.toContain(SECRET_TAG);
    await stop(taskId);
  }, 90_000);
});
