import { afterEach, expect, test } from "bun:test";
import { events } from "../../../control/db/schema.ts";
import type { TaskContainer, TaskRow } from "../../../control/db/rows.ts";
import { encodeEvent } from "../../../control/events/log.ts";
import { taskStateChange } from "../../../control/events/shapes.ts";
import { createCluster } from "../../../control/ops/clusters.ts";
import { registerTaskDefinition } from "../../../control/ops/task-definitions.ts";
import { runTask } from "../../../control/ops/tasks.ts";
import { taskStateChangeEvents } from "../../../control/scheduling/task-events.ts";
import { encodeTaskRows, newTaskColumns } from "../../../control/scheduling/task-insert.ts";
import { WEBSERVER } from "../../helpers/fixtures.ts";
import { addInstance, createTestOps, type TestOps } from "../../helpers/ops.ts";

// RunTask's PROVISIONING events are built on the commit worker from the encoded rows; they must be
// exactly the events the rows themselves give.

const NOW = Date.UTC(2026, 11, 3, 6, 50, 1, 234);
const reservation = { cpu: 256, memory: 512, tcpPorts: [8080], udpPorts: [] };
const containers: TaskContainer[] = [
  { name: "web", image: "nginx:1.27", lastStatus: "PENDING" },
  { name: "sidecar", image: "busybox", lastStatus: "PENDING" },
];

function rowsOf(shared: ReturnType<typeof newTaskColumns>, n: number): TaskRow[] {
  return Array.from({ length: n }, (_, i) => ({ ...shared, id: `id${i}`, arn: `arn:aws:ecs:local:000000000000:task/edge/id${i}`, instanceId: `ci${i % 2}` }));
}

test("the worker's events equal the rows' own, for a plain RunTask and a service's tasks", () => {
  const shapes = [
    newTaskColumns({ clusterName: "edge", family: "web", revision: 3, taskDefinitionArn: "arn:td/web:3", group: "family:web", containers, reservation }, NOW),
    newTaskColumns(
      {
        clusterName: "edge",
        family: "web",
        revision: 3,
        taskDefinitionArn: "arn:td/web:3",
        group: "service:front",
        containers,
        reservation,
        startedBy: "ecs-svc/123",
        serviceName: "front",
        deploymentId: "d1",
        overrides: { containerOverrides: [{ name: "web", command: ["a \"quoted\" \u00e9"] }] },
        clientToken: "tok",
        clientRequest: "digest",
      },
      NOW,
    ),
  ];
  for (const shared of shapes) {
    const rows = rowsOf(shared, 3);
    const expected = rows.map((r) => encodeEvent(NOW, taskStateChange(r)));
    expect(taskStateChangeEvents(encodeTaskRows(shared, rows), NOW)).toEqual(expected);
  }
});

test("rows with columns of their own (GPU ids) get events from their own containers", () => {
  const shared = newTaskColumns({ clusterName: "edge", family: "gpu", revision: 1, taskDefinitionArn: "arn:td/gpu:1", group: "family:gpu", containers, reservation }, NOW);
  const rows = rowsOf(shared, 2).map((r, i) => ({
    ...r,
    reservation: { ...reservation, gpus: 1, gpuIds: [`g${i}`] },
    containers: containers.map((c) => (c.name === "web" ? { ...c, gpuIds: [`g${i}`] } : c)),
  }));
  const expected = rows.map((r) => encodeEvent(NOW, taskStateChange(r)));
  expect(taskStateChangeEvents(encodeTaskRows(shared, rows, rows), NOW)).toEqual(expected);
});

let t: TestOps | undefined;
afterEach(() => t?.close());

test("RunTask's stored PROVISIONING events are the returned tasks' state change events", async () => {
  t = await createTestOps();
  await createCluster(t.ctx, { clusterName: "c" });
  await registerTaskDefinition(t.ctx, { ...WEBSERVER, requiresCompatibilities: ["EXTERNAL"] });
  await addInstance(t, "c", { cpu: 4096, memory: 4096 });
  const run = await runTask(t.ctx, "c", { taskDefinition: "webserver", count: 3, startedBy: "me" });
  expect(run.tasks).toHaveLength(3);
  const stored = await t.ctx.db.select().from(events).all();
  const byTask = new Map(stored.filter((e) => e.detailType === "ECS Task State Change").map((e) => [e.taskId, e]));
  for (const task of run.tasks) {
    const [time, detailType, clusterName, serviceName, instanceId, taskId, body] = encodeEvent(task.createdAt, taskStateChange(task));
    expect(byTask.get(task.id)).toMatchObject({ time, detailType, clusterName, serviceName, instanceId, taskId, body });
  }
});
