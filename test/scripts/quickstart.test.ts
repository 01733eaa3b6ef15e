import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { removeInstanceContainers } from "../helpers/docker.ts";
import { waitFor } from "../helpers/wait.ts";

/** The README's first command, run as a user would: it must bring up a working Flotilla. */
const ROOT = join(import.meta.dir, "..", "..");
const home = mkdtempSync(join(tmpdir(), "flotilla-quickstart-"));
let instanceId: string | undefined;

afterAll(async () => {
  if (instanceId) await removeInstanceContainers(instanceId);
  rmSync(home, { recursive: true, force: true });
});

async function runQuickstart() {
  const proc = Bun.spawn(["bash", join(ROOT, "scripts/quickstart")], {
    cwd: ROOT,
    env: { ...process.env, FLOTILLA_HOME: home, FLOTILLA_HTTP_PORT: "0", FLOTILLA_MQTT_PORT: "0" },
    stdout: "pipe",
    stderr: "pipe",
  });
  let out = "";
  const pump = async (s: ReadableStream<Uint8Array>) => {
    for await (const chunk of s) out += new TextDecoder().decode(chunk);
  };
  void pump(proc.stdout);
  void pump(proc.stderr);
  try {
    await waitFor("quickstart to say Flotilla is running", () => out.includes("Flotilla is running"), { timeoutMs: 90_000 });
  } catch (e) {
    proc.kill("SIGINT");
    throw new Error(`${(e as Error).message}\n--- quickstart output ---\n${out}`);
  }
  return { proc, output: () => out };
}

test("scripts/quickstart starts the control service, a local agent and a running sample service; a second run reuses them", async () => {
  const first = await runQuickstart();
  expect(first.output()).toMatch(/sample:\s+service web \(task definition webserver\), RUNNING/);
  const api = /API:\s+(http:\/\/\S+)/.exec(first.output())![1]!;
  const token = readFileSync(join(home, "admin-token"), "utf8").trim();
  const get = async (path: string) => (await fetch(api + path, { headers: { authorization: `Bearer ${token}` } })).json() as Promise<any>;
  const svc = (await get("/v1/clusters/default/services/web")).service;
  expect(svc).toMatchObject({ status: "ACTIVE", desiredCount: 1, runningCount: 1 });
  const instances = (await get("/v1/clusters/default/container-instances")).containerInstances;
  expect(instances).toHaveLength(1);
  instanceId = instances[0].containerInstanceId;

  first.proc.kill("SIGINT");
  expect(await first.proc.exited).toBe(0);

  // Again: same instance (no new registration), same service, its task adopted rather than duplicated.
  const second = await runQuickstart();
  try {
    const api2 = /API:\s+(http:\/\/\S+)/.exec(second.output())![1]!;
    const get2 = async (path: string) => (await fetch(api2 + path, { headers: { authorization: `Bearer ${token}` } })).json() as Promise<any>;
    expect((await get2("/v1/clusters/default/container-instances")).containerInstances.map((i: any) => i.containerInstanceId)).toEqual([instanceId]);
    const tasks = (await get2("/v1/clusters/default/tasks")).tasks;
    expect(tasks).toHaveLength(1);
    expect(tasks[0].lastStatus).toBe("RUNNING");
  } finally {
    second.proc.kill("SIGINT");
    await second.proc.exited;
  }
});
