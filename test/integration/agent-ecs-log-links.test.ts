import { describe, expect, test } from "bun:test";
import { cli } from "../cli/run-cli.ts";
import { TEST_TOKEN } from "../helpers/control.ts";
import { docker } from "../helpers/docker.ts";
import { singleAgentCluster, waitTaskStatus } from "../helpers/fleet.ts";
import { waitFor } from "../helpers/wait.ts";

/**
 * Task definitions as people write them for ECS run on a host without AWS: a container with the
 * awslogs driver keeps its log in Docker's store on the host (served by the task logs API), and
 * `links` on a bridge network let a container reach another by name and alias, as in the classic
 * WordPress + MySQL example. Real control service, agent process and Docker.
 */
const C = "ecs-logs-links";
const env = singleAgentCluster(C);
const auth = { authorization: `Bearer ${TEST_TOKEN}` };

describe("ECS log drivers and links on a real agent", () => {
  test("an awslogs container whose link names another container runs, and its log comes back", async () => {
    const { tc } = env;
    const reg = await tc.api("POST", "/v1/task-definitions", {
      family: "linked",
      networkMode: "bridge",
      containerDefinitions: [
        { name: "db", image: "flotilla/busybox:test", memory: 32, essential: false },
        {
          name: "app",
          image: "flotilla/busybox:test",
          memory: 32,
          links: ["db:database"],
          dockerSecurityOptions: ["no-new-privileges"],
          logConfiguration: { logDriver: "awslogs", options: { "awslogs-group": "/ecs/linked", "awslogs-region": "eu-west-1", "awslogs-stream-prefix": "ecs" } },
          command: ["sh", "-c", 'grep -qw database /etc/hosts && echo "linked to database"; trap "exit 0" TERM; sleep 600 & wait'],
          stopTimeout: 2,
        },
      ],
    });
    expect(reg.status).toBe(201);
    const run = await tc.api("POST", `/v1/clusters/${C}/tasks`, { taskDefinition: "linked" });
    expect(run.body.failures).toEqual([]);
    const taskId = run.body.tasks[0].taskId as string;
    const task = await waitTaskStatus(tc, C, taskId, "RUNNING", 30_000);
    const app = task.containers.find((c: any) => c.name === "app");
    const inspect = JSON.parse(await docker("inspect", "--format", "{{json .HostConfig}}", app.runtimeId));
    expect(inspect.LogConfig.Type).not.toBe("awslogs");
    expect(inspect.SecurityOpt).toEqual(["no-new-privileges"]);
    expect((inspect.Links as string[]).some((l) => l.endsWith("/database"))).toBe(true);
    const log = await waitFor("the app's log line", async () => {
      // By the stream name ECS would give it, as describe-task shows it.
      expect(app.logStreamName).toBe(`ecs/app/${taskId}`);
      const r = await fetch(`${tc.control.httpUrl}/v1/clusters/${C}/tasks/${taskId}/logs?stream=${encodeURIComponent(app.logStreamName)}&group=/ecs/linked`, { headers: auth });
      const text = await r.text();
      return r.status === 200 && text.includes("linked to database") ? text : undefined;
    });
    expect(log).toContain("linked to database");
    // And through the CLI an operator uses, by stream and group as by container name.
    const cliEnv = { FLOTILLA_API_URL: tc.control.httpUrl, FLOTILLA_TOKEN: TEST_TOKEN, FLOTILLA_CLUSTER: C };
    const byStream = await cli(["tasks", "logs", taskId, "--stream", app.logStreamName, "--group", "/ecs/linked"], cliEnv);
    expect(byStream.stderr).toBe("");
    expect(byStream.code).toBe(0);
    expect(byStream.stdout).toContain("linked to database");
    const byName = await cli(["tasks", "logs", taskId, "--container", "app", "--tail", "5"], cliEnv);
    expect(byName.code).toBe(0);
    expect(byName.stdout).toContain("linked to database");
    await tc.api("POST", `/v1/clusters/${C}/tasks/${taskId}/stop`, { reason: "done" });
    await waitTaskStatus(tc, C, taskId, "STOPPED", 30_000);
  }, 90_000);
});
