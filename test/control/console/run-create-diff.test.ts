import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ENDPOINTS_SHOWN } from "../../../control/console/pages/services.tsx";
import { APP_V1, APP_V2, fakeFleet } from "../services/fake-fleet.ts";
import { consoleHarness, type ConsoleHarness } from "./console-harness.ts";

/**
 * Console actions beyond the first set: run a task from a revision, create a service, a service's
 * endpoints and a DAEMON service's hosts, and a diff between two revisions. Over a fake fleet whose
 * agents report through applyReports (fake-agents.ts), driven round by round.
 */
const C = "floor";
let fleet: Awaited<ReturnType<typeof fakeFleet>>;
let h: ConsoleHarness;
let session: { cookie: string; csrf: string };
beforeAll(async () => {
  fleet = await fakeFleet(C, 2);
  h = await consoleHarness(undefined, fleet.t);
  expect((await fleet.t.request("POST", "/v1/task-definitions", APP_V1)).status).toBe(201);
  expect((await fleet.t.request("POST", "/v1/task-definitions", APP_V2)).status).toBe(201);
  session = await h.login();
});
afterAll(() => fleet.close());

const tasksOf = async (family: string) => (await fleet.t.request("GET", `/v1/clusters/${C}/tasks?family=${family}`)).body.tasks as unknown[];

describe("a diff between two revisions", () => {
  test("the family page offers it; the diff shows removed and added lines, marked by sign and word", async () => {
    const family = await h.get("/console/task-definitions/app", session.cookie);
    expect(family.html).toContain('action="/console/task-definitions/app/diff"');
    const res = await h.get("/console/task-definitions/app/diff?from=1&to=2", session.cookie);
    expect(res.status).toBe(200);
    const rows = [...res.html.matchAll(/<tr class="diff-(added|removed)"[^>]*>.*?<code>(.*?)<\/code>/gs)].map((m) => `${m[1]} ${m[2]!.trim()}`);
    // v2 adds an environment variable and is revision 2: those lines, and nothing the two share.
    expect(rows).toContain("added &quot;name&quot;: &quot;V&quot;,");
    expect(rows).toContain("added &quot;value&quot;: &quot;2&quot;");
    expect(rows).toContain("removed &quot;revision&quot;: 1,");
    expect(rows).toContain("added &quot;revision&quot;: 2,");
    expect(rows.some((r) => r.includes("&quot;image&quot;"))).toBe(false);
    expect(res.html).toMatch(/aria-label="added">\+</);
    expect(res.html).toContain('id="diff-summary"');
    // Unchanged runs far from a change are cut to a count.
    expect(res.html).toMatch(/… \d+ unchanged lines …/);
  });

  test("a revision that is not a number is a 400 naming it; one that does not exist is a 404", async () => {
    const bad = await h.get("/console/task-definitions/app/diff?from=x&to=2", session.cookie);
    expect(bad.status).toBe(400);
    expect(bad.html).toContain("from and to must be revision numbers");
    expect((await h.get("/console/task-definitions/app/diff?from=1&to=9", session.cookie)).status).toBe(404);
  });
});

describe("run a task from a revision", () => {
  test("the revision page's form runs one task through RunTask and opens its page", async () => {
    const page = await h.get("/console/task-definitions/app/1", session.cookie);
    expect(page.html).toContain('action="/console/task-definitions/app/1/run"');
    const res = await h.post("/console/task-definitions/app/1/run", session.cookie, { _csrf: session.csrf, cluster: C, count: "1" });
    expect(res.status).toBe(303);
    const taskId = /\/console\/clusters\/floor\/tasks\/([0-9a-f]+)$/.exec(res.location ?? "")?.[1];
    expect(taskId).toBeDefined();
    const task = (await fleet.t.request("GET", `/v1/clusters/${C}/tasks/${taskId}`)).body.task;
    expect(task).toMatchObject({ taskDefinitionArn: expect.stringContaining(":task-definition/app:1"), startedBy: "console" });
  });

  test("several tasks open the family's task list; a bad count is shown at its field and runs nothing", async () => {
    const before = (await tasksOf("app")).length;
    const many = await h.post("/console/task-definitions/app/2/run", session.cookie, { _csrf: session.csrf, cluster: C, count: "2" });
    expect(many.status).toBe(303);
    expect(many.location).toBe("/console/clusters/floor/tasks?family=app");
    expect((await tasksOf("app")).length).toBe(before + 2);
    const bad = await h.post("/console/task-definitions/app/2/run", session.cookie, { _csrf: session.csrf, cluster: C, count: "0" });
    expect(bad.status).toBe(400);
    expect(bad.html).toContain('data-field-path="count"');
    expect((await tasksOf("app")).length).toBe(before + 2);
  });

  test("a task no host has room for is shown with ECS's reason, not as a started task", async () => {
    expect((await fleet.t.request("POST", "/v1/task-definitions", { family: "huge", containerDefinitions: [{ name: "x", image: "nginx", memory: 900_000 }] })).status).toBe(201);
    const res = await h.post("/console/task-definitions/huge/1/run", session.cookie, { _csrf: session.csrf, cluster: C, count: "1" });
    expect(res.status).toBe(200);
    expect(res.html).toContain("No task was started.");
    expect(res.html).toContain("RESOURCE:MEMORY");
    expect(await tasksOf("huge")).toEqual([]);
  });

  test("a read-only token sees no run form and its forged post is refused", async () => {
    const ro = await h.login(await h.token("read-only"));
    expect((await h.get("/console/task-definitions/app/1", ro.cookie)).html).not.toContain("/run");
    const before = (await tasksOf("app")).length;
    expect((await h.post("/console/task-definitions/app/1/run", ro.cookie, { _csrf: ro.csrf, cluster: C, count: "1" })).status).toBe(403);
    expect((await tasksOf("app")).length).toBe(before);
  });
});

describe("create a service; its tasks and endpoints; a DAEMON service's hosts", () => {
  test("the services page creates a REPLICA service through CreateService", async () => {
    expect((await h.get(`/console/clusters/${C}/services`, session.cookie)).html).toContain('id="create-service"');
    const res = await h.post(`/console/clusters/${C}/services`, session.cookie, { _csrf: session.csrf, serviceName: "web", taskDefinition: "app:1", desiredCount: "2", schedulingStrategy: "REPLICA" });
    expect(res.status).toBe(303);
    expect(res.location).toBe(`/console/clusters/${C}/services/web?done=created`);
    const svc = (await fleet.t.request("GET", `/v1/clusters/${C}/services/web`)).body.service;
    expect(svc).toMatchObject({ desiredCount: 2, schedulingStrategy: "REPLICA", taskDefinition: expect.stringContaining("app:1") });
    expect((await h.get(res.location!, session.cookie)).html).toContain("The service was created.");
  });

  test("bad input is shown at its field with the form kept, and creates nothing", async () => {
    const res = await h.post(`/console/clusters/${C}/services`, session.cookie, { _csrf: session.csrf, serviceName: "bad name!", taskDefinition: "app", desiredCount: "1" });
    expect(res.status).toBe(400);
    expect(res.html).toContain('data-field-path="serviceName"');
    expect(res.html).toContain('value="bad name!"');
    const missing = await h.post(`/console/clusters/${C}/services`, session.cookie, { _csrf: session.csrf, serviceName: "ghost", taskDefinition: "nope", desiredCount: "1" });
    expect(missing.status).toBeGreaterThanOrEqual(400);
    expect((await fleet.t.request("GET", `/v1/clusters/${C}/services`)).body.serviceArns).toHaveLength(1);
  });

  test("a service page lists its tasks with their hosts, and its endpoints: each bound port of a running task, at its host's address", async () => {
    await fleet.round();
    await fleet.settle(undefined, { bindings: (d) => [{ bindIP: "0.0.0.0", containerPort: 80, hostPort: 30000 + (Number.parseInt(d.taskId.slice(0, 3), 16) % 1000), protocol: "tcp" }] });
    const api = (await fleet.t.request("GET", `/v1/clusters/${C}/services/web/endpoints`)).body.endpoints as { address: string; hostPort: number }[];
    expect(api).toHaveLength(2);
    const page = await h.get(`/console/clusters/${C}/services/web`, session.cookie);
    for (const e of api) expect(page.html).toContain(`data-endpoint="${e.address}:${e.hostPort}"`);
    // And its tasks, each with the host it runs on.
    const listed = (await fleet.t.request("GET", `/v1/clusters/${C}/tasks?serviceName=web`)).body.tasks as { taskArn: string; containerInstanceArn: string }[];
    expect(listed).toHaveLength(2);
    for (const t of listed) expect(page.html).toContain(`data-task-id="${t.taskArn.split("/").pop()}" data-host-id="${t.containerInstanceArn.split("/").pop()}"`);
  });

  test("a service page shows its first endpoints and where to get them all", async () => {
    // 2 tasks × 60 bound ports: more endpoints than the page lists.
    await fleet.settle(undefined, { bindings: (d) => Array.from({ length: 60 }, (_, k) => ({ bindIP: "0.0.0.0", containerPort: 1000 + k, hostPort: 20000 + k + (Number.parseInt(d.taskId.slice(0, 3), 16) % 100) * 60, protocol: "tcp" as const })) });
    const api = (await fleet.t.request("GET", `/v1/clusters/${C}/services/web/endpoints`)).body.endpoints as unknown[];
    expect(api).toHaveLength(120);
    const page = await h.get(`/console/clusters/${C}/services/web`, session.cookie);
    expect(page.html.match(/data-endpoint="/g)).toHaveLength(ENDPOINTS_SHOWN);
    expect(page.html).toContain(`${ENDPOINTS_SHOWN} of 120 endpoints shown; all of them: <code>GET /v1/clusters/${C}/services/web/endpoints</code>`);
  });

  test("a DAEMON service created on the page shows which hosts run its task", async () => {
    const res = await h.post(`/console/clusters/${C}/services`, session.cookie, { _csrf: session.csrf, serviceName: "agent", taskDefinition: "app", desiredCount: "1", schedulingStrategy: "DAEMON" });
    expect(res.status).toBe(303);
    const [a, b] = fleet.instances as [string, string];
    const page = async () => (await h.get(`/console/clusters/${C}/services/agent`, session.cookie)).html;
    const cell = (html: string, id: string) => new RegExp(`data-coverage-host="${id}".*?class="coverage-task">(.*?)</td>`, "s").exec(html)?.[1] ?? "";
    // Before the scheduler's round: both hosts eligible, none covered.
    let html = await page();
    expect(html).toContain("Running on 0 of 2 active, connected hosts");
    expect(cell(html, a)).toContain("none");
    await fleet.round();
    await fleet.settle();
    html = await page();
    expect(html).toContain("Running on 2 of 2 active, connected hosts");
    expect(cell(html, a)).toContain("RUNNING");
    expect(cell(html, b)).toContain("RUNNING");
    // A host that goes away is no longer counted as one the daemon should cover.
    await fleet.disconnect(b);
    html = await page();
    expect(html).toContain("Running on 1 of 1 active, connected host (2 in the cluster)");
  });
});
