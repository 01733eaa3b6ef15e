import { afterEach, describe, expect, test } from "bun:test";
import { discoveryServices } from "../../../control/ops/discovery.ts";
import { fakeFleet } from "./fake-fleet.ts";
import { addInstance } from "../../helpers/ops.ts";
import { ingressListeners } from "../../../shared/ingress.ts";

const C = "ingress-routes";
const WEB = { family: "web", containerDefinitions: [{ name: "web", image: "nginx", memory: 64, essential: true, portMappings: [{ containerPort: 80 }, { containerPort: 53, protocol: "udp" }] }] };
const NO_PORTS = { family: "web", containerDefinitions: [{ name: "web", image: "nginx", memory: 64, essential: true }] };

let fleet: Awaited<ReturnType<typeof fakeFleet>>;
afterEach(() => fleet?.close());

async function setup() {
  fleet = await fakeFleet(C, 1);
  expect((await fleet.t.request("POST", "/v1/task-definitions", WEB)).status).toBe(201);
  return fleet.t;
}

const svc = (name: string, ingress: unknown, extra: object = {}) => ({ serviceName: name, taskDefinition: "web:1", desiredCount: 0, ingress, ...extra });
const fieldsOf = (res: { body: any }) => res.body.error.fields.map((f: any) => f.path);

describe("service ingress (CreateService / UpdateService)", () => {
  test("bad ingress is a 400 naming the field, and stores nothing", async () => {
    const t = await setup();
    const cases: [unknown, string][] = [
      [[{ containerPort: 80, listenPort: 0 }], "ingress[0].listenPort"],
      [[{ containerPort: 80, listenPort: 65536 }], "ingress[0].listenPort"],
      [[{ containerPort: 80, listenPort: 8080, protocol: "udp" }], "ingress[0].protocol"],
      [[{ containerPort: 80, listenPort: 8080, bogus: 1 }], "ingress[0].bogus"],
      [[{ containerPort: 81, listenPort: 8080 }], "ingress[0].containerPort"],
      // a UDP mapping is no TCP target
      [[{ containerPort: 53, listenPort: 8053 }], "ingress[0].containerPort"],
      // below 1024 without the cluster policy
      [[{ containerPort: 80, listenPort: 80 }], "ingress[0].listenPort"],
      [[{ containerPort: 80, listenPort: 8080 }, { containerPort: 80, listenPort: 8080 }], "ingress[1].listenPort"],
      // health checks: ELB's names and ranges
      [[{ containerPort: 80, listenPort: 8080, healthCheck: { intervalSeconds: 4 } }], "ingress[0].healthCheck.intervalSeconds"],
      [[{ containerPort: 80, listenPort: 8080, healthCheck: { timeoutSeconds: 121 } }], "ingress[0].healthCheck.timeoutSeconds"],
      [[{ containerPort: 80, listenPort: 8080, healthCheck: { intervalSeconds: 10, timeoutSeconds: 10 } }], "ingress[0].healthCheck.timeoutSeconds"],
      [[{ containerPort: 80, listenPort: 8080, healthCheck: { healthyThresholdCount: 1 } }], "ingress[0].healthCheck.healthyThresholdCount"],
      [[{ containerPort: 80, listenPort: 8080, healthCheck: { unhealthyThresholdCount: 11 } }], "ingress[0].healthCheck.unhealthyThresholdCount"],
      [[{ containerPort: 80, listenPort: 8080, healthCheck: { path: "health" } }], "ingress[0].healthCheck.path"],
      [[{ containerPort: 80, listenPort: 8080, healthCheck: { matcher: { httpCode: "2xx" } } }], "ingress[0].healthCheck.matcher.httpCode"],
      [[{ containerPort: 80, listenPort: 8080, healthCheck: { interval: 10 } }], "ingress[0].healthCheck.interval"],
    ];
    for (const [ingress, field] of cases) {
      const res = await t.request("POST", `/v1/clusters/${C}/services`, svc("web", ingress));
      expect(res.status).toBe(400);
      expect(fieldsOf(res)).toContain(field);
    }
    expect((await t.request("GET", `/v1/clusters/${C}/services`)).body.services).toEqual([]);
  });

  test("a service whose name has no DNS label cannot take ingress (it could never be published): 400 naming serviceName; without ingress the name is fine", async () => {
    const t = await setup();
    const long = "w".repeat(64);
    for (const name of [long, "_web", "web_"]) {
      const res = await t.request("POST", `/v1/clusters/${C}/services`, svc(name, [{ containerPort: 80, listenPort: 8080 }]));
      expect(res.status).toBe(400);
      expect(fieldsOf(res)).toEqual(["serviceName"]);
      expect(res.body.error.message).toContain("no DNS label");
    }
    // ECS's names allow them without ingress; UpdateService adding ingress is refused the same way.
    expect((await t.request("POST", `/v1/clusters/${C}/services`, svc(long, undefined))).status).toBe(201);
    const update = await t.request("PATCH", `/v1/clusters/${C}/services/${long}`, { ingress: [{ containerPort: 80, listenPort: 8080 }] });
    expect(update.status).toBe(400);
    expect(fieldsOf(update)).toEqual(["serviceName"]);
    // A chosen DNS name serves the service instead: then its own name need not be a label.
    const chosen = await t.request("POST", `/v1/clusters/${C}/services`, svc("_legacy", [{ containerPort: 80, listenPort: 8082 }], { discovery: { name: "legacy" } }));
    expect(chosen.status).toBe(201);
    // Underscores map to hyphens in DNS: web_api is served as web-api, so it may have ingress.
    expect((await t.request("POST", `/v1/clusters/${C}/services`, svc("web_api", [{ containerPort: 80, listenPort: 8080 }]))).status).toBe(201);
  });

  test("a listen port is one service's per cluster; the policy allows ports below 1024; update replaces or clears", async () => {
    const t = await setup();
    const created = await t.request("POST", `/v1/clusters/${C}/services`, svc("web", [{ containerPort: 80, listenPort: 8080 }]));
    expect(created.status).toBe(201);
    expect(created.body.service.ingress).toEqual([{ containerPort: 80, listenPort: 8080, protocol: "tcp" }]);
    expect((await t.request("GET", `/v1/clusters/${C}/services/web`)).body.service.ingress).toEqual([{ containerPort: 80, listenPort: 8080, protocol: "tcp" }]);

    const taken = await t.request("POST", `/v1/clusters/${C}/services`, svc("api", [{ containerPort: 80, listenPort: 8080 }]));
    expect(taken.status).toBe(400);
    expect(fieldsOf(taken)).toEqual(["ingress[0].listenPort"]);
    expect(taken.body.error.message).toContain('service "web"');
    expect((await t.request("GET", `/v1/clusters/${C}/services/api`)).status).toBe(404);

    // UpdateService: refused as a whole (the desiredCount given with it is not applied either).
    expect((await t.request("POST", `/v1/clusters/${C}/services`, svc("api", undefined))).status).toBe(201);
    const refused = await t.request("PATCH", `/v1/clusters/${C}/services/api`, { desiredCount: 3, ingress: [{ containerPort: 80, listenPort: 8080 }] });
    expect(refused.status).toBe(400);
    expect(fieldsOf(refused)).toEqual(["ingress[0].listenPort"]);
    const api = (await t.request("GET", `/v1/clusters/${C}/services/api`)).body.service;
    expect(api.desiredCount).toBe(0);
    expect(api.ingress).toBeUndefined();

    // Below 1024 once the cluster policy allows it.
    expect((await t.request("PATCH", `/v1/clusters/${C}/services/api`, { ingress: [{ containerPort: 80, listenPort: 80 }] })).status).toBe(400);
    expect((await t.request("PUT", `/v1/clusters/${C}/policy`, { allowPrivilegedIngressPorts: true })).status).toBe(200);
    expect((await t.request("PATCH", `/v1/clusters/${C}/services/api`, { ingress: [{ containerPort: 80, listenPort: 80 }] })).body.service.ingress).toEqual([{ containerPort: 80, listenPort: 80, protocol: "tcp" }]);

    // Clearing web's ingress frees its port.
    expect((await t.request("PATCH", `/v1/clusters/${C}/services/web`, { ingress: [] })).body.service.ingress).toBeUndefined();
    expect((await t.request("PATCH", `/v1/clusters/${C}/services/api`, { ingress: [{ containerPort: 80, listenPort: 8080 }] })).status).toBe(200);
  });

  test("a new revision must still map the ingress's container port", async () => {
    const t = await setup();
    expect((await t.request("POST", `/v1/clusters/${C}/services`, svc("web", [{ containerPort: 80, listenPort: 8080 }]))).status).toBe(201);
    expect((await t.request("POST", "/v1/task-definitions", NO_PORTS)).status).toBe(201);
    const res = await t.request("PATCH", `/v1/clusters/${C}/services/web`, { taskDefinition: "web:2" });
    expect(res.status).toBe(400);
    expect(fieldsOf(res)).toEqual(["ingress[0].containerPort"]);
    const web = (await t.request("GET", `/v1/clusters/${C}/services/web`)).body.service;
    expect(web.taskDefinition).toContain("web:1");
    expect(web.deployments).toHaveLength(1);
    // Dropping the ingress with it is accepted.
    expect((await t.request("PATCH", `/v1/clusters/${C}/services/web`, { taskDefinition: "web:2", ingress: [] })).status).toBe(200);
  });

  test("the discovery set carries each service's ingress", async () => {
    const t = await setup();
    await t.request("POST", `/v1/clusters/${C}/services`, svc("web", [{ containerPort: 80, listenPort: 8080 }]));
    await t.request("POST", `/v1/clusters/${C}/services`, svc("plain", undefined));
    const set = await discoveryServices(t.ctx, C);
    expect(set.find((s) => s.name === "web")?.ingress).toEqual([{ containerPort: 80, listenPort: 8080, protocol: "tcp" }]);
    expect(set.find((s) => s.name === "plain")).not.toHaveProperty("ingress");
  });

  test("a health check is stored with ELB's defaults, replaced at update, and carried in the set", async () => {
    const t = await setup();
    const res = await t.request("POST", `/v1/clusters/${C}/services`, svc("web", [{ containerPort: 80, listenPort: 8080, healthCheck: { path: "/health" } }]));
    expect(res.body.error ?? res.status).toBe(201);
    const defaults = { path: "/health", intervalSeconds: 30, timeoutSeconds: 5, healthyThresholdCount: 5, unhealthyThresholdCount: 2, matcher: { httpCode: "200" } };
    expect(res.body.service.ingress[0].healthCheck).toEqual(defaults);
    expect((await discoveryServices(t.ctx, C))[0]!.ingress![0]!.healthCheck).toEqual(defaults);
    const bad = await t.request("PATCH", `/v1/clusters/${C}/services/web`, { ingress: [{ containerPort: 80, listenPort: 8080, healthCheck: { intervalSeconds: 5, timeoutSeconds: 6 } }] });
    expect(bad.status).toBe(400);
    expect(fieldsOf(bad)).toContain("ingress[0].healthCheck.timeoutSeconds");
    const upd = await t.request("PATCH", `/v1/clusters/${C}/services/web`, { ingress: [{ containerPort: 80, listenPort: 8080, healthCheck: { matcher: { httpCode: "200-399" } } }] });
    expect(upd.body.error ?? upd.status).toBe(200);
    expect((await discoveryServices(t.ctx, C))[0]!.ingress![0]!.healthCheck!.matcher).toEqual({ httpCode: "200-399" });
  });

  test("a static host port equal to an ingress listenPort of the cluster is refused either way: 400 naming taskDefinition or ingress[i].listenPort", async () => {
    const t = await setup();
    const STATIC = { family: "fixed", containerDefinitions: [{ name: "fixed", image: "nginx", memory: 64, essential: true, portMappings: [{ containerPort: 80, hostPort: 8080 }] }] };
    const HOST = { family: "hostnet", containerDefinitions: [{ name: "h", image: "nginx", memory: 64, essential: true, portMappings: [{ containerPort: 9090, hostPort: 9090 }] }] };
    const AWSVPC = { family: "vpc", networkMode: "awsvpc", containerDefinitions: [{ name: "v", image: "nginx", memory: 64, essential: true, portMappings: [{ containerPort: 8080 }] }] };
    for (const td of [STATIC, HOST, AWSVPC]) expect((await t.request("POST", "/v1/task-definitions", td)).status).toBe(201);
    expect((await t.request("POST", `/v1/clusters/${C}/services`, svc("web", [{ containerPort: 80, listenPort: 8080 }]))).status).toBe(201);
    // The service's own task definition binds another service's ingress port: at create, at update.
    const create = await t.request("POST", `/v1/clusters/${C}/services`, { serviceName: "fixed", taskDefinition: "fixed:1", desiredCount: 0 });
    expect(create.status).toBe(400);
    expect(fieldsOf(create)).toEqual(["taskDefinition"]);
    expect(create.body.error.message).toContain('host port 8080, the ingress listenPort of service "web"');
    expect((await t.request("POST", `/v1/clusters/${C}/services`, svc("other", undefined))).status).toBe(201);
    const update = await t.request("PATCH", `/v1/clusters/${C}/services/other`, { taskDefinition: "fixed:1" });
    expect(update.status).toBe(400);
    expect(fieldsOf(update)).toEqual(["taskDefinition"]);
    // Its own ingress on its own static port: the same refusal.
    const own = await t.request("POST", `/v1/clusters/${C}/services`, { serviceName: "self", taskDefinition: "hostnet:1", desiredCount: 0, ingress: [{ containerPort: 9090, listenPort: 9090 }] });
    expect(own.status).toBe(400);
    expect(fieldsOf(own)).toContain("taskDefinition");
    // An awsvpc task binds in its own namespace, not on the host: no conflict.
    expect((await t.request("POST", `/v1/clusters/${C}/services`, { serviceName: "vpc", taskDefinition: "vpc:1", desiredCount: 0 })).status).toBe(201);
    // The other direction: an ingress on a port another service's tasks bind statically.
    expect((await t.request("POST", `/v1/clusters/${C}/services`, { serviceName: "hostnet", taskDefinition: "hostnet:1", desiredCount: 0 })).status).toBe(201);
    const taken = await t.request("PATCH", `/v1/clusters/${C}/services/other`, { ingress: [{ containerPort: 80, listenPort: 9090 }] });
    expect(taken.status).toBe(400);
    expect(fieldsOf(taken)).toEqual(["ingress[0].listenPort"]);
    expect(taken.body.error.message).toContain('static host port of the tasks of service "hostnet"');
    expect((await t.request("GET", `/v1/clusters/${C}/services/other`)).body.service.ingress).toBeUndefined();
  });

  test("hostExpression: a bad expression is a 400 naming it; the discovery set carries the hosts that match, and only those hosts listen", async () => {
    const t = await setup();
    const edge = await addInstance(t, C, { cpu: 1024, memory: 2048 }, { site: "edge" });
    const bad = await t.request("POST", `/v1/clusters/${C}/services`, svc("web", [{ containerPort: 80, listenPort: 8080, hostExpression: "attribute:site ==" }]));
    expect(bad.status).toBe(400);
    expect(fieldsOf(bad)).toEqual(["ingress[0].hostExpression"]);
    expect((await t.request("GET", `/v1/clusters/${C}/services`)).body.services).toEqual([]);
    const ok = await t.request("POST", `/v1/clusters/${C}/services`, svc("web", [{ containerPort: 80, listenPort: 8080, hostExpression: "attribute:site == edge" }, { containerPort: 80, listenPort: 8081 }]));
    expect(ok.status).toBe(201);
    const [rule, open] = (await discoveryServices(t.ctx, C)).find((s) => s.name === "web")!.ingress!;
    expect(rule!.listenHosts).toEqual([edge]);
    expect(open).not.toHaveProperty("listenHosts");
    const set = { clusterName: C, clusterLabel: C, generation: 1, services: await discoveryServices(t.ctx, C) };
    expect(ingressListeners(set, edge).map((l) => l.listenPort)).toEqual([8080, 8081]);
    expect(ingressListeners(set, fleet.instances[0]!).map((l) => l.listenPort)).toEqual([8081]);
  });

  test("placement does not put a task with a static host port on a host whose ingress proxy listens on that port (RESOURCE:PORTS); with a hostExpression, the other hosts take it", async () => {
    const t = await setup();
    const edge = await addInstance(t, C, { cpu: 1024, memory: 2048 }, { site: "edge" });
    const FIXED = { family: "fixed", containerDefinitions: [{ name: "fixed", image: "nginx", memory: 64, essential: true, portMappings: [{ containerPort: 80, hostPort: 8080 }] }] };
    expect((await t.request("POST", "/v1/task-definitions", FIXED)).status).toBe(201);
    expect((await t.request("POST", `/v1/clusters/${C}/services`, svc("web", [{ containerPort: 80, listenPort: 8080 }]))).status).toBe(201);
    const refused = await t.request("POST", `/v1/clusters/${C}/tasks`, { taskDefinition: "fixed:1", count: 1 });
    expect(refused.body.tasks).toEqual([]);
    expect(refused.body.failures.map((f: any) => f.reason)).toEqual(["RESOURCE:PORTS"]);
    // Only the edge host listens now: the task goes to the other one.
    expect((await t.request("PATCH", `/v1/clusters/${C}/services/web`, { ingress: [{ containerPort: 80, listenPort: 8080, hostExpression: "attribute:site == edge" }] })).status).toBe(200);
    const placed = await t.request("POST", `/v1/clusters/${C}/tasks`, { taskDefinition: "fixed:1", count: 2 });
    expect(placed.body.tasks.map((x: any) => x.containerInstanceId)).toEqual([fleet.instances[0]]);
    expect(placed.body.failures.map((f: any) => f.reason)).toEqual(["RESOURCE:PORTS"]);
    expect(placed.body.tasks.map((x: any) => x.containerInstanceId)).not.toContain(edge);
  });
});
