import { afterAll, beforeAll, expect, test } from "bun:test";
import { startTestControl, TEST_TOKEN, type TestControl } from "../helpers/control.ts";
import { cli } from "./run-cli.ts";

/** `flotilla windows create|list|override|overrides|end-override|delete` against a real control. */
let tc: TestControl;
let env: Record<string, string>;

beforeAll(async () => {
  tc = await startTestControl();
  env = { FLOTILLA_API_URL: tc.control.httpUrl, FLOTILLA_TOKEN: TEST_TOKEN, FLOTILLA_CLUSTER: "cli-win" };
  await tc.api("POST", "/v1/clusters", { clusterName: "cli-win" });
});
afterAll(async () => {
  await tc.stop();
});

test("windows create, list, delete; a bad schedule is refused naming the field", async () => {
  const created = await cli(["windows", "create", "shop-nights", "--schedule", "0 2 * * *", "--duration", "120", "--time-zone", "Europe/Berlin", "--filter", "attribute:site == shop-12", "-o", "json"], env);
  expect(created.code).toBe(0);
  expect(created.json().deploymentWindow).toMatchObject({ name: "shop-nights", schedule: "0 2 * * *", timeZone: "Europe/Berlin", durationMinutes: 120, filter: "attribute:site == shop-12" });
  const list = await cli(["windows", "list"], env);
  expect(list.code).toBe(0);
  expect(list.stdout).toMatch(/NAME\s+SCHEDULE\s+TIME ZONE\s+MINUTES\s+INSTANCES\s+NOW/);
  expect(list.stdout).toMatch(/shop-nights\s+0 2 \* \* \*\s+Europe\/Berlin\s+120\s+attribute:site == shop-12\s+(open until|closed until) 20/);

  const bad = await cli(["windows", "create", "x", "--schedule", "0 25 * * *", "--duration", "10"], env);
  expect(bad.code).not.toBe(0);
  expect(bad.stderr).toContain("schedule");
  const missing = await cli(["windows", "create", "x", "--schedule", "0 2 * * *"], env);
  expect(missing.code).not.toBe(0);
  expect(missing.stderr).toContain("--duration is required");

  const del = await cli(["windows", "delete", "shop-nights"], env);
  expect(del.code).toBe(0);
  expect(del.stdout).toContain("deployment window shop-nights deleted");
  expect((await cli(["windows", "list", "-o", "json"], env)).json().deploymentWindows).toEqual([]);
});

test("windows override (kept with the token's name, in the audit log), overrides, end-override", async () => {
  const o = await cli(["windows", "override", "--filter", "attribute:site == shop-12", "--duration", "30", "--reason", "hotfix 4411", "-o", "json"], env);
  expect(o.code).toBe(0);
  const override = o.json().override;
  expect(override).toMatchObject({ filter: "attribute:site == shop-12", createdBy: "admin", reason: "hotfix 4411" });
  const list = await cli(["windows", "overrides"], env);
  expect(list.stdout).toContain(override.overrideId);
  expect(list.stdout).toContain("hotfix 4411");
  const audit = await cli(["audit", "list", "--limit", "5", "-o", "json"], env);
  expect(audit.json().entries.find((e: any) => e.action === "OverrideDeploymentWindows")).toMatchObject({ status: 201, who: { name: "admin" } });
  const end = await cli(["windows", "end-override", override.overrideId], env);
  expect(end.code).toBe(0);
  expect((await cli(["windows", "overrides", "-o", "json"], env)).json().overrides).toEqual([]);
  const both = await cli(["windows", "override", "--until", "2030-01-01T00:00:00Z", "--duration", "5"], env);
  expect(both.code).not.toBe(0);
});
