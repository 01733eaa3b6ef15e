import { describe, expect, test } from "bun:test";
import type { AgentProcess } from "../helpers/agent-process.ts";
import { TEST_TOKEN, type TestControl } from "../helpers/control.ts";
import { docker } from "../helpers/docker.ts";
import { singleAgentCluster, waitTaskStatus } from "../helpers/fleet.ts";
import { waitFor } from "../helpers/wait.ts";

/** Logs travel agent → MQTT → control → HTTP; the agent only ever connects out. */
let tc: TestControl;
let agent: AgentProcess;
let instanceId: string;
const CLUSTER = "logs";

const logsUrl = (taskId: string, query: string) => `${tc.control.httpUrl}/v1/clusters/${CLUSTER}/tasks/${taskId}/logs?${query}`;
const auth = { authorization: `Bearer ${TEST_TOKEN}` };

async function runTask(family: string, script: string, extra: Record<string, unknown> = {}): Promise<string> {
  const reg = await tc.api("POST", "/v1/task-definitions", {
    family,
    containerDefinitions: [{ name: "app", image: "flotilla/busybox:test", memory: 32, stopTimeout: 2, command: ["sh", "-c", script], ...extra }],
  });
  expect(reg.status).toBe(201);
  const run = await tc.api("POST", `/v1/clusters/${CLUSTER}/tasks`, { taskDefinition: family });
  expect(run.body.failures).toEqual([]);
  return run.body.tasks[0].taskId;
}

singleAgentCluster(CLUSTER, { ready: (c) => ({ tc, agent, instanceId } = c) });

describe("task logs over the agent link", () => {
  test("tail returns the last lines of stdout and stderr", async () => {
    const taskId = await runTask("talker", `trap "exit 0" TERM; for i in 1 2 3 4 5; do echo out$i; echo err$i >&2; done; sleep 600 & wait`);
    await waitTaskStatus(tc, CLUSTER, taskId, "RUNNING");
    const all = await waitFor("all ten lines", async () => {
      const r = await fetch(logsUrl(taskId, "container=app"), { headers: auth });
      const text = await r.text();
      return r.status === 200 && text.split("\n").filter(Boolean).length === 10 ? { r, text } : undefined;
    });
    expect(all.r.headers.get("content-type")).toStartWith("text/plain");
    expect(all.text.split("\n").filter(Boolean).sort()).toEqual(["err1", "err2", "err3", "err4", "err5", "out1", "out2", "out3", "out4", "out5"]);

    // Only one container in the task: the name may be left out.
    const tail = await fetch(logsUrl(taskId, "tail=2"), { headers: auth });
    expect(tail.status).toBe(200);
    const lines = (await tail.text()).split("\n").filter(Boolean);
    expect(lines).toHaveLength(2);
    // Docker keeps the two streams' order only within each stream: the last two are from the last rounds.
    for (const l of lines) expect(["out4", "out5", "err4", "err5"]).toContain(l);

    // since in the future: nothing yet.
    const since = await fetch(logsUrl(taskId, `since=${Math.floor(Date.now() / 1000) + 3600}`), { headers: auth });
    expect(since.status).toBe(200);
    expect(await since.text()).toBe("");
  });

  test("follow streams new lines and ends when the container stops", async () => {
    const taskId = await runTask("ticker", `for i in $(seq 1 12); do echo tick$i; sleep 0.25; done; exit 0`);
    await waitTaskStatus(tc, CLUSTER, taskId, "RUNNING");
    const res = await fetch(logsUrl(taskId, "container=app&follow=true"), { headers: auth });
    expect(res.status).toBe(200);
    const text = await res.text(); // resolves only when the stream ends: the container exited
    expect(text.split("\n").filter(Boolean)).toEqual(Array.from({ length: 12 }, (_, i) => `tick${i + 1}`));
    expect(tc.control.link.logRequests.inFlight).toBe(0);
    await waitTaskStatus(tc, CLUSTER, taskId, "STOPPED");
  });

  test("a follow stays open through a quiet spell longer than the HTTP server's idle timeout", async () => {
    const taskId = await runTask("quiet-spell", `echo first; sleep 11; echo second; exit 0`);
    await waitTaskStatus(tc, CLUSTER, taskId, "RUNNING");
    const res = await fetch(logsUrl(taskId, "follow=true"), { headers: auth });
    expect(await res.text()).toBe("first\nsecond\n");
  }, 30_000);

  test("a client that goes away cancels the follow on the agent", async () => {
    const taskId = await runTask("forever", `trap "exit 0" TERM; while true; do echo beat; sleep 0.1; done`);
    await waitTaskStatus(tc, CLUSTER, taskId, "RUNNING");
    const abort = new AbortController();
    const res = await fetch(logsUrl(taskId, "container=app&follow=true&tail=0"), { headers: auth, signal: abort.signal });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const { value } = await reader.read();
    expect(new TextDecoder().decode(value)).toContain("beat");
    abort.abort();
    await waitFor("the control to drop the request", () => tc.control.link.logRequests.inFlight === 0);
    const port = Number(/introspection API on http:\/\/127\.0\.0\.1:(\d+)/.exec(agent.output())![1]);
    await waitFor("the agent to stop reading", async () => {
      const meta: any = await (await fetch(`http://127.0.0.1:${port}/v1/metadata`)).json();
      return meta.LogStreams === 0;
    });
    await tc.api("POST", `/v1/clusters/${CLUSTER}/tasks/${taskId}/stop`, {});
  });

  test("the local log driver with options reaches Docker and its logs are served", async () => {
    const taskId = await runTask("local-driver", `trap "exit 0" TERM; echo via-local; sleep 600 & wait`, {
      logConfiguration: { logDriver: "local", options: { "max-size": "1m", "max-file": "2" } },
    });
    const t = await waitTaskStatus(tc, CLUSTER, taskId, "RUNNING");
    const cfg = JSON.parse(await docker("inspect", "--format", "{{json .HostConfig.LogConfig}}", t.containers[0].runtimeId));
    expect(cfg).toEqual({ Type: "local", Config: { "max-size": "1m", "max-file": "2" } });
    const text = await waitFor("the line", async () => {
      const body = await (await fetch(logsUrl(taskId, "container=app"), { headers: auth })).text();
      return body.includes("via-local") ? body : undefined;
    });
    expect(text).toBe("via-local\n");
    await tc.api("POST", `/v1/clusters/${CLUSTER}/tasks/${taskId}/stop`, {});
  });

  test("bad requests get clear errors", async () => {
    const taskId = await runTask("quiet", `trap "exit 0" TERM; sleep 600 & wait`);
    await waitTaskStatus(tc, CLUSTER, taskId, "RUNNING");
    const noSuch = await fetch(logsUrl(taskId, "container=nope"), { headers: auth });
    expect(noSuch.status).toBe(400);
    expect(((await noSuch.json()) as any).error.fields[0].path).toBe("container");
    const badTail = await fetch(logsUrl(taskId, "tail=lots"), { headers: auth });
    expect(badTail.status).toBe(400);
    expect(((await badTail.json()) as any).error.fields[0].path).toBe("tail");
    const noTask = await fetch(logsUrl("00000000000000000000000000000000", ""), { headers: auth });
    expect(noTask.status).toBe(404);
    const noToken = await fetch(logsUrl(taskId, ""));
    expect(noToken.status).toBe(401);
    await tc.api("POST", `/v1/clusters/${CLUSTER}/tasks/${taskId}/stop`, {});
  });
});
