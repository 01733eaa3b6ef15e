import { afterAll, beforeAll, expect, test } from "bun:test";
import { createActivation } from "../../control/ops/activations.ts";
import { applyPresence, registerContainerInstance } from "../../control/ops/instances.ts";
import { startTestControl, TEST_TOKEN, type TestControl } from "../helpers/control.ts";
import { waitFor } from "../helpers/wait.ts";
import { FakeAgents } from "../control/services/fake-agents.ts";
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

/** An instance registered through the registration op, connected; its agent is played by FakeAgents (reports via applyReports). */
async function fakeInstance(site?: string): Promise<string> {
  const act = await createActivation(tc.control.ctx, "cli-win", {});
  const reg = await registerContainerInstance(tc.control.ctx, act.activationId, act.activationCode, {
    hostname: `cli-win-${site ?? "plain"}`,
    resources: { cpu: 1024, memory: 1024 },
    attributes: { "ecs.os-type": "linux", "ecs.cpu-architecture": "x86_64", ...(site ? { site } : {}) },
    versionInfo: { agentVersion: "test", dockerVersion: "test" },
  });
  if (!reg.ok) throw new Error(reg.reason);
  await applyPresence(tc.control.ctx, reg.instance.id, { connected: true, epoch: 1 });
  return reg.instance.id;
}

test("services describe lists the hosts a deployment waits for and until when", async () => {
  const covered = await fakeInstance("shop-12");
  await fakeInstance();
  const agents = new FakeAgents(tc.control.ctx, "cli-win", Date.now);
  for (const rev of ["1", "2"]) await tc.api("POST", "/v1/task-definitions", { family: "cw", containerDefinitions: [{ name: "c", image: "busybox", memory: 16, environment: [{ name: "REV", value: rev }] }] });
  const svc = () => tc.api("GET", "/v1/clusters/cli-win/services/web").then((r) => r.body.service);
  await tc.api("POST", "/v1/clusters/cli-win/services", {
    serviceName: "web",
    taskDefinition: "cw:1",
    desiredCount: 2,
    placementConstraints: [{ type: "distinctInstance" }],
    deploymentConfiguration: { minimumHealthyPercent: 50, maximumPercent: 100 },
  });
  await waitFor("web steady on both hosts", async () => {
    await agents.sync();
    const s = await svc();
    return s.runningCount === 2 && s.deployments[0].rolloutState === "COMPLETED";
  });
  const hour = new Date(Date.now() + 12 * 3600_000).getUTCHours();
  const w = await tc.api("POST", "/v1/clusters/cli-win/deployment-windows", { name: "later", schedule: `0 ${hour} * * *`, durationMinutes: 60, filter: "attribute:site == shop-12" });
  expect(w.status).toBe(201);
  await tc.api("PATCH", "/v1/clusters/cli-win/services/web", { taskDefinition: "cw:2" });
  await waitFor("the deployment to wait for the covered host", async () => {
    await agents.sync();
    return (await svc()).deployments[0].waitingHosts?.length === 1;
  });
  const out = await cli(["services", "describe", "web"], env);
  expect(out.code).toBe(0);
  expect(out.stdout).toContain("Waiting for deployment windows:");
  expect(out.stdout).toMatch(new RegExp(`${covered}\\s+${w.body.deploymentWindow.opensAt.replace(/[.]/g, "\\.")}`));
  await tc.api("DELETE", "/v1/clusters/cli-win/services/web?force=true");
});
