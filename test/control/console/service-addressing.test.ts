import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { discoveryServices } from "../../../control/ops/discovery.ts";
import { fakeFleet } from "../services/fake-fleet.ts";
import { consoleHarness, type ConsoleHarness } from "./console-harness.ts";

/**
 * The console's service page shows the ingress ports and DNS names (DescribeServices' `ingress`
 * and `discovery`); the create form and the service page's form take them, through the same
 * CreateService/UpdateService as every door, with field errors shown and everything escaped.
 */
const C = "doors";
const WEB = { family: "web", containerDefinitions: [{ name: "web", image: "nginx", memory: 64, essential: true, portMappings: [{ containerPort: 80, name: "http" }] }] };
let fleet: Awaited<ReturnType<typeof fakeFleet>>;
let h: ConsoleHarness;
let session: { cookie: string; csrf: string };
beforeAll(async () => {
  fleet = await fakeFleet(C, 1);
  h = await consoleHarness(undefined, fleet.t);
  expect((await fleet.t.request("POST", "/v1/task-definitions", WEB)).status).toBe(201);
  session = await h.login();
});
afterAll(() => fleet.close());

const form = (extra: Record<string, string>) => ({ _csrf: session.csrf, taskDefinition: "web:1", schedulingStrategy: "REPLICA", desiredCount: "0", ...extra });

describe("ingress and DNS names on the console", () => {
  test("create a service with ingress ports, a DNS name and aliases; its page shows them", async () => {
    const created = await h.post(`/console/clusters/${C}/services`, session.cookie, form({ serviceName: "shop", ingress: "8080:80, 8081:80", discoveryName: "store", aliases: "www, buy" }));
    expect(created.status).toBe(303);
    const page = await h.get(created.location!, session.cookie);
    expect(page.status).toBe(200);
    expect(page.html).toContain(`<code data-dns-name="true">store.${C}.flotilla</code> (chosen)`);
    expect([...page.html.matchAll(/<code data-dns-alias="true">([^<]+) <\/code>/g)].map((m) => m[1])).toEqual([`www.${C}.flotilla`, `buy.${C}.flotilla`]);
    expect(page.html).toContain(`<code data-srv-name="true">_http._tcp.store.${C}.flotilla </code>`);
    expect([...page.html.matchAll(/data-ingress-port="(\d+)"/g)].map((m) => m[1])).toEqual(["8080", "8081"]);
    // The change form starts from what the service has.
    expect(page.html).toMatch(/id="addressing-form"[\s\S]*name="ingress"[^>]*value="8080:80, 8081:80"/);
    expect(await discoveryServices(fleet.t.ctx, C)).toMatchObject([{ name: "store", aliases: ["buy", "www"], ingress: [{ listenPort: 8080 }, { listenPort: 8081 }] }]);
  });

  test("the service page's form replaces the ingress and names (empty: none, the derived name)", async () => {
    const res = await h.post(`/console/clusters/${C}/services/shop/addressing`, session.cookie, { _csrf: session.csrf, ingress: "9090:80", discoveryName: "", aliases: "" });
    expect(res.status).toBe(303);
    expect(res.location).toContain("done=addressed");
    const svc = (await fleet.t.request("GET", `/v1/clusters/${C}/services/shop`)).body.service;
    expect(svc.ingress).toEqual([{ containerPort: 80, listenPort: 9090, protocol: "tcp" }]);
    expect(svc.discovery).toMatchObject({ dnsName: `shop.${C}.flotilla`, aliases: [] });
    const page = await h.get(`/console/clusters/${C}/services/shop?done=addressed`, session.cookie);
    expect(page.html).toContain("The service&#39;s ingress and DNS names were changed.");
    const none = await h.post(`/console/clusters/${C}/services/shop/addressing`, session.cookie, { _csrf: session.csrf, ingress: "", discoveryName: "", aliases: "" });
    expect(none.status).toBe(303);
    expect((await h.get(`/console/clusters/${C}/services/shop`, session.cookie)).html).toContain('<p id="ingress">No ingress ports.</p>');
  });

  test("refusals are shown at their field with the form kept, escaped; nothing changes", async () => {
    const bad = await h.post(`/console/clusters/${C}/services`, session.cookie, form({ serviceName: "api", ingress: "8080:80", aliases: '<script>alert("x")</script>' }));
    expect(bad.status).toBe(400);
    expect(bad.html).toContain("discovery.aliases[0]");
    expect(bad.html).not.toContain("<script>alert");
    expect(bad.html).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;");
    const text = await h.post(`/console/clusters/${C}/services`, session.cookie, form({ serviceName: "api", ingress: "80<b>" }));
    expect(text.status).toBe(400);
    expect(text.html).toContain("ingress[0]");
    expect(text.html).not.toContain("80<b>");
    expect((await fleet.t.request("GET", `/v1/clusters/${C}/services/api`)).status).toBe(404);

    const low = await h.post(`/console/clusters/${C}/services/shop/addressing`, session.cookie, { _csrf: session.csrf, ingress: "80:80", discoveryName: "", aliases: "" });
    expect(low.status).toBe(400);
    expect(low.html).toContain("ingress[0].listenPort");
    expect((await fleet.t.request("GET", `/v1/clusters/${C}/services/shop`)).body.service.ingress).toBeUndefined();
  });

  test("a read-only session sees the names but no change form, and a forged post is refused", async () => {
    const { cookie, csrf } = await h.login(await h.token("read-only"));
    const page = await h.get(`/console/clusters/${C}/services/shop`, cookie);
    expect(page.html).toContain(`<code data-dns-name="true">shop.${C}.flotilla</code>`);
    expect(page.html).not.toContain('id="addressing-form"');
    const forged = await h.post(`/console/clusters/${C}/services/shop/addressing`, cookie, { _csrf: csrf, ingress: "9191:80", discoveryName: "", aliases: "" });
    expect(forged.status).toBe(403);
    expect((await fleet.t.request("GET", `/v1/clusters/${C}/services/shop`)).body.service.ingress).toBeUndefined();
  });
});
