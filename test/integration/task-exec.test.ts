import { beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { cli } from "../cli/run-cli.ts";
import type { AgentProcess } from "../helpers/agent-process.ts";
import { TEST_TOKEN, type TestControl } from "../helpers/control.ts";
import { docker } from "../helpers/docker.ts";
import { singleAgentCluster, waitTaskStatus } from "../helpers/fleet.ts";
import { waitFor } from "../helpers/wait.ts";

/**
 * ECS Exec behind NAT: ExecuteCommand over HTTP, the session's WebSocket on the control, and the
 * command relayed to the agent over its own outbound MQTT link into a real Docker container.
 */
let tc: TestControl;
let agent: AgentProcess;
const CLUSTER = "exec";
let taskId: string;
let containerId: string;

singleAgentCluster(CLUSTER, { ready: (c) => ({ tc, agent } = c) });

beforeAll(async () => {
  const reg = await tc.api("POST", "/v1/task-definitions", {
    family: "shell",
    containerDefinitions: [{ name: "app", image: "flotilla/busybox:test", memory: 32, stopTimeout: 2, command: ["sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait"] }],
  });
  expect(reg.body.error).toBeUndefined();
  const run = await tc.api("POST", `/v1/clusters/${CLUSTER}/tasks`, { taskDefinition: "shell" });
  expect(run.body.failures).toEqual([]);
  taskId = run.body.tasks[0].taskId;
  const task = await waitTaskStatus(tc, CLUSTER, taskId, "RUNNING");
  containerId = task.containers[0].runtimeId;
}, 60_000);

interface Ended {
  stdout: string;
  stderr: string;
  exitCode?: number;
  error?: string;
}

/** A client of one session: ExecuteCommand, then its WebSocket. */
async function openSession(body: Record<string, unknown>, size?: { cols: number; rows: number }) {
  const res = await tc.api("POST", `/v1/clusters/${CLUSTER}/tasks/${taskId}/exec`, body);
  if (res.status !== 200) throw new Error(`ExecuteCommand answered ${res.status}: ${JSON.stringify(res.body)}`);
  const url = new URL(tc.control.httpUrl.replace(/^http/, "ws") + res.body.session.streamUrl);
  url.searchParams.set("token", res.body.session.tokenValue);
  if (size) for (const [k, v] of Object.entries(size)) url.searchParams.set(k, String(v));
  const ws = new WebSocket(url.toString());
  const out: Ended = { stdout: "", stderr: "" };
  const ended = new Promise<Ended>((resolve) => {
    ws.onmessage = (e) => {
      const f = JSON.parse(String(e.data));
      if (f.stdout) out.stdout += Buffer.from(f.stdout, "base64").toString();
      if (f.stderr) out.stderr += Buffer.from(f.stderr, "base64").toString();
      if (f.exitCode !== undefined) out.exitCode = f.exitCode;
      if (f.error !== undefined) out.error = f.error;
    };
    ws.onclose = () => resolve(out);
  });
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = () => reject(new Error("the exec stream did not open"));
  });
  const send = (msg: object) => ws.send(JSON.stringify(msg));
  return {
    ws,
    session: res.body.session,
    out,
    ended,
    type: (text: string) => send({ stdin: Buffer.from(text).toString("base64") }),
    resize: (s: { cols: number; rows: number }) => send({ resize: s }),
    eof: () => send({ eof: true }),
    /** Waits until the output so far matches. */
    waitOutput: (what: string, re: RegExp) => waitFor(what, () => re.test(out.stdout), { timeoutMs: 10_000, intervalMs: 20 }),
  };
}

/** Processes running in the task's container, as the host sees them. */
const processes = () => docker("top", containerId, "-o", "pid,args");

describe("exec into a task container over the agent link", () => {
  test("echo $HOSTNAME prints the container's hostname and exits 0; exit 7 is 7; stderr stays apart", async () => {
    const hostname = await docker("inspect", "-f", "{{.Config.Hostname}}", containerId);
    const echo = await (await openSession({ command: ["sh", "-c", "echo $HOSTNAME; echo oops >&2"] })).ended;
    expect(echo).toEqual({ stdout: `${hostname}\n`, stderr: "oops\n", exitCode: 0 });

    const seven = await (await openSession({ container: "app", command: ["sh", "-c", "exit 7"] })).ended;
    expect(seven.exitCode).toBe(7);
    expect(seven.error).toBeUndefined();
    // A string command is split on whitespace, as ECS does.
    expect((await (await openSession({ command: "echo split words" })).ended).stdout).toBe("split words\n");
    expect(tc.control.link.execSessions.running).toBe(0);
  });

  test("stdin reaches the command and closing it ends the command", async () => {
    const s = await openSession({ command: ["cat"], interactive: true });
    s.type("hello over mqtt\n");
    s.eof();
    expect(await s.ended).toEqual({ stdout: "hello over mqtt\n", stderr: "", exitCode: 0 });
  });

  test("an interactive sh under a pty: typed commands run, a resize changes stty size, exit ends it", async () => {
    const s = await openSession({ command: ["sh"], interactive: true, tty: true }, { cols: 80, rows: 24 });
    s.type("stty size\n");
    await s.waitOutput("the first stty size", /24 80/);
    s.type("echo product=$((6*7))\n");
    await s.waitOutput("the shell's arithmetic", /product=42/);
    s.resize({ cols: 132, rows: 43 });
    // The resize goes to Docker before the next typed line (input pieces are applied in order).
    s.type("stty size\n");
    await s.waitOutput("stty size after the resize", /43 132/);
    s.type("exit 3\n");
    const end = await s.ended;
    expect(end.exitCode).toBe(3);
    expect(end.stderr).toBe(""); // a pty merges both streams
  });

  test("a session whose client vanishes is killed on the host", async () => {
    const s = await openSession({ command: ["sleep", "4242"], interactive: true, tty: true });
    await waitFor("sleep 4242 to run in the container", async () => (await processes()).includes("sleep 4242"));
    // Gone without a word: no eof, no close handshake from the client's side.
    (s.ws as WebSocket & { terminate?: () => void }).terminate?.() ?? s.ws.close();
    await waitFor("the exec's process to be gone", async () => !(await processes()).includes("sleep 4242"), { timeoutMs: 15_000 });
    await waitFor("the control to forget the session", () => tc.control.link.execSessions.running === 0);

    // Without a pty too (the process is not a group leader there).
    const plain = await openSession({ command: ["sleep", "4243"] });
    await waitFor("sleep 4243 to run", async () => (await processes()).includes("sleep 4243"));
    plain.ws.close();
    await waitFor("sleep 4243 to be gone", async () => !(await processes()).includes("sleep 4243"), { timeoutMs: 15_000 });
  });

  test("a session longer than its timeout is killed and says why", async () => {
    const s = await openSession({ command: ["sleep", "4344"], timeoutSeconds: 1 });
    const end = await s.ended;
    expect(end.exitCode).toBeUndefined();
    expect(end.error).toContain("timeout");
    expect(await processes()).not.toContain("sleep 4344");
  });

  test("the stream needs the session's token, once", async () => {
    const res = await tc.api("POST", `/v1/clusters/${CLUSTER}/tasks/${taskId}/exec`, { command: ["true"] });
    expect(res.status).toBe(200);
    expect(res.body.session.sessionId).toStartWith("ecs-execute-command-");
    const stream = `${tc.control.httpUrl}${res.body.session.streamUrl}`;
    expect((await fetch(`${stream}?token=wrong`)).status).toBe(401);
    // Right token, but not a WebSocket: refused without using the session up.
    expect((await fetch(`${stream}?token=${res.body.session.tokenValue}`)).status).toBe(426);
    const ws = new WebSocket(`${stream.replace(/^http/, "ws")}?token=${res.body.session.tokenValue}`);
    const frames: any[] = [];
    ws.onmessage = (e) => frames.push(JSON.parse(String(e.data)));
    await new Promise((resolve) => (ws.onclose = resolve));
    expect(frames).toEqual([{ exitCode: 0 }]);
    // Used: the token opens nothing any more.
    expect((await fetch(`${stream}?token=${res.body.session.tokenValue}`)).status).toBe(401);
  });

  test("bad input is a 400 naming the field, an unknown container included", async () => {
    const noCommand = await tc.api("POST", `/v1/clusters/${CLUSTER}/tasks/${taskId}/exec`, {});
    expect(noCommand.status).toBe(400);
    expect(noCommand.body.error.fields[0].path).toBe("command");
    const badTimeout = await tc.api("POST", `/v1/clusters/${CLUSTER}/tasks/${taskId}/exec`, { command: ["true"], timeoutSeconds: 0 });
    expect(badTimeout.status).toBe(400);
    expect(badTimeout.body.error.fields[0].path).toBe("timeoutSeconds");
    const noContainer = await tc.api("POST", `/v1/clusters/${CLUSTER}/tasks/${taskId}/exec`, { command: ["true"], container: "nope" });
    expect(noContainer.status).toBe(400);
    expect(noContainer.body.error.fields[0].path).toBe("container");
  });

  test("refused by the cluster policy and for a read-only token; audited with the token's name", async () => {
    expect((await tc.api("PUT", `/v1/clusters/${CLUSTER}/policy`, { allowExec: false })).status).toBe(200);
    const refused = await tc.api("POST", `/v1/clusters/${CLUSTER}/tasks/${taskId}/exec`, { command: ["true"] });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe("AccessDeniedException");
    expect(refused.body.error.message).toContain("allowExec");
    // The CLI says the same and exits 1.
    const viaCli = await cli(["tasks", "exec", "-c", CLUSTER, taskId, "--", "true"], { FLOTILLA_API_URL: tc.control.httpUrl, FLOTILLA_TOKEN: TEST_TOKEN });
    expect(viaCli.code).toBe(1);
    expect(viaCli.stderr).toContain("allowExec");
    // PUT replaces the policy: without allowExec, exec is allowed again (its default).
    expect((await tc.api("PUT", `/v1/clusters/${CLUSTER}/policy`, {})).status).toBe(200);

    const created = await tc.api("POST", "/v1/tokens", { name: "watcher", role: "read-only" });
    expect(created.status).toBe(201);
    const ro = await tc.api("POST", `/v1/clusters/${CLUSTER}/tasks/${taskId}/exec`, { command: ["true"] }, created.body.token);
    expect(ro.status).toBe(403);
    const op = await tc.api("POST", "/v1/tokens", { name: "oncall", role: "operator" });
    const allowed = await tc.api("POST", `/v1/clusters/${CLUSTER}/tasks/${taskId}/exec`, { command: ["true"] }, op.body.token);
    expect(allowed.status).toBe(200);

    const entries = (await tc.api("GET", "/v1/audit?limit=20")).body.entries as any[];
    const execs = entries.filter((e) => e.action === "ExecuteCommand");
    expect(execs.find((e) => e.who?.name === "oncall")?.status).toBe(200);
    expect(execs.find((e) => e.who?.name === "watcher")?.status).toBe(403);
  });

  test("the CLI runs a command and exits with its exit code", async () => {
    const hostname = await docker("inspect", "-f", "{{.Config.Hostname}}", containerId);
    const r = await cli(["tasks", "exec", "-c", CLUSTER, taskId, "--container", "app", "--", "sh", "-c", "echo $HOSTNAME; echo to-stderr >&2; exit 5"], {
      FLOTILLA_API_URL: tc.control.httpUrl,
      FLOTILLA_TOKEN: TEST_TOKEN,
    });
    expect(r.stdout).toBe(`${hostname}\n`);
    expect(r.stderr).toBe("to-stderr\n");
    expect(r.code).toBe(5);
  });

  test("the CLI with -i sends its stdin and closes the command's at its end", async () => {
    const proc = Bun.spawn(["bun", join(import.meta.dir, "../../control/cli/main.ts"), "tasks", "exec", "-c", CLUSTER, "-i", taskId, "--", "sh", "-c", "wc -l; exit 2"], {
      stdin: new Blob(["one\ntwo\nthree\n"]),
      stdout: "pipe",
      stderr: "pipe",
      env: { PATH: process.env.PATH, HOME: process.env.HOME, FLOTILLA_CONFIG: "/nonexistent/flotilla.json", FLOTILLA_API_URL: tc.control.httpUrl, FLOTILLA_TOKEN: TEST_TOKEN },
    });
    const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    expect(stderr).toBe("");
    expect(stdout.trim()).toBe("3");
    expect(code).toBe(2);
  });

  // Last: it stops the file's agent.
  test("an agent that stops cleanly kills its sessions' commands first (Docker would keep them)", async () => {
    const s = await openSession({ command: ["sleep", "4747"] });
    await waitFor("sleep 4747 to run", async () => (await processes()).includes("sleep 4747"));
    await agent.stop();
    expect(await processes()).not.toContain("sleep 4747");
    const end = await s.ended;
    expect(end.exitCode).toBeUndefined();
    expect(end.error).toBeDefined();
  });
});
