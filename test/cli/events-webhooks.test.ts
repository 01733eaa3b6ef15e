import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { startTestControl, TEST_TOKEN, type TestControl } from "../helpers/control.ts";
import { addInstance } from "../helpers/ops.ts";
import { cli } from "./run-cli.ts";

/** `flotilla events list [--follow]` and `flotilla webhooks create|list|deliveries|delete` against a real control. */
let tc: TestControl;
let env: Record<string, string>;
let instanceId: string;

beforeAll(async () => {
  tc = await startTestControl();
  env = { FLOTILLA_API_URL: tc.control.httpUrl, FLOTILLA_TOKEN: TEST_TOKEN, FLOTILLA_CLUSTER: "cli-ev" };
  await tc.api("POST", "/v1/clusters", { clusterName: "cli-ev" });
  instanceId = await addInstance(tc.control, "cli-ev", { cpu: 1024, memory: 1024 });
});
afterAll(async () => {
  await tc.stop();
});

test("events list prints the cluster's events; --follow streams new ones", async () => {
  const listed = await cli(["events", "list", "-o", "json"], env);
  expect(listed.code).toBe(0);
  expect(listed.json().events.map((e: any) => e["detail-type"])).toContain("Flotilla Activation Used");
  const table = await cli(["events", "list"], env);
  expect(table.stdout.split("\n")[0]).toMatch(/^ID\s+TIME\s+TYPE\s+RESOURCE\s+DETAIL$/);

  const proc = Bun.spawn(["bun", join(import.meta.dir, "../../control/cli/main.ts"), "events", "list", "--follow"], {
    stdout: "pipe",
    stderr: "pipe",
    env: { PATH: process.env.PATH, HOME: process.env.HOME, FLOTILLA_CONFIG: "/nonexistent/flotilla.json", ...env },
  });
  try {
    let out = "";
    const dec = new TextDecoder();
    const reading = (async () => {
      for await (const chunk of proc.stdout) out += dec.decode(chunk, { stream: true });
    })();
    // The stream starts at the newest event: keep making one until a line arrives (the CLI may still be starting).
    const deadline = Date.now() + 20_000;
    let status: "ACTIVE" | "DRAINING" = "DRAINING";
    while (!out.includes("ECS Container Instance State Change")) {
      if (Date.now() > deadline) throw new Error(`no event line from --follow: ${out} ${await new Response(proc.stderr).text()}`);
      await tc.api("PATCH", `/v1/clusters/cli-ev/container-instances/${instanceId}`, { status });
      status = status === "DRAINING" ? "ACTIVE" : "DRAINING";
      await Promise.race([reading, Bun.sleep(300)]);
    }
    expect(out).toMatch(/^\d+ {2}\S+Z {2}ECS Container Instance State Change {2}arn:flotilla:ecs:local:000000000000:container-instance\/cli-ev\//m);
  } finally {
    proc.kill();
    await proc.exited;
  }
});

test("webhooks create, list (hint only), deliveries, delete", async () => {
  const created = await cli(["webhooks", "create", "http://127.0.0.1:9/hook", "--detail-type", "ECS Task State Change", "-o", "json"], env);
  expect(created.code).toBe(0);
  const { webhook, secret } = created.json();
  expect(secret).toMatch(/^whsec_/);
  const list = await cli(["webhooks", "list"], env);
  expect(list.stdout).toContain(webhook.webhookId);
  expect(list.stdout).toContain(webhook.secretHint);
  expect(list.stdout).not.toContain(secret);
  const deliveries = await cli(["webhooks", "deliveries", webhook.webhookId, "-o", "json"], env);
  expect(deliveries.code).toBe(0);
  expect(deliveries.json().deliveries).toEqual([]);
  const bad = await cli(["webhooks", "create", "ftp://127.0.0.1/x"], env);
  expect(bad.code).not.toBe(0);
  expect(bad.stderr).toContain("url");
  const del = await cli(["webhooks", "delete", webhook.webhookId], env);
  expect(del.stdout).toContain(`webhook ${webhook.webhookId}`);
  expect((await cli(["webhooks", "list", "-o", "json"], env)).json().webhooks).toEqual([]);
});
