/**
 * Log streaming benchmark (issue 3): a task container writes N MiB of log lines; measures how
 * long the control service's logs API takes to deliver all of it from a real agent over the
 * embedded MQTT broker, and the time to the first byte of a tail. Prints one JSON object.
 *
 *   bun scripts/bench/agent-logs.ts [--mib N]
 */
import { startTestControl, TEST_TOKEN } from "../../test/helpers/control.ts";
import { removeInstanceContainers } from "../../test/helpers/docker.ts";
import { startRegisteredAgent, waitTaskStatus } from "../../test/helpers/fleet.ts";
import { waitFor } from "../../test/helpers/wait.ts";

const mibArg = process.argv.indexOf("--mib");
const MIB = mibArg > 0 ? Number(process.argv[mibArg + 1]) : 20;
const LINE = 100; // bytes per line including the newline
const lines = Math.floor((MIB * 1024 * 1024) / LINE);

const tc = await startTestControl();
const { agent, instanceId } = await startRegisteredAgent(tc, "bench-logs");
try {
  const reg = await tc.api("POST", "/v1/task-definitions", {
    family: "chatty",
    containerDefinitions: [
      {
        name: "app",
        image: "flotilla/busybox:test",
        memory: 64,
        stopTimeout: 2,
        // 99 characters and a newline per line, then stay up until stopped.
        command: ["sh", "-c", `trap "exit 0" TERM; yes $(printf '%099d' 0) | head -n ${lines}; echo done; sleep 600 & wait`],
      },
    ],
  });
  if (reg.status !== 201) throw new Error(`register failed: ${JSON.stringify(reg.body)}`);
  const run = await tc.api("POST", "/v1/clusters/bench-logs/tasks", { taskDefinition: "chatty" });
  if (!run.body.tasks?.length) throw new Error(`run failed: ${JSON.stringify(run.body)}`);
  const taskId: string = run.body.tasks[0].taskId;
  await waitTaskStatus(tc, "bench-logs", taskId, "RUNNING");
  const url = (q: string) => `${tc.control.httpUrl}/v1/clusters/bench-logs/tasks/${taskId}/logs?${q}`;
  const headers = { authorization: `Bearer ${TEST_TOKEN}` };
  await waitFor("the container to finish writing", async () => (await (await fetch(url("tail=1"), { headers })).text()) === "done\n", { timeoutMs: 120_000, intervalMs: 500 });

  const t0 = performance.now();
  const tail = await fetch(url("tail=10"), { headers });
  await tail.text();
  const tailMs = performance.now() - t0;

  const t1 = performance.now();
  const all = await fetch(url(""), { headers });
  let bytes = 0;
  for await (const chunk of all.body!) bytes += chunk.length;
  const fullMs = performance.now() - t1;

  console.log(
    JSON.stringify({
      benchmark: "agent-logs",
      logMiB: MIB,
      deliveredBytes: bytes,
      complete: bytes === lines * LINE + 5,
      fullReadSeconds: Math.round(fullMs / 10) / 100,
      throughputMiBps: Math.round((bytes / 1024 / 1024 / (fullMs / 1000)) * 10) / 10,
      tail10Ms: Math.round(tailMs),
    }),
  );
} finally {
  await agent.stop();
  await removeInstanceContainers(instanceId);
  await tc.stop();
}
