import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { createApi } from "../../../control/api/app.ts";
import { secrets } from "../../../control/db/schema.ts";
import { createSecretStore } from "../../../control/ops/secrets.ts";
import { TEST_TOKEN } from "../../helpers/control.ts";
import { createTestOps, type TestOps } from "../../helpers/ops.ts";

let t: TestOps;
let app: ReturnType<typeof createApi>;
beforeEach(async () => {
  t = await createTestOps();
  app = createApi(t.ctx, { secrets: createSecretStore(t.ctx, randomBytes(32)) });
});
afterEach(() => t.close());

async function call(method: string, path: string, body?: unknown) {
  const res = await app.request(path, { method, headers: { authorization: `Bearer ${TEST_TOKEN}`, "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, text: await res.text() };
}

describe("secrets API", () => {
  test("create, replace, list and delete (names may hold slashes); values are sealed and never returned", async () => {
    expect((await call("POST", "/v1/secrets", { name: "prod/db", value: "v1-value" })).status).toBe(201);
    const replaced = await call("POST", "/v1/secrets", { name: "prod/db", value: "v2-value" });
    expect(replaced.status).toBe(200);
    const list = await call("GET", "/v1/secrets");
    expect(JSON.parse(list.text).secrets.map((s: any) => s.name)).toEqual(["prod/db"]);
    for (const r of [replaced, list]) expect(r.text).not.toMatch(/v[12]-value/);
    const row = await t.ctx.db.select().from(secrets).get();
    expect(row!.ciphertext).not.toContain("v2-value");
    expect(Buffer.from(row!.ciphertext, "base64").includes(Buffer.from("v2-value"))).toBe(false);
    const store = createSecretStore(t.ctx, randomBytes(32));
    // Another key cannot open it.
    await expect(store.resolveForTask({ family: "f", containerDefinitions: [{ name: "c", image: "i", essential: true, secrets: [{ name: "X", valueFrom: "prod/db" }] }] } as any)).rejects.toThrow();
    expect((await call("DELETE", "/v1/secrets/prod/db")).status).toBe(200);
    expect((await call("DELETE", "/v1/secrets/prod/db")).status).toBe(404);
    const audit = JSON.parse((await call("GET", "/v1/audit")).text).entries.map((e: any) => e.action);
    expect(audit).toEqual(["DeleteSecret", "DeleteSecret", "CreateSecret", "CreateSecret"]);
  });

  test("a task's logConfiguration.secretOptions resolve to log option values by container, apart from env", async () => {
    const store = createSecretStore(t.ctx, randomBytes(32));
    await store.put({ name: "splunk/token", value: "hec-token" });
    const td = {
      family: "f",
      containerDefinitions: [
        { name: "c", image: "i", essential: true, logConfiguration: { logDriver: "splunk", secretOptions: [{ name: "splunk-token", valueFrom: "splunk/token" }, { name: "tag", valueFrom: "gone" }] } },
      ],
    };
    const r = await store.resolveForTask(td as any);
    expect(r.logOptions).toEqual({ c: { "splunk-token": "hec-token" } });
    expect(r.env).toEqual({});
    expect(r.missing).toEqual(["gone"]);
  });
});
