import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { OpError } from "../../../control/ops/errors.ts";
import { createApi } from "../../../control/api/app.ts";
import { listAudit } from "../../../control/ops/audit.ts";
import { createToken } from "../../../control/ops/tokens.ts";
import { awsJson, ECS_PREFIX } from "../../helpers/aws-json.ts";
import { createTestOps, type TestOps } from "../../helpers/ops.ts";
import { captureLogs } from "../../helpers/log-capture.ts";

let t: TestOps;
beforeEach(async () => (t = await createTestOps()));
afterEach(() => t.close());

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe("AWS JSON 1.1 protocol", () => {
  test("a call answers JSON with the 1.1 content type and a request id", async () => {
    const r = await awsJson(t.app, "CreateCluster", { clusterName: "edge" });
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("application/x-amz-json-1.1");
    expect(r.headers.get("x-amzn-requestid")).toMatch(UUID);
    expect(r.body.cluster).toMatchObject({ clusterName: "edge", status: "ACTIVE" });
  });

  test("JSON 1.0 requests are accepted too", async () => {
    const r = await awsJson(t.app, "ListClusters", {}, { contentType: "application/x-amz-json-1.0" });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ clusterArns: [] });
  });

  test("every timestamp member is epoch seconds", async () => {
    const before = Date.now() / 1000;
    const r = await awsJson(t.app, "RegisterTaskDefinition", {
      family: "ts",
      containerDefinitions: [{ name: "c", image: "busybox", memory: 64, dockerLabels: { registeredAt: "2020-01-01T00:00:00Z" } }],
    });
    expect(r.status).toBe(200);
    const td = r.body.taskDefinition;
    expect(typeof td.registeredAt).toBe("number");
    expect(td.registeredAt).toBeGreaterThanOrEqual(Math.floor(before));
    expect(td.registeredAt).toBeLessThanOrEqual(Date.now() / 1000 + 1);
    // A map's keys are the user's: a label named like a timestamp member stays as written.
    expect(td.containerDefinitions[0].dockerLabels).toEqual({ registeredAt: "2020-01-01T00:00:00Z" });
  });

  test("errors carry __type and message, the x-amzn-ErrorType header and HTTP 400", async () => {
    const r = await awsJson(t.app, "DeleteCluster", { cluster: "nope" });
    expect(r.status).toBe(400);
    expect(r.body).toEqual({ __type: "ClusterNotFoundException", message: expect.stringContaining("nope") });
    expect(r.headers.get("x-amzn-errortype")).toBe("ClusterNotFoundException");
    expect(r.headers.get("x-amzn-requestid")).toMatch(UUID);
    expect(r.headers.get("content-type")).toBe("application/x-amz-json-1.1");
  });

  test("an unknown action, an unknown prefix and a missing target are UnknownOperationException", async () => {
    for (const r of [
      await awsJson(t.app, "LaunchRockets", {}),
      await awsJson(t.app, "ListClusters", {}, { prefix: "AmazonNoSuchService" }),
      await awsJson(t.app, "ListClusters", {}, { prefix: null }),
      // Object.prototype members are not actions.
      await awsJson(t.app, "constructor", {}),
    ]) {
      expect(r.status).toBe(400);
      expect(r.body.__type).toBe("UnknownOperationException");
      expect(r.headers.get("x-amzn-errortype")).toBe("UnknownOperationException");
    }
  });

  test("a body that is not a JSON object is SerializationException", async () => {
    expect((await awsJson(t.app, "ListClusters", "{not json")).body.__type).toBe("SerializationException");
    expect((await awsJson(t.app, "ListClusters", "[1]")).body.__type).toBe("SerializationException");
  });

  test("a field-level validation error is InvalidParameterException naming the field path", async () => {
    const r = await awsJson(t.app, "DescribeClusters", { clusters: ["a", 7] });
    expect(r.status).toBe(400);
    expect(r.body.__type).toBe("InvalidParameterException");
    expect(r.body.message).toContain("clusters[1]");
    const td = await awsJson(t.app, "RegisterTaskDefinition", { family: "x", containerDefinitions: [{ name: "c", image: "busybox", memory: "lots" }] });
    expect(td.body.__type).toBe("InvalidParameterException");
    expect(td.body.message).toContain("containerDefinitions[0].memory");
  });

  test("without credentials: MissingAuthenticationTokenException; a wrong token: UnrecognizedClientException", async () => {
    const none = await awsJson(t.app, "ListClusters", {}, { token: null });
    expect([none.status, none.body.__type]).toEqual([400, "MissingAuthenticationTokenException"]);
    const wrong = await awsJson(t.app, "ListClusters", {}, { token: "flt_wrong" });
    expect([wrong.status, wrong.body.__type]).toEqual([400, "UnrecognizedClientException"]);
  });

  test("a SigV4 request from a key the control does not know is UnrecognizedClientException; a given verifier decides", async () => {
    // Well formed, so the default verifier (control/ecs-api/sigv4, access keys) looks the key up.
    const sig = `AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/local/ecs/aws4_request, SignedHeaders=host, Signature=${"0".repeat(64)}`;
    const refused = await awsJson(t.app, "ListClusters", {}, { authorization: sig });
    expect(refused.body.__type).toBe("UnrecognizedClientException");

    const seen: string[] = [];
    const app = createApi(t.ctx, {
      sigV4: async (req, raw) => {
        seen.push(`${req.headers.get("x-amz-target")} ${raw}`);
        if (req.headers.get("authorization")!.includes("Signature=00")) {
          throw new OpError("unauthorized", "SignatureDoesNotMatch", "The request signature we calculated does not match");
        }
        return { tokenId: "k1", name: "key", role: "read-only" };
      },
    });
    const bad = await awsJson(app, "ListClusters", { maxResults: 5 }, { authorization: sig });
    expect([bad.status, bad.body.__type]).toEqual([400, "SignatureDoesNotMatch"]);
    expect(seen).toEqual([`${ECS_PREFIX}.ListClusters {"maxResults":5}`]);
    const ok = await awsJson(app, "ListClusters", {}, { authorization: sig.replace("=00", "=01") });
    expect(ok.status).toBe(200);
    // The verifier's caller is read-only: writes are refused.
    const write = await awsJson(app, "CreateCluster", { clusterName: "x" }, { authorization: sig.replace("=00", "=01") });
    expect(write.body.__type).toBe("AccessDeniedException");
  });

  test("read-only callers may read but not write (AccessDeniedException), and nothing is written", async () => {
    const { token } = await createToken(t.ctx, { name: "viewer", role: "read-only" });
    expect((await awsJson(t.app, "ListClusters", {}, { token })).status).toBe(200);
    const r = await awsJson(t.app, "CreateCluster", { clusterName: "x" }, { token });
    expect([r.status, r.body.__type]).toEqual([400, "AccessDeniedException"]);
    expect(r.headers.get("x-amzn-errortype")).toBe("AccessDeniedException");
    expect((await awsJson(t.app, "ListClusters", {})).body.clusterArns).toEqual([]);
  });

  test("write calls are audited by action name, refused ones too; reads are not", async () => {
    const { token } = await createToken(t.ctx, { name: "viewer", role: "read-only" });
    await awsJson(t.app, "CreateCluster", { clusterName: "a" });
    await awsJson(t.app, "CreateCluster", { clusterName: "b" }, { token });
    await awsJson(t.app, "ListClusters", {});
    const rows = (await listAudit(t.ctx)).reverse();
    expect(rows.map((r) => [r.action, r.tokenName, r.status, r.method])).toEqual([
      ["CreateCluster", "admin", 200, "POST"],
      ["CreateCluster", "viewer", 400, "POST"],
    ]);
  });

  test("an action that fails unexpectedly is ServerException with HTTP 500, without internals", async () => {
    const logs = captureLogs();
    const app = createApi(t.ctx, {
      log: logs.log,
      awsJsonServices: { [ECS_PREFIX]: { Boom: { access: "read", handle: async () => { throw new Error("secret internals"); } } } },
    });
    const r = await awsJson(app, "Boom", {});
    expect(r.status).toBe(500);
    expect(r.body).toEqual({ __type: "ServerException", message: "internal error" });
    expect(logs.lines.join("\n")).toContain("secret internals");
    // One line for the failure (with the request id the response names) and one for the request.
    const failure = logs.entries().find((e) => e.component === "ecs-api")!;
    const requestId = r.headers.get("x-amzn-requestid");
    expect(requestId).toBeTruthy();
    expect(r.headers.get("x-request-id")).toBe(requestId);
    expect(failure).toMatchObject({ level: "error", requestId, err: { message: "secret internals" } });
    expect(logs.entries().find((e) => e.msg === "request")).toMatchObject({ level: "error", component: "api", requestId, method: "POST", route: "/", status: 500 });
  });

  test("routing is by prefix: another service's actions are reached under its own prefix only", async () => {
    const app = createApi(t.ctx, {
      awsJsonServices: { AmazonSSM: { GetParameter: { access: "read", handle: async ({ input }) => ({ Parameter: { Name: input.Name, LastModifiedDate: 1_700_000_000_000 } }) } } },
    });
    const r = await awsJson(app, "GetParameter", { Name: "p" }, { prefix: "AmazonSSM" });
    expect(r.body).toEqual({ Parameter: { Name: "p", LastModifiedDate: 1_700_000_000 } });
    expect((await awsJson(app, "GetParameter", {}, { prefix: ECS_PREFIX })).body.__type).toBe("UnknownOperationException");
  });

  test("a body over the limit is refused before it is read whole", async () => {
    const app = createApi(t.ctx, { maxBodyBytes: 1024 });
    const r = await awsJson(app, "RegisterTaskDefinition", { family: "big", pad: "x".repeat(4096) });
    expect([r.status, r.body.__type]).toEqual([400, "RequestEntityTooLargeException"]);
    expect(r.headers.get("x-amzn-requestid")).toMatch(UUID);
    expect((await awsJson(app, "ListClusters", {})).status).toBe(200);
  });

  test("the REST API is unchanged beside it", async () => {
    expect((await t.request("GET", "/v1/clusters")).status).toBe(200);
    expect((await t.request("GET", "/nowhere")).status).toBe(404);
  });
});
