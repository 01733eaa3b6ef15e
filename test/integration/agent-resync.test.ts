import { describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { tasks } from "../../control/db/schema.ts";
import { singleAgentCluster, waitTaskStatus } from "../helpers/fleet.ts";
import { waitFor } from "../helpers/wait.ts";

/**
 * The agent reports on change, and sends its full state again every --resync-interval even when
 * nothing changed, so a report the control lost (under HA: a control process that died holding it)
 * is repaired within one interval. Here the control's record of a running task is set back to
 * PENDING behind the agent's back, as if the report saying RUNNING had been lost; nothing changes
 * on the host, and the next resync brings the record back. Real control service, agent process
 * and Docker.
 */
const cluster = "resync";
const env = singleAgentCluster(cluster, { agentArgs: ["--resync-interval", "1"] });

describe("agent report resync (--resync-interval)", () => {
  test("an unchanged agent keeps sending its full state, and a lost report is repaired", async () => {
    const { tc } = env;
    await tc.api("POST", "/v1/task-definitions", {
      family: "resync-sleeper",
      containerDefinitions: [{ name: "main", image: "flotilla/busybox:test", memory: 32, stopTimeout: 2, command: ["sh", "-c", `trap "exit 0" TERM; sleep 600 & wait`] }],
    });
    const run = await tc.api("POST", `/v1/clusters/${cluster}/tasks`, { taskDefinition: "resync-sleeper" });
    expect(run.body.failures).toEqual([]);
    const taskId = run.body.tasks[0].taskId as string;
    const running = await waitTaskStatus(tc, cluster, taskId, "RUNNING", 30_000);

    // Nothing changes on the host, yet reports keep coming.
    const before = tc.control.link.stats.reports;
    await waitFor("two more reports from an unchanged agent", () => tc.control.link.stats.reports >= before + 2, { timeoutMs: 10_000 });

    // The control forgets that the task runs.
    await tc.db.db.update(tasks).set({ lastStatus: "PENDING" }).where(eq(tasks.id, taskId));
    expect((await tc.api("GET", `/v1/clusters/${cluster}/tasks/${taskId}`)).body.task.lastStatus).toBe("PENDING");
    const repaired = await waitTaskStatus(tc, cluster, taskId, "RUNNING", 10_000);
    expect(repaired.containers[0].runtimeId).toBe(running.containers[0].runtimeId);

    await tc.api("POST", `/v1/clusters/${cluster}/tasks/${taskId}/stop`, { reason: "test done" });
    await waitTaskStatus(tc, cluster, taskId, "STOPPED", 30_000);
  }, 90_000);
});
