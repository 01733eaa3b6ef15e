import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { addInstance } from "../../helpers/ops.ts";
import { consoleHarness, type ConsoleHarness } from "./console-harness.ts";

let h: ConsoleHarness;
let instanceId: string;
beforeAll(async () => {
  h = await consoleHarness();
  await h.t.request("POST", "/v1/clusters", { clusterName: "shop" });
  instanceId = await addInstance(h.t, "shop");
});
afterAll(() => h.close());

/** Forms that change something: every POST form but the logout button. */
const changeForms = (html: string) => [...html.matchAll(/<form method="post" action="([^"]+)"/g)].map((m) => m[1]).filter((a) => a !== "/console/logout");

describe("roles decide what is shown, and the server refuses anyway", () => {
  test("an operator sees the drain form, the register form and the activation form", async () => {
    const { cookie } = await h.login(await h.token("operator"));
    expect(changeForms((await h.get("/console/clusters/shop/hosts", cookie)).html)).toContain(`/console/clusters/shop/hosts/${instanceId}/status`);
    expect(changeForms((await h.get("/console/task-definitions/new", cookie)).html)).toContain("/console/task-definitions");
    expect(changeForms((await h.get("/console/clusters/shop/activations", cookie)).html)).toContain("/console/clusters/shop/activations");
  });

  test("a read-only token sees no forms on any page", async () => {
    const { cookie } = await h.login(await h.token("read-only"));
    for (const path of ["/console", "/console/clusters/shop/hosts", `/console/clusters/shop/hosts/${instanceId}`, "/console/clusters/shop/activations", "/console/task-definitions", "/console/clusters/shop/services", "/console/clusters/shop/tasks"]) {
      const page = await h.get(path, cookie);
      expect(page.status).toBe(200);
      expect(changeForms(page.html)).toEqual([]);
    }
  });

  test("a forged post from a read-only session (valid CSRF token) is refused with 403 and changes nothing", async () => {
    const { cookie, csrf } = await h.login(await h.token("read-only"));
    const drain = await h.post(`/console/clusters/shop/hosts/${instanceId}/status`, cookie, { _csrf: csrf, status: "DRAINING", confirm: "yes" });
    expect(drain.status).toBe(403);
    expect((await h.t.request("GET", `/v1/clusters/shop/container-instances/${instanceId}`)).body.containerInstance.status).toBe("ACTIVE");
    const reg = await h.post("/console/task-definitions", cookie, { _csrf: csrf, json: JSON.stringify({ family: "ro", containerDefinitions: [{ name: "a", image: "busybox", memory: 64 }] }) });
    expect(reg.status).toBe(403);
    expect((await h.t.request("GET", "/v1/task-definitions")).body.families).not.toContain("ro");
    // Recorded in the audit log as the REST call it stood for.
    const audit = (await h.t.request("GET", "/v1/audit")).body.entries as { action: string; status: number; path: string }[];
    expect(audit.some((e) => e.action === "UpdateContainerInstancesState" && e.status === 403 && e.path.includes("(console)"))).toBe(true);
  });

  test("drain asks for confirmation first, then drains through the same operation as the API", async () => {
    const { cookie, csrf } = await h.login();
    const ask = await h.post(`/console/clusters/shop/hosts/${instanceId}/status`, cookie, { _csrf: csrf, status: "DRAINING" });
    expect(ask.status).toBe(200);
    expect(ask.html).toContain("Yes, drain");
    expect((await h.t.request("GET", `/v1/clusters/shop/container-instances/${instanceId}`)).body.containerInstance.status).toBe("ACTIVE");
    const done = await h.post(`/console/clusters/shop/hosts/${instanceId}/status`, cookie, { _csrf: csrf, status: "DRAINING", confirm: "yes" });
    expect(done.status).toBe(303);
    expect((await h.t.request("GET", `/v1/clusters/shop/container-instances/${instanceId}`)).body.containerInstance.status).toBe("DRAINING");
    const back = await h.post(`/console/clusters/shop/hosts/${instanceId}/status`, cookie, { _csrf: csrf, status: "ACTIVE", confirm: "yes" });
    expect(back.status).toBe(303);
    expect((await h.t.request("GET", `/v1/clusters/shop/container-instances/${instanceId}`)).body.containerInstance.status).toBe("ACTIVE");
  });
});

describe("every page escapes what it shows", () => {
  const hostile = `<script>alert("x")</script><img src=x onerror=alert(1)>`;

  test("a hostile environment value renders as text on the revision page", async () => {
    const reg = await h.t.request("POST", "/v1/task-definitions", {
      family: "hostile",
      containerDefinitions: [{ name: "web", image: "busybox", memory: 64, environment: [{ name: "X", value: hostile }], command: [hostile] }],
    });
    expect(reg.status).toBe(201);
    const { cookie } = await h.login();
    const page = await h.get("/console/task-definitions/hostile/1", cookie);
    expect(page.status).toBe(200);
    expect(page.html).not.toContain("<script>alert");
    expect(page.html).not.toContain("<img src=x");
    expect(page.html).toContain("&lt;script&gt;alert(");
  });

  test("a hostile family name pasted into the register form comes back escaped, with its field error", async () => {
    const { cookie, csrf } = await h.login();
    const res = await h.post("/console/task-definitions", cookie, { _csrf: csrf, json: JSON.stringify({ family: hostile, containerDefinitions: [{ name: hostile, image: "busybox", memory: 64 }] }) });
    expect(res.status).toBe(400);
    expect(res.html).toContain('data-field-path="family"');
    expect(res.html).not.toContain("<script>alert");
    expect(res.html).not.toContain("<img src=x");
    expect(res.html).toContain("&lt;script&gt;");
  });

  test("a hostile attribute filter is shown escaped", async () => {
    const { cookie } = await h.login();
    const page = await h.get(`/console/clusters/shop/hosts?attribute=${encodeURIComponent('"><script>alert(1)</script>')}`, cookie);
    expect(page.status).toBe(200);
    expect(page.html).not.toContain("<script>alert(1)");
    expect(page.html).toContain("&quot;&gt;&lt;script&gt;");
  });
});
