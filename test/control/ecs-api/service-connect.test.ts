import { afterEach, describe, expect, test } from "bun:test";
import { discoveryServices } from "../../../control/ops/discovery.ts";
import { fakeFleet } from "../services/fake-fleet.ts";
import { call, refusal } from "./call.ts";

/**
 * Ingress and DNS names through ECS's own shapes on the AWS JSON door (serviceConnectConfiguration,
 * serviceRegistries; control/ops/service-connect.ts), and REST's `discovery`: the same stored
 * fields as REST's `ingress`, the same checks, shown back by DescribeServices on both doors.
 */
const C = "sc";
const WEB = {
  family: "web",
  containerDefinitions: [
    { name: "web", image: "nginx", memory: 64, essential: true, portMappings: [{ containerPort: 80, name: "http" }, { containerPort: 9090, name: "admin" }, { containerPort: 53, protocol: "udp", name: "dns" }] },
  ],
};
let fleet: Awaited<ReturnType<typeof fakeFleet>>;
afterEach(() => fleet?.close());

async function setup() {
  fleet = await fakeFleet(C, 1);
  expect((await fleet.t.request("POST", "/v1/task-definitions", WEB)).status).toBe(201);
  return fleet.t;
}

const SC = {
  enabled: true,
  namespace: `${C}.flotilla`,
  services: [{ portName: "http", discoveryName: "www", clientAliases: [{ port: 8080, dnsName: "shop" }, { port: 8081 }] }],
};

describe("serviceConnectConfiguration and serviceRegistries on the AWS JSON door", () => {
  test("CreateService with serviceConnectConfiguration stores the ingress and names; DescribeServices shows them in ECS's shapes; the discovery set carries them", async () => {
    const t = await setup();
    const created = await call(t.app, "CreateService", { cluster: C, serviceName: "web", taskDefinition: "web", desiredCount: 0, serviceConnectConfiguration: SC });
    const svc = created.service;
    // The same stored field as REST's ingress: a clientAlias port is a listenPort for portName's container port.
    expect(svc.ingress).toEqual([
      { containerPort: 80, listenPort: 8080, protocol: "tcp" },
      { containerPort: 80, listenPort: 8081, protocol: "tcp" },
    ]);
    expect(svc.discovery).toEqual({
      dnsName: `www.${C}.flotilla`,
      chosen: true,
      aliases: [`shop.${C}.flotilla`],
      srvNames: [`_http._tcp.www.${C}.flotilla`, `_admin._tcp.www.${C}.flotilla`, `_dns._udp.www.${C}.flotilla`],
    });
    const d = (await call(t.app, "DescribeServices", { cluster: C, services: ["web"] })).services[0];
    expect(d.deployments[0].serviceConnectConfiguration).toEqual({
      enabled: true,
      namespace: `${C}.flotilla`,
      services: [{ portName: "http", discoveryName: "www", clientAliases: [{ port: 8080, dnsName: `shop.${C}.flotilla` }, { port: 8081, dnsName: `www.${C}.flotilla` }] }],
    });
    expect(d.deployments[0].serviceConnectResources).toEqual([{ discoveryName: "www", discoveryArn: "arn:flotilla:servicediscovery:local:000000000000:service/www" }]);
    expect(d.serviceRegistries).toEqual([{ registryArn: "arn:flotilla:servicediscovery:local:000000000000:service/www" }]);
    // REST describes the same service the same way.
    const rest = (await t.request("GET", `/v1/clusters/${C}/services/web`)).body.service;
    expect(rest.discovery).toEqual(svc.discovery);
    expect(rest.ingress).toEqual(svc.ingress);
    // The hosts get the chosen name and the alias (the DNS responder answers whatever the set carries).
    const set = await discoveryServices(t.ctx, C);
    expect(set).toEqual([{ name: "www", aliases: ["shop"], tasks: [], ingress: svc.ingress }]);
  });

  test("UpdateService replaces the configuration; enabled: false removes the ingress and aliases; serviceRegistries sets and [] clears the name, which Service Connect sets but never clears", async () => {
    const t = await setup();
    await call(t.app, "CreateService", { cluster: C, serviceName: "web", taskDefinition: "web", desiredCount: 0, serviceConnectConfiguration: SC });
    const updated = (await call(t.app, "UpdateService", { cluster: C, service: "web", serviceConnectConfiguration: { enabled: true, services: [{ portName: "admin", clientAliases: [{ port: 9999 }] }] } })).service;
    expect(updated.ingress).toEqual([{ containerPort: 9090, listenPort: 9999, protocol: "tcp" }]);
    // The aliases are replaced; with no discoveryName given the chosen name stays (only serviceRegistries [] or REST's discovery clears it).
    expect(updated.discovery).toMatchObject({ dnsName: `www.${C}.flotilla`, aliases: [] });

    const named = (await call(t.app, "UpdateService", { cluster: C, service: "web", serviceRegistries: [{ registryArn: "arn:aws:servicediscovery:eu-west-1:123456789012:service/Api", containerName: "web", containerPort: 80 }] })).service;
    expect(named.discovery.dnsName).toBe(`api.${C}.flotilla`);
    expect(named.ingress).toEqual(updated.ingress);

    const off = (await call(t.app, "UpdateService", { cluster: C, service: "web", serviceConnectConfiguration: { enabled: false } })).service;
    expect(off.ingress).toBeUndefined();
    // serviceRegistries was not given: the name chosen through it stays.
    expect(off.discovery).toMatchObject({ dnsName: `api.${C}.flotilla`, aliases: [] });
    expect(off.deployments[0].serviceConnectConfiguration).toBeUndefined();

    const cleared = (await call(t.app, "UpdateService", { cluster: C, service: "web", serviceRegistries: [] })).service;
    expect(cleared.discovery).toEqual({ dnsName: `web.${C}.flotilla`, aliases: [], srvNames: [`_http._tcp.web.${C}.flotilla`, `_admin._tcp.web.${C}.flotilla`, `_dns._udp.web.${C}.flotilla`] });
    expect(await discoveryServices(t.ctx, C)).toEqual([{ name: "web", tasks: [] }]);
  });

  test("bad input is InvalidParameterException naming the field (NamespaceNotFoundException for another namespace), and nothing is stored", async () => {
    const t = await setup();
    const cases: [Record<string, unknown>, string, string][] = [
      [{ serviceConnectConfiguration: { enabled: true, services: [{ portName: "nope", clientAliases: [{ port: 8080 }] }] } }, "serviceConnectConfiguration.services[0].portName", "InvalidParameterException"],
      [{ serviceConnectConfiguration: { enabled: true, services: [{ portName: "dns", clientAliases: [{ port: 8053 }] }] } }, "serviceConnectConfiguration.services[0].portName", "InvalidParameterException"],
      [{ serviceConnectConfiguration: { enabled: true, services: [{ portName: "http", clientAliases: [{ port: 80 }] }] } }, "serviceConnectConfiguration.services[0].clientAliases[0].port", "InvalidParameterException"],
      // the ingress checks' own refusal (a port given twice), named as sent
      [{ serviceConnectConfiguration: { enabled: true, services: [{ portName: "http", clientAliases: [{ port: 8080 }] }, { portName: "admin", clientAliases: [{ port: 8080 }] }] } }, "serviceConnectConfiguration.services[1].clientAliases[0].port", "InvalidParameterException"],
      [{ serviceConnectConfiguration: { enabled: true, services: [{ portName: "http", clientAliases: [{ port: 70000 }] }] } }, "serviceConnectConfiguration.services[0].clientAliases[0].port", "InvalidParameterException"],
      [{ serviceConnectConfiguration: { enabled: true, services: [{ portName: "http", clientAliases: [{ port: 8080, dnsName: "shop.example.com" }] }] } }, "serviceConnectConfiguration.services[0].clientAliases[0].dnsName", "InvalidParameterException"],
      [{ serviceConnectConfiguration: { enabled: true, services: [{ portName: "http", discoveryName: "-bad" }] } }, "serviceConnectConfiguration.services[0].discoveryName", "InvalidParameterException"],
      [{ serviceConnectConfiguration: { enabled: true, services: [{ portName: "http", ingressPortOverride: 15000 }] } }, "serviceConnectConfiguration.services[0].ingressPortOverride", "InvalidParameterException"],
      [{ serviceConnectConfiguration: { enabled: true, services: [{ portName: "http", discoveryName: "a" }, { portName: "admin", discoveryName: "b" }] } }, "serviceConnectConfiguration.services[1].discoveryName", "InvalidParameterException"],
      [{ serviceConnectConfiguration: { enabled: false, services: [{ portName: "http" }] } }, "serviceConnectConfiguration.services", "InvalidParameterException"],
      [{ serviceConnectConfiguration: { enabled: true, namespace: "other.flotilla" } }, "serviceConnectConfiguration.namespace", "NamespaceNotFoundException"],
      [{ serviceConnectConfiguration: { services: [] } }, "serviceConnectConfiguration.enabled", "InvalidParameterException"],
      [{ serviceRegistries: [{ registryArn: "arn:aws:ecs:eu-west-1:1:service/x" }] }, "serviceRegistries[0].registryArn", "InvalidParameterException"],
      [{ serviceRegistries: [{ registryArn: "arn:aws:servicediscovery:eu-west-1:1:service/x", containerName: "db" }] }, "serviceRegistries[0].containerName", "InvalidParameterException"],
      [{ serviceRegistries: [{ registryArn: "arn:aws:servicediscovery:eu-west-1:1:service/x" }, { registryArn: "arn:aws:servicediscovery:eu-west-1:1:service/y" }] }, "serviceRegistries", "InvalidParameterException"],
    ];
    for (const [extra, field, code] of cases) {
      const r = await refusal(t.app, "CreateService", { cluster: C, serviceName: "web", taskDefinition: "web", desiredCount: 0, ...extra });
      expect({ field, status: r.status, code: r.code, paths: r.paths }).toEqual({ field, status: 400, code, paths: [field] });
    }
    expect((await call(t.app, "ListServices", { cluster: C })).serviceArns).toEqual([]);
  });

  test("a chosen name or alias is one service's per cluster; a refused UpdateService changes nothing", async () => {
    const t = await setup();
    await call(t.app, "CreateService", { cluster: C, serviceName: "web", taskDefinition: "web", desiredCount: 0, serviceConnectConfiguration: SC });
    const sameName = await refusal(t.app, "CreateService", { cluster: C, serviceName: "api", taskDefinition: "web", desiredCount: 0, serviceRegistries: [{ registryArn: "arn:aws:servicediscovery:x:1:service/shop" }] });
    expect(sameName.paths).toEqual(["serviceRegistries[0].registryArn"]);
    expect(sameName.message).toContain('service "web"');
    await call(t.app, "CreateService", { cluster: C, serviceName: "api", taskDefinition: "web", desiredCount: 1 });
    const alias = await refusal(t.app, "UpdateService", {
      cluster: C,
      service: "api",
      desiredCount: 3,
      serviceConnectConfiguration: { enabled: true, services: [{ portName: "admin", clientAliases: [{ port: 9000, dnsName: "www" }] }] },
    });
    expect(alias.paths).toEqual(["serviceConnectConfiguration.services[0].clientAliases[0].dnsName"]);
    const api = (await call(t.app, "DescribeServices", { cluster: C, services: ["api"] })).services[0];
    expect(api.desiredCount).toBe(1);
    expect(api.ingress).toBeUndefined();
  });
});

describe("REST: discovery {name, aliases}", () => {
  test("a chosen name and aliases are DNS labels (or NAME.CLUSTER.flotilla), shown in DescribeServices and carried in the set; bad ones are 400 naming the field", async () => {
    const t = await setup();
    for (const [discovery, field] of [
      [{ name: "web.other.flotilla" }, "discovery.name"],
      [{ name: "a_b" }, "discovery.name"],
      [{ aliases: ["ok", "x".repeat(64)] }, "discovery.aliases[1]"],
      [{ aliases: ["ok", "ok"] }, "discovery.aliases[1]"],
      [{ nam: "x" }, "discovery.nam"],
    ] as const) {
      const r = await t.request("POST", `/v1/clusters/${C}/services`, { serviceName: "web", taskDefinition: "web", desiredCount: 0, discovery });
      expect({ field, status: r.status, paths: r.body.error?.fields.map((f: any) => f.path) }).toEqual({ field, status: 400, paths: [field] });
    }
    const created = await t.request("POST", `/v1/clusters/${C}/services`, {
      serviceName: "Web_Site",
      taskDefinition: "web",
      desiredCount: 0,
      discovery: { name: `Front.${C}.flotilla`, aliases: ["www", "shop"] },
      ingress: [{ containerPort: 80, listenPort: 8080 }],
    });
    expect(created.status).toBe(201);
    expect(created.body.service.discovery).toMatchObject({ dnsName: `front.${C}.flotilla`, chosen: true, aliases: [`www.${C}.flotilla`, `shop.${C}.flotilla`] });
    expect((await t.request("GET", `/v1/clusters/${C}/discovery`)).body.services[0]).toMatchObject({ name: "front", dnsName: `front.${C}.flotilla`, aliases: ["shop", "www"], aliasDnsNames: [`shop.${C}.flotilla`, `www.${C}.flotilla`] });
    // REST's ingress shows on the AWS door as Service Connect (no alias given with the port: the service's name).
    const d = (await call(t.app, "DescribeServices", { cluster: C, services: ["Web_Site"] })).services[0];
    expect(d.deployments[0].serviceConnectConfiguration.services).toEqual([{ portName: "http", discoveryName: "front", clientAliases: [{ port: 8080, dnsName: `front.${C}.flotilla` }] }]);
    // UpdateService: a member left out stays; name null goes back to the derived name.
    const aliasOnly = await t.request("PATCH", `/v1/clusters/${C}/services/Web_Site`, { discovery: { aliases: ["store"] } });
    expect(aliasOnly.body.service.discovery).toMatchObject({ dnsName: `front.${C}.flotilla`, aliases: [`store.${C}.flotilla`] });
    const unnamed = await t.request("PATCH", `/v1/clusters/${C}/services/Web_Site`, { discovery: { name: null } });
    expect(unnamed.body.service.discovery).toMatchObject({ dnsName: `web-site.${C}.flotilla`, aliases: [`store.${C}.flotilla`] });
    // Both ways at once are refused.
    const both = await t.request("PATCH", `/v1/clusters/${C}/services/Web_Site`, { discovery: null, serviceRegistries: [] });
    expect(both.status).toBe(400);
    expect(both.body.error.fields.map((f: any) => f.path)).toEqual(["serviceRegistries"]);
    await t.request("PATCH", `/v1/clusters/${C}/services/Web_Site`, { discovery: { name: "front" } });
    const cleared = await t.request("PATCH", `/v1/clusters/${C}/services/Web_Site`, { discovery: null });
    expect(cleared.body.service.discovery).toMatchObject({ dnsName: `web-site.${C}.flotilla`, aliases: [] });
    expect(cleared.body.service.discovery.chosen).toBeUndefined();
  });

  test("a derived name is never refused: where it meets an older service's alias, the older service keeps the name", async () => {
    const t = await setup();
    expect((await t.request("POST", `/v1/clusters/${C}/services`, { serviceName: "shop", taskDefinition: "web", desiredCount: 0, discovery: { aliases: ["www"] } })).status).toBe(201);
    fleet.clock.advance(1000);
    expect((await t.request("POST", `/v1/clusters/${C}/services`, { serviceName: "www", taskDefinition: "web", desiredCount: 0 })).status).toBe(201);
    expect((await discoveryServices(t.ctx, C)).map((s) => [s.name, s.aliases])).toEqual([["shop", ["www"]]]);
  });
});
