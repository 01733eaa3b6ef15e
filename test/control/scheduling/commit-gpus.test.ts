import { afterEach, beforeEach, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { containerInstances } from "../../../control/db/schema.ts";
import { newId } from "../../../control/ids.ts";
import { CommitPipeline } from "../../../control/scheduling/commit-pipeline.ts";
import { encodeTaskRows } from "../../../control/scheduling/task-insert.ts";
import { addInstance, createTestOps, type TestOps } from "../../helpers/ops.ts";
import { sharedTaskColumns } from "./task-columns.ts";

// The commit's own guard for GPUs, beneath the version check: a claim naming a GPU id the
// instance's row already holds is a conflict even at the version the row has, so a mistake
// anywhere above the commit (a stale index, a bug in booking) costs a retry, never a GPU given twice.
let t: TestOps;
let pipeline: CommitPipeline;
let inst: string;
const reservation = { cpu: 0, memory: 16, tcpPorts: [], udpPorts: [], gpus: 1 };

beforeEach(async () => {
  t = await createTestOps();
  await t.request("POST", "/v1/clusters", { clusterName: "edge" });
  inst = await addInstance(t, "edge", { cpu: 1000, memory: 1000, gpus: ["GPU-a", "GPU-b"] });
  pipeline = new CommitPipeline({ path: t.db.file!, remote: false });
});
afterEach(() => {
  pipeline.close();
  t.close();
});

const row = async () => (await t.ctx.db.select().from(containerInstances).where(eq(containerInstances.id, inst)).get())!;

/** One task on the instance taking `gpu`, claimed at `version`, as the placement path submits it. */
function submit(gpu: string, version: number) {
  const id = newId();
  const rows = [{ id, arn: `arn:aws:ecs:local:000000000000:task/edge/${id}`, instanceId: inst }];
  const own = [{ reservation: { ...reservation, gpuIds: [gpu] }, containers: [{ name: "infer", image: "busybox", lastStatus: "PENDING", gpuIds: [gpu] }] }];
  return pipeline.submit(reservation, new Map([[inst, 1]]), () => version, encodeTaskRows(sharedTaskColumns("single", "family:single", reservation), rows, own), undefined, new Map([[inst, [gpu]]]));
}

test("a claim on a GPU the row already holds conflicts even at the row's current version", async () => {
  expect(await submit("GPU-a", (await row()).version)).toBe("committed");
  expect((await row()).usedGpus).toEqual(["GPU-a"]);
  const version = (await row()).version;
  expect(await submit("GPU-a", version)).toBe("conflict");
  expect((await row()).version).toBe(version);
  expect((await row()).usedGpus).toEqual(["GPU-a"]);
  // The other GPU is still there to take (once the instance is re-read, as the index does after a conflict).
  pipeline.refreshed([inst]);
  expect(await submit("GPU-b", version)).toBe("committed");
  expect((await row()).usedGpus).toEqual(["GPU-a", "GPU-b"]);
});
