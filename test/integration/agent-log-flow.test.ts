import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect, type Socket } from "node:net";
import type { AgentProcess } from "../helpers/agent-process.ts";
import { startTestControl, TEST_TOKEN, type TestControl } from "../helpers/control.ts";
import { removeInstanceContainers } from "../helpers/docker.ts";
import { startRegisteredAgent, waitTaskStatus } from "../helpers/fleet.ts";
import { waitFor } from "../helpers/wait.ts";

/**
 * Log follow flow control end to end: an HTTP client that stops reading a follow of a 40 MiB log
 * pauses the stream (socket → control → credit over MQTT → agent → Docker) instead of being cut
 * off, and gets every byte once it reads again. Real control service, agent process and Docker.
 */
let tc: TestControl;
let agent: AgentProcess;
let instanceId: string;
const CLUSTER = "log-flow";
const MIB = 40;
const LINE = `${"0".repeat(99)}\n`;
const LINES = Math.floor((MIB * 1024 * 1024) / LINE.length);
const CREDIT_WINDOW_BYTES = 32 * 64 * 1024;

beforeAll(async () => {
  tc = await startTestControl();
  ({ agent, instanceId } = await startRegisteredAgent(tc, CLUSTER));
});

afterAll(async () => {
  await agent?.stop();
  if (instanceId) await removeInstanceContainers(instanceId);
  await tc?.stop();
});

/** A bare HTTP/1.1 client whose reading the test can pause (fetch would buffer for us). */
function rawGet(url: URL): { socket: Socket; received: () => Buffer } {
  const socket = connect(Number(url.port), url.hostname);
  const parts: Buffer[] = [];
  socket.on("data", (d: Buffer) => parts.push(d));
  socket.write(`GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer ${TEST_TOKEN}\r\nConnection: close\r\n\r\n`);
  return { socket, received: () => Buffer.concat(parts) };
}

/** The body of a chunked HTTP/1.1 response received so far (complete chunks only). */
function dechunk(raw: Buffer): { head: string; body: Buffer } {
  const end = raw.indexOf("\r\n\r\n");
  const head = raw.subarray(0, end).toString();
  const out: Buffer[] = [];
  let at = end + 4;
  for (;;) {
    const lineEnd = raw.indexOf("\r\n", at);
    if (lineEnd < 0) break;
    const size = parseInt(raw.subarray(at, lineEnd).toString(), 16);
    if (!size || lineEnd + 2 + size > raw.length) break;
    out.push(raw.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
  return { head, body: Buffer.concat(out) };
}

describe("log follow flow control", () => {
  test("a client that stops reading pauses the stream end to end and later gets all of it", async () => {
    const reg = await tc.api("POST", "/v1/task-definitions", {
      family: "chatty",
      containerDefinitions: [
        {
          name: "app",
          image: "flotilla/busybox:test",
          memory: 64,
          stopTimeout: 2,
          command: ["sh", "-c", `trap "exit 0" TERM; yes ${"0".repeat(99)} | head -n ${LINES}; echo done; sleep 600 & wait`],
        },
      ],
    });
    expect(reg.status).toBe(201);
    const taskId: string = (await tc.api("POST", `/v1/clusters/${CLUSTER}/tasks`, { taskDefinition: "chatty" })).body.tasks[0].taskId;
    await waitTaskStatus(tc, CLUSTER, taskId, "RUNNING");
    const logsUrl = (q: string) => new URL(`${tc.control.httpUrl}/v1/clusters/${CLUSTER}/tasks/${taskId}/logs?${q}`);
    await waitFor("the whole log to be written", async () => {
      const res = await fetch(logsUrl("tail=1"), { headers: { authorization: `Bearer ${TEST_TOKEN}` } });
      return (await res.text()) === "done\n" ? true : undefined;
    }, { timeoutMs: 60_000 });

    const stats = tc.control.link.logRequests.stats;
    const before = { ...stats };
    const client = rawGet(logsUrl("follow=true"));
    await waitFor("the response to start", () => client.received().includes("\r\n\r\n"));
    expect(dechunk(client.received()).head).toMatch(/^HTTP\/1\.1 200/);
    client.socket.pause();

    // Wait until nothing moves any more: the socket buffers are full, the control stops pulling,
    // no credit goes back, the agent stops reading Docker's stream.
    let last = -1;
    let still = 0;
    await waitFor("the stream to stall", () => {
      const now = stats.bytesReceived;
      still = now === last ? still + 1 : 0;
      last = now;
      return still >= 5;
    }, { intervalMs: 200, timeoutMs: 30_000 });
    const stalled = { received: stats.bytesReceived - before.bytesReceived, read: stats.bytesRead - before.bytesRead };
    // Far less than the log came over the link, and the control holds at most the credit window.
    expect(stalled.received).toBeLessThan((MIB / 2) * 1024 * 1024);
    expect(stalled.received - stalled.read).toBeLessThanOrEqual(CREDIT_WINDOW_BYTES);
    expect(tc.control.link.logRequests.inFlight).toBe(1);
    // It stays paused (this is the one place a test must let time pass: to see that nothing happens).
    await Bun.sleep(1500);
    expect(stats.bytesReceived - before.bytesReceived).toBe(stalled.received);

    client.socket.resume();
    const body = await waitFor("every byte of the log", () => {
      const b = dechunk(client.received()).body;
      return b.length >= LINES * LINE.length + 5 ? b : undefined;
    }, { timeoutMs: 60_000 });
    expect(body.length).toBe(LINES * LINE.length + 5);
    expect(body.subarray(body.length - 5).toString()).toBe("done\n");
    expect(body.includes("[flotilla]")).toBe(false);
    expect(body.subarray(0, LINE.length * 3).toString()).toBe(LINE.repeat(3));

    client.socket.destroy();
    await waitFor("the follow to be cancelled", () => tc.control.link.logRequests.inFlight === 0);
  }, 120_000);
});
