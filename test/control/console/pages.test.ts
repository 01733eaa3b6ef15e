import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { installLine } from "../../../control/console/pages/activations.tsx";
import { addInstance } from "../../helpers/ops.ts";
import { consoleHarness, type ConsoleHarness } from "./console-harness.ts";

let h: ConsoleHarness;
let session: { cookie: string; csrf: string };
let instanceId: string;
beforeAll(async () => {
  h = await consoleHarness();
  await h.t.request("POST", "/v1/clusters", { clusterName: "shop" });
  instanceId = await addInstance(h.t, "shop");
  session = await h.login();
});
afterAll(() => h.close());

describe("task definitions", () => {
  test("registering from pasted JSON shows each validation error at its field path, and keeps the text", async () => {
    const json = JSON.stringify({ family: "web", containerDefinitions: [{ name: "app", memory: 64 }] });
    const res = await h.post("/console/task-definitions", session.cookie, { _csrf: session.csrf, json });
    expect(res.status).toBe(400);
    expect(res.html).toContain('data-field-path="containerDefinitions[0].image"');
    expect(res.html).toContain("&quot;family&quot;:&quot;web&quot;");
  });

  test("text that is not JSON is shown as an error on the body", async () => {
    const res = await h.post("/console/task-definitions", session.cookie, { _csrf: session.csrf, json: "{nope" });
    expect(res.status).toBe(400);
    expect(res.html).toContain('data-field-path="(body)"');
  });

  test("a good one registers and opens its revision page with the JSON", async () => {
    const json = JSON.stringify({ family: "web", containerDefinitions: [{ name: "app", image: "busybox", memory: 64 }] });
    const res = await h.post("/console/task-definitions", session.cookie, { _csrf: session.csrf, json });
    expect(res.status).toBe(303);
    expect(res.location).toBe("/console/task-definitions/web/1");
    const page = await h.get(res.location!, session.cookie);
    expect(page.html).toContain("&quot;taskDefinitionArn&quot;");
    expect((await h.get("/console/task-definitions", session.cookie)).html).toContain('href="/console/task-definitions/web"');
    expect((await h.get("/console/task-definitions/web", session.cookie)).html).toContain("web:1");
  });
});

describe("services and tasks", () => {
  beforeAll(async () => {
    const svc = await h.t.request("POST", "/v1/clusters/shop/services", { serviceName: "api", taskDefinition: "web", desiredCount: 0 });
    expect(svc.status).toBe(201);
  });

  test("the services list and a service page show counts and deployments", async () => {
    expect((await h.get("/console/clusters/shop/services", session.cookie)).html).toContain('href="/console/clusters/shop/services/api"');
    const page = await h.get("/console/clusters/shop/services/api", session.cookie);
    expect(page.html).toContain("Deployments");
    expect(page.html).toContain("PRIMARY");
    expect(page.html).toContain('name="desiredCount"');
  });

  test("scale goes through UpdateService; a bad count is shown at its field", async () => {
    const bad = await h.post("/console/clusters/shop/services/api/scale", session.cookie, { _csrf: session.csrf, desiredCount: "-3" });
    expect(bad.status).toBe(400);
    expect(bad.html).toContain('data-field-path="desiredCount"');
    const ok = await h.post("/console/clusters/shop/services/api/scale", session.cookie, { _csrf: session.csrf, desiredCount: "2" });
    expect(ok.status).toBe(303);
    expect((await h.t.request("GET", "/v1/clusters/shop/services/api")).body.service.desiredCount).toBe(2);
  });

  test("update to another revision goes through UpdateService and starts a deployment of it", async () => {
    await h.t.request("POST", "/v1/task-definitions", { family: "web", containerDefinitions: [{ name: "app", image: "busybox:1", memory: 64 }] });
    const page = await h.get("/console/clusters/shop/services/api", session.cookie);
    expect(page.html).toMatch(/<option value="[^"]+task-definition\/web:2">web:2<\/option>/);
    const arn2 = /<option value="([^"]+task-definition\/web:2)">/.exec(page.html)![1]!;
    const res = await h.post("/console/clusters/shop/services/api/update", session.cookie, { _csrf: session.csrf, taskDefinition: arn2 });
    expect(res.status).toBe(303);
    const svc = (await h.t.request("GET", "/v1/clusters/shop/services/api")).body.service;
    expect(svc.taskDefinition).toBe(arn2);
    expect(svc.deployments.find((d: { status: string }) => d.status === "PRIMARY").taskDefinition).toBe(arn2);
    const bad = await h.post("/console/clusters/shop/services/api/update", session.cookie, { _csrf: session.csrf, taskDefinition: "nope:9" });
    expect(bad.status).toBe(404);
    expect(bad.html).toContain('class="errors" role="alert"');
    expect(bad.html).toContain("nope:9");
  });

  test("force new deployment starts a new deployment", async () => {
    const before = (await h.t.request("GET", "/v1/clusters/shop/services/api")).body.service.deployments.length;
    const res = await h.post("/console/clusters/shop/services/api/redeploy", session.cookie, { _csrf: session.csrf });
    expect(res.status).toBe(303);
    const after = (await h.t.request("GET", "/v1/clusters/shop/services/api")).body.service.deployments;
    expect(after.length).toBe(before + 1);
  });

  test("a task started by RunTask is on the tasks list and has its page; the log tail says why it cannot be read", async () => {
    const run = await h.t.request("POST", "/v1/clusters/shop/tasks", { taskDefinition: "web", count: 1 });
    expect(run.status).toBe(201);
    const taskId = run.body.tasks[0].taskId as string;
    const list = await h.get("/console/clusters/shop/tasks", session.cookie);
    expect(list.html).toContain(`href="/console/clusters/shop/tasks/${taskId}"`);
    const page = await h.get(`/console/clusters/shop/tasks/${taskId}`, session.cookie);
    expect(page.html).toContain("Containers");
    expect(page.html).toContain(`href="/console/clusters/shop/hosts/${instanceId}"`);
    // No agent link in this harness: the same error the REST logs route gives.
    const logs = await h.app.request(`/console/clusters/shop/tasks/${taskId}/logs?container=app`, { headers: { cookie: session.cookie } });
    expect(logs.status).toBe(503);
    const missing = await h.app.request(`/console/clusters/shop/tasks/${taskId}/logs?container=nope`, { headers: { cookie: session.cookie } });
    expect(missing.status).toBe(400);
    expect(await missing.text()).toContain("nope");
  });

  test("the overview counts hosts and tasks, and shows the newest service events", async () => {
    // What the service scheduler records (no scheduler runs in this harness), through its own writer.
    const { addServiceEvent } = await import("../../../control/services/events.ts");
    await addServiceEvent(h.t.ctx, "shop", "api", "(service api) has reached a steady state.");
    const page = await h.get("/console?cluster=shop", session.cookie);
    expect(page.html).toContain("Recent service events");
    expect(page.html).toContain(`<a href="/console/clusters/shop/services/api">api</a>: (service api) has reached a steady state.`);
    expect(page.html).toContain('<strong data-count="connected">1</strong>');
    expect(page.html).toContain('<strong data-count="disconnected">0</strong>');
  });
});

describe("deregistering, after a confirmation", () => {
  test("a task definition revision", async () => {
    await h.t.request("POST", "/v1/task-definitions", { family: "old", containerDefinitions: [{ name: "a", image: "busybox", memory: 64 }] });
    const page = await h.get("/console/task-definitions/old/1", session.cookie);
    expect(page.html).toContain('action="/console/task-definitions/old/1/deregister"');
    const ask = await h.post("/console/task-definitions/old/1/deregister", session.cookie, { _csrf: session.csrf });
    expect(ask.html).toContain("Yes, deregister");
    expect((await h.t.request("GET", "/v1/task-definitions/old:1")).body.taskDefinition.status).toBe("ACTIVE");
    const done = await h.post("/console/task-definitions/old/1/deregister", session.cookie, { _csrf: session.csrf, confirm: "yes" });
    expect(done.status).toBe(303);
    expect((await h.t.request("GET", "/v1/task-definitions/old:1")).body.taskDefinition.status).toBe("INACTIVE");
  });

  test("a host: INACTIVE through the same operation, and its broker session dropped", async () => {
    const id = await addInstance(h.t, "shop");
    const ask = await h.post(`/console/clusters/shop/hosts/${id}/deregister`, session.cookie, { _csrf: session.csrf });
    expect(ask.html).toContain("Yes, deregister");
    expect(h.revoked).not.toContain(id);
    const done = await h.post(`/console/clusters/shop/hosts/${id}/deregister`, session.cookie, { _csrf: session.csrf, confirm: "yes" });
    expect(done.status).toBe(303);
    expect((await h.t.request("GET", `/v1/clusters/shop/container-instances/${id}`)).body.containerInstance.status).toBe("INACTIVE");
    expect(h.revoked).toEqual([id]);
    expect((await h.get("/console/clusters/shop/hosts", session.cookie)).html).not.toContain(`data-instance-id="${id}"`);
  });
});

describe("activations and the install script", () => {
  test("creating an activation shows the one line to paste on a host", async () => {
    const res = await h.post("/console/clusters/shop/activations", session.cookie, { _csrf: session.csrf, registrationLimit: "3", expiresInHours: "2" });
    expect(res.status).toBe(201);
    const line = /<code id="install-line">([^<]+)<\/code>/.exec(res.html)?.[1];
    expect(line).toMatch(
      /^curl -fsSL http:\/\/localhost\/install-agent\.sh \| FLOTILLA_ACTIVATION_CODE=[0-9a-f]{32} sudo --preserve-env=FLOTILLA_ACTIVATION_CODE bash -s -- --control http:\/\/localhost --cluster shop --activation-id [0-9a-f-]{36}$/,
    );
    // The id and code on the page are a real activation: the registration path accepts them.
    const [, code, id] = /FLOTILLA_ACTIVATION_CODE=(\S+) .* --activation-id (\S+)/.exec(line!)!;
    // The code is never an argument of a command (which `ps` would show), only the shell's assignment.
    expect(line!.split(" | ")[1]!.split(" ").slice(1).join(" ")).not.toContain(code!);
    const { checkActivation } = await import("../../../control/ops/activations.ts");
    expect((await checkActivation(h.t.ctx, id!, code!)).ok).toBe(true);
    expect((await h.get("/console/clusters/shop/activations", session.cookie)).html).toContain(id!);
  });

  test("the line pins the CA over TLS and names the broker only when it is not where the script looks", () => {
    expect(installLine("http://c:8080", "A", "B", "x", { protocol: "mqtt:", port: 1883 })).toBe(
      "curl -fsSL http://c:8080/install-agent.sh | FLOTILLA_ACTIVATION_CODE=B sudo --preserve-env=FLOTILLA_ACTIVATION_CODE bash -s -- --control http://c:8080 --cluster x --activation-id A",
    );
    expect(installLine("http://c:8080", "A", "B", "x", { protocol: "mqtt:", port: 18830 })).toContain("--control http://c:8080 --mqtt mqtt://c:18830 --cluster");
    const tls = installLine("https://c:8443", "A", "B", "x", { protocol: "mqtts:", port: 8883 });
    expect(tls).toStartWith("curl -fsSL --cacert ca.pem https://c:8443/install-agent.sh | FLOTILLA_ACTIVATION_CODE=B sudo --preserve-env=FLOTILLA_ACTIVATION_CODE bash -s -- --control https://c:8443 --ca-file ca.pem --cluster x");
    expect(tls).not.toContain("--mqtt");
  });

  test("an activation is revoked after a confirmation: the registration path refuses it then", async () => {
    const res = await h.post("/console/clusters/shop/activations", session.cookie, { _csrf: session.csrf, registrationLimit: "1", expiresInHours: "1" });
    const line = /<code id="install-line">([^<]+)<\/code>/.exec(res.html)![1]!;
    const [, code, id] = /FLOTILLA_ACTIVATION_CODE=(\S+) .* --activation-id (\S+)/.exec(line)!;
    const { checkActivation } = await import("../../../control/ops/activations.ts");
    const ask = await h.post(`/console/clusters/shop/activations/${id}/revoke`, session.cookie, { _csrf: session.csrf });
    expect(ask.html).toContain("Yes, revoke");
    expect((await checkActivation(h.t.ctx, id!, code!)).ok).toBe(true);
    const done = await h.post(`/console/clusters/shop/activations/${id}/revoke`, session.cookie, { _csrf: session.csrf, confirm: "yes" });
    expect(done.status).toBe(303);
    expect(await checkActivation(h.t.ctx, id!, code!)).toEqual({ ok: false, reason: "activation was revoked" });
    // An external broker is told both times, as the API's provisioning middleware does.
    expect(h.provisioned.filter((p) => p.endsWith(id!))).toEqual([`created ${id}`, `gone ${id}`]);
  });

  test("a bad limit is refused naming the field", async () => {
    const res = await h.post("/console/clusters/shop/activations", session.cookie, { _csrf: session.csrf, registrationLimit: "0", expiresInHours: "2" });
    expect(res.status).toBe(400);
    expect(res.html).toContain("registrationLimit");
  });

  test("GET /install-agent.sh serves the repository's script without a token", async () => {
    const res = await h.t.app.request("/install-agent.sh");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/x-shellscript");
    expect(await res.text()).toBe(readFileSync(join(import.meta.dir, "../../../scripts/install-agent.sh"), "utf8"));
  });
});

describe("assets are served by the control", () => {
  test("the stylesheet and script come from /console/assets without a session, and pages load nothing from elsewhere", async () => {
    for (const name of ["console.css", "console.js"]) {
      const res = await h.app.request(`/console/assets/${name}`);
      expect(res.status).toBe(200);
      expect((await res.text()).length).toBeGreaterThan(100);
    }
    const page = await h.get("/console/clusters/shop/hosts", session.cookie);
    const external = [...page.html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!).filter((u) => !u.startsWith("/") && !u.startsWith("#"));
    expect(external).toEqual([]);
  });
});
