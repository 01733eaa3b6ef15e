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
singleAgentCluster(C, { control: { extra: { masterKey: randomBytes(32) } }, agentArgs: ["--log-level", "trace"], ready: (c) => ({ tc, agent } = c) });
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

describe("FireLens", () => {
  test("the router gets the generated config, app lines arrive at it over Docker's fluentd driver, and the logs API still serves them", async () => {
    // A stand-in router (no Fluent Bit image offline): it reads the forward port from the config it
    // was given and records whatever arrives there.
    const recorder = [
      'conf=/fluent-bit/etc/fluent-bit.conf; port=$(awk \'$1=="Port"{print $2; exit}\' $conf)',
      'echo "router listening on $port"',
      'trap "exit 0" TERM',
      'while true; do nc -l -p "$port" >> /tmp/received; done & wait',
    ].join("; ");
    const taskId = await runTask({
      family: "firelensed",
      networkMode: "bridge",
      containerDefinitions: [
        {
          name: "app",
          image: "flotilla/busybox:test",
          memory: 32,
          logConfiguration: { logDriver: "awsfirelens", options: { Name: "cloudwatch", region: "eu-west-1", log_group_name: "/ecs/firelensed" } },
          command: ["sh", "-c", 'i=0; while [ $i -lt 300 ]; do echo "hello firelens $i"; i=$((i+1)); sleep 0.2; done'],
          stopTimeout: 2,
        },
        {
          name: "log_router",
          image: "flotilla/busybox:test",
          memory: 32,
          firelensConfiguration: { type: "fluentbit", options: { "enable-ecs-log-metadata": "true" } },
          command: ["sh", "-c", recorder],
          stopTimeout: 2,
        },
      ],
    });
    const task = await waitTaskStatus(tc, C, taskId, "RUNNING", 30_000);
    const byName = Object.fromEntries(task.containers.map((c: any) => [c.name, c]));
    const inspect = async (id: string) => JSON.parse(await docker("inspect", "--format", "{{json .}}", id));
    const [appInfo, routerInfo] = [await inspect(byName.app.runtimeId), await inspect(byName.log_router.runtimeId)];

    // The router: its config and socket dir mounted where amazon-ecs-agent mounts them.
    const hostDir = `${agent.dataDir}/firelens/${taskId}`;
    expect(routerInfo.HostConfig.Binds).toEqual(expect.arrayContaining([`${hostDir}/config/fluent.conf:/fluent-bit/etc/fluent-bit.conf`, `${hostDir}/socket/:/var/run/`]));
    const config = await docker("exec", byName.log_router.runtimeId, "cat", "/fluent-bit/etc/fluent-bit.conf");
    expect(config).toContain("[INPUT]\n    Name forward\n    Listen 0.0.0.0\n    Port 24224\n");
    expect(config).toContain(`Record ecs_task_arn ${task.taskArn}`);
    expect(config).toContain("Record ecs_cluster log-drivers");
    expect(config).toContain("Record ecs_task_definition firelensed:1");
    expect(config).toContain("[OUTPUT]\n    Name cloudwatch\n    Match app-firelens*\n    log_group_name /ecs/firelensed\n    region eu-west-1");

    // The app: Docker's fluentd driver aimed at the router's bridge address, started after it.
    const routerIp = routerInfo.NetworkSettings.Networks.bridge.IPAddress;
    expect(appInfo.HostConfig.LogConfig).toEqual({
      Type: "fluentd",
      Config: { tag: `app-firelens-${taskId}`, "fluentd-address": `tcp://${routerIp}:24224`, "fluentd-async": "true", "fluentd-sub-second-precision": "true" },
    });
    expect(appInfo.Config.Env).toEqual(expect.arrayContaining([`FLUENT_HOST=${routerIp}`, "FLUENT_PORT=24224"]));
    expect(Date.parse(appInfo.State.StartedAt)).toBeGreaterThanOrEqual(Date.parse(routerInfo.State.StartedAt));

    // What the router received: fluentd forward messages carrying the app's tag and lines.
    const received = await waitFor("app lines at the router", async () => {
      const got = await docker("exec", byName.log_router.runtimeId, "cat", "/tmp/received").catch(() => "");
      return got.includes("hello firelens") ? got : undefined;
    });
    expect(received).toContain(`app-firelens-${taskId}`);
    expect(await logsOf(taskId, "app", "hello firelens")).toContain("hello firelens 0");
    expect(await logsOf(taskId, "log_router", "router listening on 24224")).toContain("router listening on 24224");
    await stop(taskId);
  }, 90_000);
});
