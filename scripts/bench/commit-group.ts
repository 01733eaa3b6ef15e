/**
 * The commit worker's writes driven alone (no placement, no threads): groups of RunTask commits
 * (1..10 tasks each, one or two instances claimed, each task with its "ECS Task State Change"
 * event) written by CommitConnection.writeGroup (the shared multi-row INSERTs, savepoints only
 * where a job can fail after writing) and by writeGroupOneByOne (each job in its own savepoint
 * with its own statements, the path before), taken in turns on the same file. Prints one JSON
 * object: CPU microseconds per task of each (the process's user + system time around each
 * writeGroup call), per group size: CPU time rather than wall-clock time, so it scatters much less
 * with the machine's load than placement-commit.ts does.
 *
 *   bun scripts/bench/commit-group.ts [--rounds N] [--groups 1,4,8]
 */
import { parseArgs } from "node:util";
import { containerInstances } from "../../control/db/schema.ts";
import { newId } from "../../control/ids.ts";
import { CommitConnection } from "../../control/scheduling/commit-connection.ts";
import type { CommitJob, WriteReply } from "../../control/scheduling/commit-job.ts";
import { encodeTaskRows } from "../../control/scheduling/task-insert.ts";
import { addInstance, createTestOps } from "../../test/helpers/ops.ts";
import { sharedTaskColumns } from "../../test/control/scheduling/task-columns.ts";

const { values } = parseArgs({ options: { rounds: { type: "string", default: "400" }, groups: { type: "string", default: "1,4,8" } } });
const ROUNDS = Number(values.rounds);
const GROUPS = values.groups!.split(",").map(Number);
const WARMUP = Math.floor(ROUNDS / 8);
const INSTANCES = 200;

const t = await createTestOps();
await t.request("POST", "/v1/clusters", { clusterName: "edge" });
const instanceIds: string[] = [];
for (let i = 0; i < INSTANCES; i++) instanceIds.push(await addInstance(t, "edge", { cpu: 1e9, memory: 1e9 }));
const versions = new Map((await t.ctx.db.select({ id: containerInstances.id, v: containerInstances.version }).from(containerInstances).all()).map((r) => [r.id, r.v]));
const conn = new CommitConnection({ path: t.db.file!, remote: false }, 5000);
const reservation = { cpu: 1, memory: 1, tcpPorts: [], udpPorts: [] };
let nextId = 1;
let k = 0;

/** A RunTask of 1..10 tasks: up to 5 on one instance, more split over two. */
function job(): CommitJob {
  const n = 1 + (k % 10);
  const targets = n > 5 ? [instanceIds[k % INSTANCES]!, instanceIds[(k * 7 + 3) % INSTANCES]!] : [instanceIds[k % INSTANCES]!];
  k++;
  const split = targets.map((instanceId, j) => [instanceId, j === 0 ? Math.ceil(n / targets.length) : n - Math.ceil(n / targets.length)] as const);
  const rows = split.flatMap(([instanceId, count]) =>
    Array.from({ length: count }, () => {
      const id = newId();
      return { id, arn: `arn:aws:ecs:local:000000000000:task/edge/${id}`, instanceId };
    }),
  );
  const encoded = encodeTaskRows(sharedTaskColumns("web", "g", reservation), rows);
  encoded.stateChangeEventsAt = Date.now();
  const claims = split.map(([instanceId, count]) => {
    const version = versions.get(instanceId)!;
    versions.set(instanceId, version + 1);
    return { instanceId, tasks: count, version, after: [] };
  });
  return { kind: "commit", id: nextId++, reservation, claims, rows: encoded };
}

const results: Record<string, { batchedUsPerTask: number; oneByOneUsPerTask: number; ratio: number }> = {};
for (const size of GROUPS) {
  const spent = { batched: 0, oneByOne: 0 };
  const tasks = { batched: 0, oneByOne: 0 };
  for (let round = 0; round < ROUNDS; round++) {
    for (const mode of round % 2 ? (["batched", "oneByOne"] as const) : (["oneByOne", "batched"] as const)) {
      const jobs = Array.from({ length: size }, job);
      const started = process.cpuUsage();
      const replies: WriteReply[] = mode === "batched" ? conn.writeGroup(jobs, new Map()) : conn.writeGroupOneByOne(jobs, new Map());
      const used = process.cpuUsage(started);
      const took = used.user + used.system;
      if (replies.some((r) => r.outcome !== "committed")) throw new Error(`unexpected outcome: ${JSON.stringify(replies)}`);
      if (round < WARMUP) continue;
      spent[mode] += took;
      tasks[mode] += jobs.reduce((sum, j) => sum + j.rows.identities.length, 0);
    }
  }
  const batched = spent.batched / tasks.batched;
  const oneByOne = spent.oneByOne / tasks.oneByOne;
  results[`group${size}`] = { batchedUsPerTask: +batched.toFixed(1), oneByOneUsPerTask: +oneByOne.toFixed(1), ratio: +(batched / oneByOne).toFixed(3) };
}
conn.close();
t.close();
console.log(JSON.stringify({ rounds: ROUNDS, instances: INSTANCES, results }));
