import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createClient } from "@libsql/client";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AgentProcess } from "../helpers/agent-process.ts";
import { removeInstanceContainers, runningWithLabel } from "../helpers/docker.ts";
import { startRegisteredAgent } from "../helpers/fleet.ts";
import { waitFor } from "../helpers/wait.ts";
import { asTestControl, startControlProcess, type ControlProcess } from "../control/leader/control-process.ts";
import { startMosquitto, type Mosquitto } from "../control/security/mosquitto.ts";

/**
 * Control-plane failover: three control processes (`--ha`) share one libSQL file and one Mosquitto.
 * The leader is killed with SIGKILL in the middle of a service deployment; another process takes
 * the lease over, its scheduler finishes the deployment, and no task is lost or duplicated.
 */
const C = "ha";
const SVC = "web";
const td = (v: string) => ({
  family: "ha-web",
  containerDefinitions: [
    { name: "w", image: "flotilla/busybox:test", memory: 32, essential: true, stopTimeout: 2, environment: [{ name: "VERSION", value: v }] },
  ],
});

let dir: string;
let mq: Mosquitto;
const controls: ControlProcess[] = [];
const agents: { agent: AgentProcess; instanceId: string }[] = [];
let dbUrl: string;

async function leaseRow(): Promise<{ holder: string; token: number } | undefined> {
  const c = createClient({ url: dbUrl });
  try {
    const r = await c.execute("SELECT holder, token FROM leases WHERE name = 'control-leader'");
    return r.rows[0] ? { holder: String(r.rows[0].holder), token: Number(r.rows[0].token) } : undefined;
  } finally {
    c.close();
  }
}

const electedRe = (id: string) => new RegExp(`"msg":"${id} elected`);
/** Lines where a control process failed to handle an agent message (a report lost with it). */
const controlErrors = () => controls.flatMap((c) => c.output().split("\n").filter((l) => /error handling|SQLITE_BUSY/.test(l)).map((l) => `${c.id}: ${l}`));

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "flotilla-ha-"));
  dbUrl = `file:${join(dir, "flotilla.db")}`;
  mq = await startMosquitto();
  const masterKey = randomBytes(32).toString("hex");
  // One after the other: the first start creates the schema (migrations are not safe to race).
  for (const id of ["c1", "c2", "c3"]) {
    controls.push(await startControlProcess({ id, db: dbUrl, broker: mq, masterKey }));
  }
}, 60_000);

afterAll(async () => {
  for (const a of agents) await a.agent.stop();
  for (const a of agents) await removeInstanceContainers(a.instanceId);
  for (const c of controls) await c.stop();
  await mq?.stop();
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe("control plane high availability", () => {
  test("exactly one of three control processes leads", async () => {
    await waitFor("a leader", () => controls.some((c) => c.lineAt(/"component":"leader".*"msg":"\S+ elected/)));
    const leaders = controls.filter((c) => c.lineAt(/"component":"leader".*"msg":"\S+ elected/));
    expect(leaders.map((c) => c.id)).toEqual(["c1"]);
    expect(await leaseRow()).toEqual({ holder: "c1", token: 1 });
  });

  test("kill -9 of the leader during a deployment: another takes over, the deployment completes, no task is lost or duplicated", async () => {
    const [leader, api] = [controls[0]!, controls[1]!];
    // Agents register through the shared subscription; the API is served by a follower.
    const tc = asTestControl(api, mq.url);
    agents.push(await startRegisteredAgent(tc, C), await startRegisteredAgent(tc, C));
    expect((await api.api("POST", "/v1/task-definitions", td("1"))).status).toBe(201);
    expect((await api.api("POST", "/v1/task-definitions", td("2"))).status).toBe(201);
    expect((await api.api("POST", `/v1/clusters/${C}/services`, { serviceName: SVC, taskDefinition: "ha-web:1", desiredCount: 4 })).status).toBe(201);
    const steady = (revision: string) => async () => {
      const svc = (await api.api("GET", `/v1/clusters/${C}/services/${SVC}`)).body.service;
      const dep = svc?.deployments?.[0];
      return svc?.deployments?.length === 1 && dep.rolloutState === "COMPLETED" && dep.taskDefinition.endsWith(revision) && svc.runningCount === 4 && svc.pendingCount === 0;
    };
    await waitFor("4 tasks of revision 1 running", steady(":1"), { timeoutMs: 30_000 });

    const upd = await api.api("PATCH", `/v1/clusters/${C}/services/${SVC}`, { taskDefinition: "ha-web:2" });
    expect(upd.status).toBe(200);
    const tasksOf = async () => {
      const list = async (d: string) => (await api.api("GET", `/v1/clusters/${C}/tasks?desiredStatus=${d}`)).body.tasks as any[];
      return [...(await list("RUNNING")), ...(await list("STOPPED"))].filter((t) => t.group === `service:${SVC}`);
    };
    // Mid-deployment: the leader has launched new tasks that are not all running yet.
    await waitFor("the deployment to start", async () => (await tasksOf()).some((t) => t.taskDefinitionArn.endsWith(":2")), { intervalMs: 10 });
    const atKill = (await api.api("GET", `/v1/clusters/${C}/services/${SVC}`)).body.service;
    expect(atKill.deployments[0].rolloutState).toBe("IN_PROGRESS");
    const killedAt = Date.now();
    await leader.kill9();

    const successor = await waitFor(
      "another control process to take the lease over",
      () => controls.slice(1).find((c) => c.lineAt(electedRe(c.id))),
      { timeoutMs: 10_000, intervalMs: 10 },
    );
    const failoverMs = successor.lineAt(electedRe(successor.id))! - killedAt;
    expect(failoverMs).toBeLessThan(10_000);
    expect(await leaseRow()).toEqual({ holder: successor.id, token: 2 });

    await waitFor("4 tasks of revision 2 running, the deployment COMPLETED", steady(":2"), { timeoutMs: 60_000 });
    const completedMs = Date.now() - killedAt;

    const all = await tasksOf();
    const v2 = all.filter((t) => t.taskDefinitionArn.endsWith(":2"));
    const v1 = all.filter((t) => t.taskDefinitionArn.endsWith(":1"));
    // Not duplicated: exactly the 4 new tasks were ever created, each with one container.
    expect(v2).toHaveLength(4);
    expect(v2.every((t) => t.lastStatus === "RUNNING" && t.desiredStatus === "RUNNING")).toBe(true);
    for (const t of v2) expect(await runningWithLabel(`flotilla.task-id=${t.taskId}`)).toHaveLength(1);
    // Not lost: the 4 old tasks were all stopped by the deployment, and nothing else runs.
    expect(v1).toHaveLength(4);
    await waitFor("the old tasks to stop", async () => (await tasksOf()).filter((t) => t.taskDefinitionArn.endsWith(":1")).every((t) => t.lastStatus === "STOPPED"), { timeoutMs: 30_000 }).catch((e: Error) => {
      // A report the control processes failed to apply is never sent again: say so if it happened.
      throw new Error(`${e.message}; control errors: ${controlErrors().join(" | ") || "none"}`);
    });
    const containers = (await Promise.all(agents.map((a) => runningWithLabel(`flotilla.instance-id=${a.instanceId}`)))).flat();
    expect(containers).toHaveLength(4);

    console.log(JSON.stringify({ bench: "failover", leaseTtlMs: 5000, failoverMs, deploymentCompletedAfterKillMs: completedMs }));
  }, 120_000);

  test("a leader frozen past its lease (SIGSTOP) is replaced, and on waking it steps down without acting", async () => {
    const held = (await leaseRow())!;
    const frozen = controls.find((c) => c.id === held.holder)!;
    const other = controls.find((c) => c.id !== held.holder && c.id !== "c1")!;
    frozen.pause();
    try {
      await waitFor("the other process to take over", () => other.lineAt(new RegExp(`"msg":"${other.id} elected \\(token ${held.token + 1}\\)`)), { timeoutMs: 10_000, intervalMs: 20 });
      // While frozen, the service changes through the new leader.
      expect((await other.api("PATCH", `/v1/clusters/${C}/services/${SVC}`, { desiredCount: 2 })).status).toBe(200);
    } finally {
      frozen.resume();
    }
    await waitFor("the woken process to step down", () => frozen.lineAt(new RegExp(`"msg":"${frozen.id} deposed \\(token ${held.token}\\)`)), { timeoutMs: 10_000 });
    expect(await leaseRow()).toEqual({ holder: other.id, token: held.token + 1 });
    await waitFor("the service to settle at 2 tasks", async () => {
      const svc = (await other.api("GET", `/v1/clusters/${C}/services/${SVC}`)).body.service;
      return svc.runningCount === 2 && svc.pendingCount === 0 && svc.deployments.length === 1;
    }, { timeoutMs: 30_000 });
    const running = (await other.api("GET", `/v1/clusters/${C}/tasks`)).body.tasks.filter((t: any) => t.group === `service:${SVC}`);
    expect(running).toHaveLength(2);
    await waitFor("exactly 2 containers running", async () => {
      const containers = (await Promise.all(agents.map((a) => runningWithLabel(`flotilla.instance-id=${a.instanceId}`)))).flat();
      return containers.length === 2;
    }, { timeoutMs: 30_000 });
  }, 60_000);
});
