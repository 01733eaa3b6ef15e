import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createApi } from "../../../control/api/app.ts";
import { APP_V1, APP_V2, fakeFleet } from "../services/fake-fleet.ts";
import { awsCli } from "./aws-cli.ts";
import { call } from "./call.ts";

/**
 * The real aws CLI (botocore's model, its JMESPath waiters and its timestamp parsing) against the
 * AWS JSON front door over HTTP on 127.0.0.1. Signature checking is not what this file tests: the
 * front door is given a SigV4 verifier that admits the CLI's signed requests as an admin (the
 * verifier is createApi's injection point; its real implementation is tested on its own).
 */
const C = "cli-wait";
let fleet: Awaited<ReturnType<typeof fakeFleet>>;
let server: ReturnType<typeof Bun.serve>;
let cli: ReturnType<typeof awsCli>;
const aws = (...args: string[]) => cli.aws(...args);

beforeAll(async () => {
  fleet = await fakeFleet(C, 2);
  expect((await fleet.t.request("POST", "/v1/task-definitions", APP_V1)).status).toBe(201);
  const app = createApi(fleet.t.ctx, { sigV4: async () => ({ tokenId: "cli", name: "cli", role: "admin" }) });
  server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: app.fetch });
  cli = awsCli(() => server.port!);
});
afterAll(() => {
  server?.stop(true);
  fleet?.close();
  cli?.close();
});

async function converge(rounds: number) {
  for (let i = 0; i < rounds; i++) {
    await fleet.round();
    await fleet.settle();
    fleet.clock.advance(1000);
  }
}

describe("aws CLI against the front door", () => {
  test("create-service, describe-services, and `aws ecs wait services-stable` once the agents report the tasks running", async () => {
    const created = await aws("ecs", "create-service", "--cluster", C, "--service-name", "web", "--task-definition", "app", "--desired-count", "2", "--launch-type", "EXTERNAL", "--tags", "key=team,value=edge");
    expect(created.stderr).toBe("");
    expect(created.code).toBe(0);
    expect(JSON.parse(created.stdout).service).toMatchObject({ serviceName: "web", status: "ACTIVE", desiredCount: 2, launchType: "EXTERNAL" });

    await converge(6);
    const stable = await aws("ecs", "wait", "services-stable", "--cluster", C, "--services", "web");
    expect(stable.stderr).toBe("");
    expect(stable.code).toBe(0);

    const described = await aws("ecs", "describe-services", "--cluster", C, "--services", "web", "--include", "TAGS");
    expect(described.code).toBe(0);
    const svc = JSON.parse(described.stdout).services[0];
    expect(svc).toMatchObject({ runningCount: 2, tags: [{ key: "team", value: "edge" }] });
    // The CLI read the timestamp as epoch seconds (the fleet's clock started at 1_700_000_000 s);
    // aws CLI v2 prints it back as an ISO time.
    expect(Date.parse(svc.createdAt)).toBe(1_700_000_000_000);
  });

  test("the waiter fails at once on a service that does not exist (failures[].reason MISSING)", async () => {
    const r = await aws("ecs", "wait", "services-stable", "--cluster", C, "--services", "ghost");
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("Waiter ServicesStable failed");
    expect(r.stderr).toContain("MISSING");
  });

  test("list-services pages through ARNs as the CLI paginates (one per page, following nextToken)", async () => {
    await fleet.t.request("POST", "/v1/task-definitions", APP_V2);
    await call(fleet.t.app, "CreateService", { cluster: C, serviceName: "other", taskDefinition: "app:2", desiredCount: 0 });
    const services = await aws("ecs", "list-services", "--cluster", C, "--page-size", "1");
    expect(services.code).toBe(0);
    expect(JSON.parse(services.stdout).serviceArns.map((a: string) => a.split("/").pop())).toEqual(["other", "web"]);
  });
});
