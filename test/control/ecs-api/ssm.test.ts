import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createApi } from "../../../control/api/app.ts";
import { registerContainerInstance } from "../../../control/ops/instances.ts";
import { awsJson } from "../../helpers/aws-json.ts";
import { createTestOps, type TestOps } from "../../helpers/ops.ts";

/** The SSM actions in process (bearer token on the AWS JSON door), and the registration rules for activations without a cluster. */
let t: TestOps;
const SSM = { prefix: "AmazonSSM" };
const facts = { hostname: "h1", resources: { cpu: 1024, memory: 1024 }, attributes: {}, versionInfo: { agentVersion: "t", dockerVersion: "t" } };

beforeAll(async () => {
  t = await createTestOps();
  await t.request("POST", "/v1/clusters", { clusterName: "edge" });
});
afterAll(() => t?.close());

describe("SSM actions", () => {
  test("with an external broker, CreateActivation and DeleteActivation provision the activation's credential there", async () => {
    const calls: string[] = [];
    const app = createApi(t.ctx, {
      brokerProvisioning: {
        activationCreated: async (id, code) => void calls.push(`created ${id} ${code}`),
        activationGone: async (id) => void calls.push(`gone ${id}`),
      },
    });
    const created = await awsJson(app, "CreateActivation", { IamRole: "r" }, SSM);
    expect(created.status).toBe(200);
    const { ActivationId, ActivationCode } = created.body;
    expect(calls).toEqual([`created ${ActivationId} ${ActivationCode}`]);
    expect((await awsJson(app, "DeleteActivation", { ActivationId }, SSM)).status).toBe(200);
    expect(calls).toEqual([`created ${ActivationId} ${ActivationCode}`, `gone ${ActivationId}`]);
  });

  test("ISO ExpirationDate is taken too; REST-made activations are listed, deleted ones are not", async () => {
    const at = new Date(Date.now() + 3600_000).toISOString();
    const created = await awsJson(t.app, "CreateActivation", { IamRole: "r", ExpirationDate: at }, SSM);
    expect(created.status).toBe(200);
    const rest = await t.request("POST", "/v1/clusters/edge/activations", { registrationLimit: 2, description: "rest" });
    const list = await awsJson(t.app, "DescribeActivations", { Filters: [{ FilterKey: "ActivationIds", FilterValues: [created.body.ActivationId, rest.body.activationId] }] }, SSM);
    const byId = new Map<string, any>(list.body.ActivationList.map((a: any) => [a.ActivationId, a]));
    // Epoch seconds on the wire.
    expect(byId.get(created.body.ActivationId).ExpirationDate).toBe(Date.parse(at) / 1000);
    expect(byId.get(rest.body.activationId)).toMatchObject({ RegistrationLimit: 2, Description: "rest", Expired: false });
    await t.request("DELETE", `/v1/clusters/edge/activations/${rest.body.activationId}`);
    const after = await awsJson(t.app, "DescribeActivations", { Filters: [{ FilterKey: "ActivationIds", FilterValues: [rest.body.activationId] }] }, SSM);
    expect(after.body.ActivationList).toEqual([]);
  });

  test("bad input names the member: InvalidParameters, InvalidActivationId", async () => {
    const limit = await awsJson(t.app, "CreateActivation", { IamRole: "r", RegistrationLimit: 0 }, SSM);
    expect(limit.body.__type).toBe("InvalidParameters");
    expect(limit.body.message).toContain("RegistrationLimit");
    const past = await awsJson(t.app, "CreateActivation", { IamRole: "r", ExpirationDate: Date.now() / 1000 - 60 }, SSM);
    expect(past.body.message).toContain("ExpirationDate must be in the future");
    const id = await awsJson(t.app, "DeleteActivation", { ActivationId: "nope" }, SSM);
    expect(id.body.__type).toBe("InvalidActivationId");
  });
});

describe("registration with activations with and without a cluster", () => {
  test("no cluster: the agent's cluster, which must exist (default is created); a bound activation refuses another", async () => {
    const free = (await awsJson(t.app, "CreateActivation", { IamRole: "r", RegistrationLimit: 5 }, SSM)).body;
    const missing = await registerContainerInstance(t.ctx, free.ActivationId, free.ActivationCode, facts, "nowhere");
    expect(missing).toEqual({ ok: false, reason: 'cluster "nowhere" not found (ClusterNotFoundException)' });
    const edge = await registerContainerInstance(t.ctx, free.ActivationId, free.ActivationCode, facts, "edge");
    expect(edge.ok && edge.instance.clusterName).toBe("edge");
    const dflt = await registerContainerInstance(t.ctx, free.ActivationId, free.ActivationCode, facts);
    expect(dflt.ok && dflt.instance.clusterName).toBe("default");
    expect((await t.request("GET", "/v1/clusters/default")).status).toBe(200);

    const bound = (await t.request("POST", "/v1/clusters/edge/activations", { registrationLimit: 5 })).body;
    const other = await registerContainerInstance(t.ctx, bound.activationId, bound.activationCode, facts, "default");
    expect(other).toEqual({ ok: false, reason: `activation ${bound.activationId} is for cluster "edge", not "default" (the agent's --cluster)` });
    const same = await registerContainerInstance(t.ctx, bound.activationId, bound.activationCode, facts, "edge");
    expect(same.ok && same.instance.clusterName).toBe("edge");
    const unnamed = await registerContainerInstance(t.ctx, bound.activationId, bound.activationCode, facts);
    expect(unnamed.ok && unnamed.instance.clusterName).toBe("edge");
    // A refused registration used none of the activation's registrations.
    const rows = (await t.request("GET", "/v1/clusters/edge/activations")).body.activations as any[];
    expect(rows.find((a) => a.activationId === bound.activationId).registrationsCount).toBe(2);
  });
});
