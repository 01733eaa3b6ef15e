import { describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { AgentProcess } from "../helpers/agent-process.ts";
import type { TestControl } from "../helpers/control.ts";
import { docker } from "../helpers/docker.ts";
import { singleAgentCluster, waitTaskStatus } from "../helpers/fleet.ts";

const SECRET = `s3cr3t-${randomBytes(12).toString("hex")}`;
const CLUSTER = "secrets";

let tc: TestControl & { logs: string[] };
let agent: AgentProcess;
let instanceId: string;
/** Every API response body seen in this file, to search for the value. */
const responses: string[] = [];

async function api(method: string, path: string, body?: unknown) {
  const res = await tc.api(method, path, body);
  responses.push(JSON.stringify(res.body));
  return res;
}

// The agent logs everything (--log-level trace) and the control's lines are captured from debug up:
// the value must not be in any of them.
singleAgentCluster(CLUSTER, { control: { extra: { masterKey: randomBytes(32) } }, agentArgs: ["--log-level", "trace"], ready: (c) => ({ tc, agent, instanceId } = c) });

describe("secrets", () => {
  test("a secret reaches its container as an environment variable and nowhere else", async () => {
    const put = await api("POST", "/v1/secrets", { name: "db-password", value: SECRET });
    expect(put.status).toBe(201);
    // Read before toMatchObject: Bun's asymmetric matchers can replace the matched property.
    const arn: string = put.body.secret.arn;
    expect(put.body.secret).toMatchObject({ name: "db-password", arn: expect.stringContaining(":secret:db-password") });
    expect((await api("GET", "/v1/secrets")).body.secrets.map((s: any) => s.name)).toEqual(["db-password"]);

    const td = await api("POST", "/v1/task-definitions", {
      family: "uses-secret",
      containerDefinitions: [
        {
          name: "app",
          image: "flotilla/busybox:test",
          memory: 32,
          essential: true,
          command: ["sh", "-c", 'trap "exit 0" TERM; while true; do sleep 1; done'],
          stopTimeout: 2,
          environment: [{ name: "PLAIN", value: "visible" }],
          secrets: [{ name: "DB_PASSWORD", valueFrom: arn }],
        },
      ],
    });
    expect(td.status).toBe(201);
    const run = await api("POST", `/v1/clusters/${CLUSTER}/tasks`, { taskDefinition: "uses-secret" });
    expect(run.status).toBe(201);
    const taskId = run.body.tasks[0].taskArn.split("/").pop();
    const task = await waitTaskStatus(tc, CLUSTER, taskId, "RUNNING", 30_000);
    responses.push(JSON.stringify(task));

    const containerId = await docker("ps", "-q", "--filter", `label=flotilla.task-id=${taskId}`);
    expect(await docker("exec", containerId, "sh", "-c", 'echo "$DB_PASSWORD"')).toBe(SECRET);
    expect(await docker("exec", containerId, "sh", "-c", 'echo "$PLAIN"')).toBe("visible");
    const labels = await docker("inspect", "--format", "{{json .Config.Labels}}", containerId);
    expect(labels).not.toContain(SECRET);

    for (const path of [
      `/v1/clusters/${CLUSTER}/tasks`,
      `/v1/clusters/${CLUSTER}/tasks/${taskId}`,
      "/v1/task-definitions/uses-secret",
      "/v1/secrets",
      `/v1/clusters/${CLUSTER}/container-instances`,
      "/v1/audit",
    ]) {
      await api("GET", path);
    }
    for (const body of responses) expect(body).not.toContain(SECRET);
    expect(tc.logs.length).toBeGreaterThan(0);
    expect(tc.logs.join("\n")).not.toContain(SECRET);
    expect(agent.output()).toContain('"level":"debug"');
    expect(agent.output()).not.toContain(SECRET);
    // Encrypted at rest: not in the database files, not in the agent's state files.
    for (const f of readdirSync(tc.dir)) expect(readFileSync(join(tc.dir, f)).includes(SECRET)).toBe(false);
    // Every file under it, folders too (the blob cache, blobs/, keeps its own files).
    for (const f of readdirSync(agent.dataDir, { recursive: true }) as string[]) {
      const p = join(agent.dataDir, f);
      if (existsSync(p) && statSync(p).isFile() && !f.endsWith(".lock")) expect(readFileSync(p).includes(SECRET)).toBe(false);
    }
    await api("POST", `/v1/clusters/${CLUSTER}/tasks/${taskId}/stop`, {});
    await waitTaskStatus(tc, CLUSTER, taskId, "STOPPED", 30_000);
  }, 60_000);

  test("RunTask refuses a definition whose secret does not exist", async () => {
    await api("POST", "/v1/task-definitions", {
      family: "missing-secret",
      containerDefinitions: [{ name: "app", image: "flotilla/busybox:test", memory: 16, secrets: [{ name: "X", valueFrom: "nope" }] }],
    });
    const run = await api("POST", `/v1/clusters/${CLUSTER}/tasks`, { taskDefinition: "missing-secret" });
    expect(run.status).toBe(400);
    expect(run.body.error.fields[0].path).toBe("containerDefinitions[0].secrets[0].valueFrom");
  });

  test("secret input is strict and read-only tokens cannot write secrets", async () => {
    const bad = await api("POST", "/v1/secrets", { name: "a b", value: "" , extra: 1 });
    expect(bad.status).toBe(400);
    const paths = bad.body.error.fields.map((f: any) => f.path).join(" ");
    expect(paths).toContain("name");
    expect(paths).toContain("value");
    const ro = (await api("POST", "/v1/tokens", { name: "ro", role: "read-only" })).body.token;
    expect((await tc.api("POST", "/v1/secrets", { name: "x", value: "y" }, ro)).status).toBe(403);
  });
});
