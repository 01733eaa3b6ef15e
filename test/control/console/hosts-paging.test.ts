import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createActivation } from "../../../control/ops/activations.ts";
import { applyPresence, registerContainerInstance } from "../../../control/ops/instances.ts";
import { consoleHarness, type ConsoleHarness } from "./console-harness.ts";

const HOSTS = 1000;
let h: ConsoleHarness;
let cookie: string;

/** 1,000 hosts through the registration path (one activation for all), 100 of them connected. */
beforeAll(async () => {
  h = await consoleHarness();
  await h.t.request("POST", "/v1/clusters", { clusterName: "fleet" });
  const act = await createActivation(h.t.ctx, "fleet", { registrationLimit: HOSTS });
  for (let i = 0; i < HOSTS; i++) {
    const reg = await registerContainerInstance(h.t.ctx, act.activationId, act.activationCode, {
      hostname: `host-${String(i).padStart(4, "0")}`,
      resources: { cpu: 2048, memory: 4096 },
      attributes: { "ecs.os-type": "linux", site: i % 4 === 0 ? "berlin" : "lyon" },
      versionInfo: { agentVersion: "1.0.0", dockerVersion: "27" },
    });
    if (!reg.ok) throw new Error(reg.reason);
    if (i % 10 === 0) await applyPresence(h.t.ctx, reg.instance.id, { connected: true, epoch: 1 });
  }
  cookie = (await h.login()).cookie;
}, 120_000);
afterAll(() => h.close());

const rowsOf = (html: string) => [...html.matchAll(/<tr data-instance-id="([^"]+)">/g)].map((m) => m[1]!);
const hostnamesOf = (html: string) => [...html.matchAll(/<a href="\/console\/clusters\/fleet\/hosts\/[^"]+">(host-\d{4})<\/a>/g)].map((m) => m[1]!);

describe("hosts page at 1,000 hosts", () => {
  test("one page of 50 rows, with the total and a link to the next page", async () => {
    const page = await h.get("/console/clusters/fleet/hosts", cookie);
    expect(page.status).toBe(200);
    expect(rowsOf(page.html)).toHaveLength(50);
    expect(page.html).toContain("1000 hosts; page 1 of 20");
    expect(page.html).toContain("page=2");
  });

  test("pages do not overlap and together hold every host", async () => {
    const seen = new Set<string>();
    for (let p = 1; p <= 20; p++) for (const id of rowsOf((await h.get(`/console/clusters/fleet/hosts?page=${p}&sort=hostname`, cookie)).html)) seen.add(id);
    expect(seen.size).toBe(HOSTS);
  });

  test("sorting by host name descending starts at the last host", async () => {
    const names = hostnamesOf((await h.get("/console/clusters/fleet/hosts?sort=hostname&order=desc", cookie)).html);
    expect(names[0]).toBe("host-0999");
    expect(names).toEqual([...names].sort().reverse());
  });

  test("filters by connection and by attribute, counted server-side", async () => {
    const connected = await h.get("/console/clusters/fleet/hosts?state=connected&pageSize=200", cookie);
    expect(connected.html).toContain("100 hosts; page 1 of 1");
    expect(rowsOf(connected.html)).toHaveLength(100);
    expect(connected.html).not.toContain("</span> disconnected</span>");
    const disconnected = await h.get("/console/clusters/fleet/hosts?state=disconnected", cookie);
    expect(disconnected.html).toContain("900 hosts; page 1 of 18");
    const berlin = await h.get("/console/clusters/fleet/hosts?attribute=site%3Dberlin", cookie);
    expect(berlin.html).toContain("250 hosts;");
    const hasSite = await h.get("/console/clusters/fleet/hosts?attribute=site", cookie);
    expect(hasSite.html).toContain("1000 hosts;");
  });

  test("a bad query is a 400 naming the parameter", async () => {
    const bad = await h.get("/console/clusters/fleet/hosts?sort=nonsense", cookie);
    expect(bad.status).toBe(400);
    expect(bad.html).toContain("sort");
  });

  test("status is written out, not only coloured: each row says connected or disconnected", async () => {
    const page = await h.get("/console/clusters/fleet/hosts?sort=hostname&pageSize=10", cookie);
    expect(page.html.match(/<span class="status (ok|bad)"><span aria-hidden="true">[●✖]<\/span> (connected|disconnected)<\/span>/g)).toHaveLength(10);
  });
});
