import { describe, expect, test } from "bun:test";
import { runtimeName } from "../../agent/engine/container-spec.ts";
import type { TestControl } from "../helpers/control.ts";
import { awsJson, ecsOk } from "../helpers/aws-json.ts";
import { docker } from "../helpers/docker.ts";
import { singleAgentCluster, waitTaskStatus } from "../helpers/fleet.ts";
import { waitFor } from "../helpers/wait.ts";

/**
 * The AWS JSON front door over real HTTP, with a real agent and Docker: RunTask's container
 * overrides reach the agent, and the container runs the overridden command with the overridden
 * environment (the definition's other variables kept).
 */
let tc: TestControl;
const CLUSTER = "ecs-json";

singleAgentCluster(CLUSTER, { ready: (c) => ({ tc } = c) });

/** Calls the control's AWS JSON door over HTTP, as the aws CLI does (bearer token instead of SigV4). */
const http = { request: (path: string, init: RequestInit) => fetch(tc.control.httpUrl + path, init) };

describe("RunTask over AWS JSON with a real agent", () => {
  test("the overridden command and environment are what the container runs", async () => {
    await ecsOk(http, "RegisterTaskDefinition", {
      family: "printer",
      containerDefinitions: [
        {
          name: "app",
          image: "flotilla/busybox:test",
          memory: 32,
          essential: true,
          // sleep as PID 1 ignores SIGTERM: do not wait 30 s for the kill.
          stopTimeout: 2,
          command: ["sh", "-c", "echo from-definition; sleep 600"],
          environment: [{ name: "KEEP", value: "kept" }, { name: "MODE", value: "definition" }],
        },
      ],
    });
    const run = await ecsOk(http, "RunTask", {
      cluster: CLUSTER,
      taskDefinition: "printer",
      clientToken: "overrides-1",
      overrides: {
        containerOverrides: [{ name: "app", command: ["sh", "-c", 'echo "ran:$MODE:$KEEP"; exec sleep 600'], environment: [{ name: "MODE", value: "override" }] }],
      },
    });
    expect(run.failures).toEqual([]);
    const task = run.tasks[0];
    await waitTaskStatus(tc, CLUSTER, task.taskId, "RUNNING");

    const name = runtimeName(task.taskId, "app");
    const config = JSON.parse(await docker("inspect", "--format", "{{json .Config}}", name)) as { Cmd: string[]; Env: string[] };
    expect(config.Cmd).toEqual(["sh", "-c", 'echo "ran:$MODE:$KEEP"; exec sleep 600']);
    expect(config.Env).toEqual(expect.arrayContaining(["MODE=override", "KEEP=kept"]));
    const said = await waitFor("the container's output", async () => {
      const out = await docker("logs", name);
      return out.includes("ran:") ? out.trim() : undefined;
    });
    expect(said).toBe("ran:override:kept");

    // The retry a CLI makes after a lost answer: same token, same request, no second task.
    const again = await ecsOk(http, "RunTask", {
      cluster: CLUSTER,
      taskDefinition: "printer",
      clientToken: "overrides-1",
      overrides: {
        containerOverrides: [{ name: "app", command: ["sh", "-c", 'echo "ran:$MODE:$KEEP"; exec sleep 600'], environment: [{ name: "MODE", value: "override" }] }],
      },
    });
    expect(again.tasks.map((x: any) => x.taskArn)).toEqual([task.taskArn]);
    expect(again.tasks[0].lastStatus).toBe("RUNNING");

    const described = await ecsOk(http, "DescribeTasks", { cluster: CLUSTER, tasks: [task.taskArn] });
    expect(described.tasks[0].overrides.containerOverrides[0].environment).toEqual([{ name: "MODE", value: "override" }]);
    expect(typeof described.tasks[0].startedAt).toBe("number");

    await ecsOk(http, "StopTask", { cluster: CLUSTER, task: task.taskArn });
    await waitTaskStatus(tc, CLUSTER, task.taskId, "STOPPED", 30_000);
    const r = await awsJson(http, "ListTasks", { cluster: CLUSTER });
    expect(r.headers.get("content-type")).toBe("application/x-amz-json-1.1");
    expect(r.body.taskArns).toEqual([]);
  }, 60_000);
});
