import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { CreateServiceCommand, DescribeServicesCommand, ECSClient, InvalidParameterException, UpdateServiceCommand } from "@aws-sdk/client-ecs";
import { createApi } from "../../../control/api/app.ts";
import { discoveryServices } from "../../../control/ops/discovery.ts";
import { fakeFleet } from "../services/fake-fleet.ts";
import { awsCli } from "./aws-cli.ts";

/**
 * Ingress and DNS names as the real aws CLI (its botocore model validates what it sends and drops
 * what the model lacks from what it prints) and @aws-sdk/client-ecs send and read them: ECS's
 * serviceConnectConfiguration and serviceRegistries (docs/ingress.md, "Through ECS's shapes"),
 * over HTTP on 127.0.0.1. As in aws-cli-waiter.test.ts the front door is given a SigV4 verifier
 * that admits the signed requests as an admin (the real verifier is tested in sigv4.test.ts).
 */
const C = "cli-sc";
const WEB = {
  family: "web",
  containerDefinitions: [{ name: "web", image: "nginx", memory: 64, essential: true, portMappings: [{ containerPort: 80, name: "http" }, { containerPort: 9090, name: "admin" }] }],
};
let fleet: Awaited<ReturnType<typeof fakeFleet>>;
let server: ReturnType<typeof Bun.serve>;
let cli: ReturnType<typeof awsCli>;
let ecs: ECSClient;
const aws = (...args: string[]) => cli.aws(...args);

beforeAll(async () => {
  fleet = await fakeFleet(C, 1);
  expect((await fleet.t.request("POST", "/v1/task-definitions", WEB)).status).toBe(201);
  const app = createApi(fleet.t.ctx, { sigV4: async () => ({ tokenId: "cli", name: "cli", role: "admin" }) });
  server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: app.fetch });
  cli = awsCli(() => server.port!);
  ecs = new ECSClient({ endpoint: `http://127.0.0.1:${server.port}`, region: "eu-west-1", credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "not-checked-here" }, maxAttempts: 1 });
});
afterAll(() => {
  ecs?.destroy();
  server?.stop(true);
  fleet?.close();
  cli?.close();
});

describe("aws CLI: serviceConnectConfiguration and serviceRegistries", () => {
  test("create-service with --service-connect-configuration; describe-services shows it; update-service replaces it; bad input refused naming the field", async () => {
    const sc = { enabled: true, namespace: `${C}.flotilla`, services: [{ portName: "http", discoveryName: "shop", clientAliases: [{ port: 8080, dnsName: "www" }] }] };
    const created = await aws("ecs", "create-service", "--cluster", C, "--service-name", "web", "--task-definition", "web", "--desired-count", "0", "--service-connect-configuration", JSON.stringify(sc));
    expect(created.stderr).toBe("");
    expect(created.code).toBe(0);
    // What the CLI prints is what its model has: the PRIMARY deployment's serviceConnectConfiguration and resources.
    const dep = JSON.parse(created.stdout).service.deployments[0];
    expect(dep.serviceConnectConfiguration).toEqual({ enabled: true, namespace: `${C}.flotilla`, services: [{ portName: "http", discoveryName: "shop", clientAliases: [{ port: 8080, dnsName: `www.${C}.flotilla` }] }] });
    expect(dep.serviceConnectResources).toEqual([{ discoveryName: "shop", discoveryArn: "arn:flotilla:servicediscovery:local:000000000000:service/shop" }]);
    expect(await discoveryServices(fleet.t.ctx, C)).toEqual([{ name: "shop", aliases: ["www"], tasks: [], ingress: [{ containerPort: 80, listenPort: 8080, protocol: "tcp" }] }]);

    const described = await aws("ecs", "describe-services", "--cluster", C, "--services", "web");
    expect(described.code).toBe(0);
    const svc = JSON.parse(described.stdout).services[0];
    expect(svc.serviceRegistries).toEqual([{ registryArn: "arn:flotilla:servicediscovery:local:000000000000:service/shop" }]);
    expect(svc.deployments[0].serviceConnectConfiguration.services[0].clientAliases).toEqual([{ port: 8080, dnsName: `www.${C}.flotilla` }]);

    // The CLI's shorthand syntax works too.
    const updated = await aws("ecs", "update-service", "--cluster", C, "--service", "web", "--service-connect-configuration", "enabled=true,services=[{portName=admin,clientAliases=[{port=9999}]}]");
    expect(updated.stderr).toBe("");
    expect(updated.code).toBe(0);
    expect(JSON.parse(updated.stdout).service.deployments[0].serviceConnectConfiguration.services).toEqual([{ portName: "admin", discoveryName: "shop", clientAliases: [{ port: 9999, dnsName: `shop.${C}.flotilla` }] }]);

    const renamed = await aws("ecs", "update-service", "--cluster", C, "--service", "web", "--service-registries", "registryArn=arn:aws:servicediscovery:eu-west-1:123456789012:service/api");
    expect(renamed.code).toBe(0);
    expect(JSON.parse(renamed.stdout).service.serviceRegistries).toEqual([{ registryArn: "arn:flotilla:servicediscovery:local:000000000000:service/api" }]);

    const bad = await aws("ecs", "update-service", "--cluster", C, "--service", "web", "--service-connect-configuration", JSON.stringify({ enabled: true, services: [{ portName: "nope", clientAliases: [{ port: 8081 }] }] }));
    expect(bad.code).toBe(254);
    expect(bad.stderr).toMatch(/An error occurred \(InvalidParameterException\) when calling the UpdateService operation(?: \(reached max retries: \d+\))?: serviceConnectConfiguration\.services\[0\]\.portName: "nope" is no portMappings\[\]\.name/);
    const ns = await aws("ecs", "create-service", "--cluster", C, "--service-name", "other", "--task-definition", "web", "--desired-count", "0", "--service-connect-configuration", "enabled=true,namespace=elsewhere");
    expect(ns.code).toBe(254);
    expect(ns.stderr).toContain("(NamespaceNotFoundException)");
    expect(ns.stderr).toContain("serviceConnectConfiguration.namespace");
    // Nothing of the refused calls was stored.
    expect((await discoveryServices(fleet.t.ctx, C)).map((s) => [s.name, s.ingress])).toEqual([["api", [{ containerPort: 9090, listenPort: 9999, protocol: "tcp" }]]]);
  });
});

describe("@aws-sdk/client-ecs: serviceConnectConfiguration", () => {
  test("CreateService, DescribeServices, UpdateService read and write ECS's shapes; a port taken by another service is an InvalidParameterException naming the field", async () => {
    const created = await ecs.send(
      new CreateServiceCommand({
        cluster: C,
        serviceName: "sdk",
        taskDefinition: "web",
        desiredCount: 0,
        serviceConnectConfiguration: { enabled: true, services: [{ portName: "http", clientAliases: [{ port: 7070 }] }] },
      }),
    );
    expect(created.service?.deployments?.[0]?.serviceConnectConfiguration).toEqual({ enabled: true, namespace: `${C}.flotilla`, services: [{ portName: "http", discoveryName: "sdk", clientAliases: [{ port: 7070, dnsName: `sdk.${C}.flotilla` }] }] });
    const d = await ecs.send(new DescribeServicesCommand({ cluster: C, services: ["sdk"] }));
    expect(d.services?.[0]?.deployments?.[0]?.serviceConnectResources).toEqual([{ discoveryName: "sdk", discoveryArn: "arn:flotilla:servicediscovery:local:000000000000:service/sdk" }]);
    expect(d.services?.[0]?.serviceRegistries).toEqual([]);

    const u = await ecs.send(new UpdateServiceCommand({ cluster: C, service: "sdk", serviceConnectConfiguration: { enabled: true, services: [{ portName: "http", clientAliases: [{ port: 7071, dnsName: "api2" }] }] } }));
    expect(u.service?.deployments?.[0]?.serviceConnectConfiguration?.services?.[0]?.clientAliases).toEqual([{ port: 7071, dnsName: `api2.${C}.flotilla` }]);

    // 9999 is service web's (the test above).
    const refused = await ecs.send(new UpdateServiceCommand({ cluster: C, service: "sdk", serviceConnectConfiguration: { enabled: true, services: [{ portName: "http", clientAliases: [{ port: 9999 }] }] } })).catch((e) => e);
    expect(refused).toBeInstanceOf(InvalidParameterException);
    expect(refused.message).toContain('serviceConnectConfiguration.services[0].clientAliases[0].port: port 9999 is already the ingress of service "web"');
    const after = await ecs.send(new DescribeServicesCommand({ cluster: C, services: ["sdk"] }));
    expect(after.services?.[0]?.deployments?.[0]?.serviceConnectConfiguration?.services?.[0]?.clientAliases).toEqual([{ port: 7071, dnsName: `api2.${C}.flotilla` }]);
  });
});
