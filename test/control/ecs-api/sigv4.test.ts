import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Sha256 } from "@aws-crypto/sha256-js";
import { CreateActivationCommand, DeleteActivationCommand, DescribeActivationsCommand, SSMClient } from "@aws-sdk/client-ssm";
import { SignatureV4 } from "@smithy/signature-v4";
import { randomBytes } from "node:crypto";
import { startTestControl, type TestControl } from "../../helpers/control.ts";
import { parseSigV4Authorization } from "../../../control/ecs-api/sigv4/authorization-header.ts";

/**
 * SigV4 on the AWS JSON door, signed by the real AWS SDK (@aws-sdk/client-ssm) against a real
 * control service on 127.0.0.1; refusals are crafted with @smithy/signature-v4 (what the SDKs
 * sign with), then altered, so each proves one check.
 */
let tc: TestControl;
let admin: { accessKeyId: string; secretAccessKey: string };
let readOnly: { accessKeyId: string; secretAccessKey: string };

const ssm = (creds: { accessKeyId: string; secretAccessKey: string }) =>
  new SSMClient({ endpoint: tc.control.httpUrl, region: "eu-west-1", credentials: creds, maxAttempts: 1 });

async function createKey(role: string, name = `k-${role}`) {
  const res = await tc.api("POST", "/v1/access-keys", { name, role });
  expect(res.status).toBe(201);
  return res.body as { accessKeyId: string; secretAccessKey: string; role: string; name: string };
}

/** A request to the door signed as the SDKs sign, with a chance to change it after signing. */
async function signed(
  creds: { accessKeyId: string; secretAccessKey: string },
  body: string,
  opts: { signingDate?: Date; sendBody?: string; extraHeaders?: Record<string, string>; target?: string } = {},
) {
  const url = new URL(tc.control.httpUrl);
  // applyChecksum off: no x-amz-content-sha256 unless a test sends one (as the aws CLI sends none).
  const signer = new SignatureV4({ credentials: creds, region: "eu-west-1", service: "ssm", sha256: Sha256, applyChecksum: false });
  const req = await signer.sign(
    {
      method: "POST",
      protocol: url.protocol,
      hostname: url.hostname,
      port: Number(url.port),
      path: "/",
      headers: {
        host: url.host,
        "content-type": "application/x-amz-json-1.1",
        "x-amz-target": opts.target ?? "AmazonSSM.DescribeActivations",
        ...opts.extraHeaders,
      },
      body,
    },
    { signingDate: opts.signingDate ?? new Date() },
  );
  const res = await fetch(tc.control.httpUrl + "/", { method: "POST", headers: req.headers as Record<string, string>, body: opts.sendBody ?? body });
  return { status: res.status, errorType: res.headers.get("x-amzn-errortype"), body: (await res.json()) as { __type?: string; message?: string } };
}

beforeAll(async () => {
  tc = await startTestControl({ extra: { masterKey: randomBytes(32) } });
  admin = await createKey("admin");
  readOnly = await createKey("read-only");
});
afterAll(async () => {
  await tc?.stop();
});

describe("access keys", () => {
  test("create shows an AKIA id and a 40-character secret once; list and revoke never show it", async () => {
    const k = await createKey("operator", "ci deploy");
    expect(k.accessKeyId).toMatch(/^AKIA[A-Z2-7]{16}$/);
    expect(k.secretAccessKey).toHaveLength(40);
    expect(k.role).toBe("operator");
    const list = await tc.api("GET", "/v1/access-keys");
    const mine = list.body.accessKeys.find((a: any) => a.accessKeyId === k.accessKeyId);
    expect(mine).toMatchObject({ name: "ci deploy", role: "operator", status: "Active" });
    expect(JSON.stringify(list.body)).not.toContain(k.secretAccessKey);
    const revoked = await tc.api("DELETE", `/v1/access-keys/${k.accessKeyId}`);
    expect(revoked.status).toBe(200);
    expect(revoked.body.accessKey.status).toBe("Inactive");
    expect(JSON.stringify(revoked.body)).not.toContain(k.secretAccessKey);
    expect((await tc.api("DELETE", "/v1/access-keys/AKIANOSUCHKEY0000000")).status).toBe(404);
    const audit = (await tc.api("GET", "/v1/audit?limit=1000")).body.entries as any[];
    expect(audit.map((e) => e.action)).toEqual(expect.arrayContaining(["CreateAccessKey", "DeleteAccessKey"]));
  });

  test("signed calls are audited under the access key", async () => {
    await ssm(admin).send(new CreateActivationCommand({ IamRole: "audited" }));
    const audit = (await tc.api("GET", "/v1/audit?limit=1000")).body.entries as any[];
    expect(audit.find((e) => e.action === "CreateActivation")).toMatchObject({ who: { tokenId: admin.accessKeyId, name: "k-admin" }, status: 200 });
  });

  test("the secret is stored sealed, not in the clear", async () => {
    const k = await createKey("read-only", "sealed");
    const rows = await tc.db.client.execute({ sql: "SELECT * FROM access_keys WHERE id = ?", args: [k.accessKeyId] });
    expect(rows.rows).toHaveLength(1);
    expect(JSON.stringify(rows.rows[0])).not.toContain(k.secretAccessKey);
  });

  test("bad input is a 400 naming the field; only admins manage keys", async () => {
    const bad = await tc.api("POST", "/v1/access-keys", { name: "x", role: "root" });
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields[0].path).toBe("role");
    const op = await tc.api("POST", "/v1/tokens", { name: "op", role: "operator" });
    expect((await tc.api("GET", "/v1/access-keys", undefined, op.body.token)).status).toBe(403);
    expect((await tc.api("POST", "/v1/access-keys", { name: "x", role: "admin" }, op.body.token)).status).toBe(403);
  });

  test("without a master key, access keys are refused with the reason", async () => {
    const bare = await startTestControl();
    try {
      const res = await bare.api("POST", "/v1/access-keys", { name: "x", role: "admin" });
      expect(res.status).toBe(400);
      expect(res.body.error.message).toContain("access keys need a master key");
    } finally {
      await bare.stop();
    }
  });
});

describe("SigV4 with the real SDK (@aws-sdk/client-ssm)", () => {
  test("CreateActivation, DescribeActivations (filter, paging), DeleteActivation", async () => {
    const client = ssm(admin);
    const expires = new Date(Date.now() + 2 * 3600 * 1000);
    const created = await client.send(
      new CreateActivationCommand({
        IamRole: "ecsAnywhereRole",
        RegistrationLimit: 3,
        Description: "edge rack 4",
        DefaultInstanceName: "rack4",
        ExpirationDate: expires,
        Tags: [{ Key: "site", Value: "lab" }],
      }),
    );
    expect(created.ActivationId).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.ActivationCode!.length).toBeGreaterThanOrEqual(20);
    const others = await Promise.all([1, 2].map(() => client.send(new CreateActivationCommand({ IamRole: "other" }))));

    const one = await client.send(new DescribeActivationsCommand({ Filters: [{ FilterKey: "ActivationIds", FilterValues: [created.ActivationId!] }] }));
    expect(one.ActivationList).toHaveLength(1);
    const a = one.ActivationList![0]!;
    expect(a).toMatchObject({ IamRole: "ecsAnywhereRole", RegistrationLimit: 3, RegistrationsCount: 0, Expired: false, Description: "edge rack 4", DefaultInstanceName: "rack4" });
    expect(a.Tags).toEqual([{ Key: "site", Value: "lab" }]);
    // Epoch seconds on the wire, parsed back into dates by the SDK.
    expect(Math.abs(a.ExpirationDate!.getTime() - expires.getTime())).toBeLessThan(1000);
    expect(a.CreatedDate).toBeInstanceOf(Date);

    const byRole = await client.send(new DescribeActivationsCommand({ Filters: [{ FilterKey: "IamRole", FilterValues: ["other"] }] }));
    expect(byRole.ActivationList!.map((x) => x.ActivationId).sort()).toEqual(others.map((o) => o.ActivationId).sort());

    const page1 = await client.send(new DescribeActivationsCommand({ MaxResults: 2 }));
    expect(page1.ActivationList).toHaveLength(2);
    expect(page1.NextToken).toBeString();
    const page2 = await client.send(new DescribeActivationsCommand({ MaxResults: 2, NextToken: page1.NextToken }));
    const seen = [...page1.ActivationList!, ...page2.ActivationList!].map((x) => x.ActivationId);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toContain(created.ActivationId);

    await client.send(new DeleteActivationCommand({ ActivationId: created.ActivationId }));
    const after = await client.send(new DescribeActivationsCommand({ Filters: [{ FilterKey: "ActivationIds", FilterValues: [created.ActivationId!] }] }));
    expect(after.ActivationList).toEqual([]);
    const again = await client.send(new DeleteActivationCommand({ ActivationId: created.ActivationId })).catch((e) => e);
    expect(again.name).toBe("InvalidActivationId");
  });

  test("SSM's own refusals: no IamRole, an expiry past 30 days, a bad filter key, a bad token", async () => {
    const client = ssm(admin);
    const noRole = await client.send(new CreateActivationCommand({} as any)).catch((e) => e);
    expect(noRole.name).toBe("InvalidParameters");
    expect(noRole.message).toContain("IamRole");
    const far = await client.send(new CreateActivationCommand({ IamRole: "r", ExpirationDate: new Date(Date.now() + 31 * 24 * 3600 * 1000) })).catch((e) => e);
    expect(far.name).toBe("InvalidParameters");
    expect(far.message).toContain("30 days");
    const filter = await client.send(new DescribeActivationsCommand({ Filters: [{ FilterKey: "Cluster" as any, FilterValues: ["x"] }] })).catch((e) => e);
    expect(filter.name).toBe("InvalidFilter");
    const token = await client.send(new DescribeActivationsCommand({ NextToken: "nope" })).catch((e) => e);
    expect(token.name).toBe("InvalidNextToken");
  });

  test("a wrong secret key is InvalidSignatureException", async () => {
    const e = await ssm({ accessKeyId: admin.accessKeyId, secretAccessKey: "x".repeat(40) })
      .send(new DescribeActivationsCommand({}))
      .catch((err) => err);
    expect(e.name).toBe("InvalidSignatureException");
    expect(e.message).toContain("The request signature we calculated does not match the signature you provided");
  });

  test("an unknown key and a revoked key are UnrecognizedClientException", async () => {
    const unknown = await ssm({ accessKeyId: "AKIAAAAAAAAAAAAAAAAA", secretAccessKey: admin.secretAccessKey })
      .send(new DescribeActivationsCommand({}))
      .catch((err) => err);
    expect(unknown.name).toBe("UnrecognizedClientException");
    expect(unknown.message).toBe("The security token included in the request is invalid.");

    const k = await createKey("admin", "soon revoked");
    expect((await ssm(k).send(new DescribeActivationsCommand({}))).ActivationList).toBeArray();
    await tc.api("DELETE", `/v1/access-keys/${k.accessKeyId}`);
    const revoked = await ssm(k).send(new DescribeActivationsCommand({})).catch((err) => err);
    expect(revoked.name).toBe("UnrecognizedClientException");
  });

  test("a read-only key may read but not write: AccessDeniedException", async () => {
    expect((await ssm(readOnly).send(new DescribeActivationsCommand({}))).ActivationList).toBeArray();
    const e = await ssm(readOnly).send(new CreateActivationCommand({ IamRole: "r" })).catch((err) => err);
    expect(e.name).toBe("AccessDeniedException");
  });

  test("a body changed after signing is InvalidSignatureException, with or without x-amz-content-sha256", async () => {
    const body = JSON.stringify({ MaxResults: 5 });
    const ok = await signed(admin, body);
    expect(ok.status).toBe(200);

    const tampered = await signed(admin, body, { sendBody: JSON.stringify({ MaxResults: 6 }) });
    expect(tampered.status).toBe(400);
    expect(tampered.errorType).toBe("InvalidSignatureException");
    expect(tampered.body.__type).toBe("InvalidSignatureException");

    // The header is signed but the body is not: the door must hash the body it received.
    const hash = new Sha256();
    hash.update(body);
    const hex = Buffer.from(await hash.digest()).toString("hex");
    const withHash = await signed(admin, body, { extraHeaders: { "x-amz-content-sha256": hex } });
    expect(withHash.status).toBe(200);
    const tamperedWithHash = await signed(admin, body, { extraHeaders: { "x-amz-content-sha256": hex }, sendBody: JSON.stringify({ MaxResults: 6 }) });
    expect(tamperedWithHash.body.__type).toBe("InvalidSignatureException");
  });

  test("a request dated 10 minutes ago (or ahead) is refused: Signature expired", async () => {
    const old = await signed(admin, "{}", { signingDate: new Date(Date.now() - 10 * 60 * 1000) });
    expect(old.body.__type).toBe("InvalidSignatureException");
    expect(old.body.message).toMatch(/^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 5 min\.\)$/);
    const ahead = await signed(admin, "{}", { signingDate: new Date(Date.now() + 10 * 60 * 1000) });
    expect(ahead.body.__type).toBe("InvalidSignatureException");
    expect(ahead.body.message).toStartWith("Signature not yet current:");
  });

  test("a changed signed header (the target) breaks the signature; a malformed header is IncompleteSignatureException", async () => {
    const url = new URL(tc.control.httpUrl);
    const signer = new SignatureV4({ credentials: admin, region: "eu-west-1", service: "ssm", sha256: Sha256 });
    const req = await signer.sign({
      method: "POST", protocol: url.protocol, hostname: url.hostname, port: Number(url.port), path: "/",
      headers: { host: url.host, "content-type": "application/x-amz-json-1.1", "x-amz-target": "AmazonSSM.DescribeActivations" },
      body: "{}",
    });
    const headers = { ...(req.headers as Record<string, string>), "x-amz-target": "AmazonSSM.CreateActivation" };
    const res = await fetch(tc.control.httpUrl + "/", { method: "POST", headers, body: "{}" });
    expect(((await res.json()) as any).__type).toBe("InvalidSignatureException");

    const bad = await fetch(tc.control.httpUrl + "/", {
      method: "POST",
      headers: { "x-amz-target": "AmazonSSM.DescribeActivations", authorization: "AWS4-HMAC-SHA256 Credential=AKIA/x" },
      body: "{}",
    });
    expect(((await bad.json()) as any).__type).toBe("IncompleteSignatureException");
  });
});

describe("the Authorization header parser", () => {
  test("reads the SDK's header and refuses other shapes", () => {
    const h = `AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261202/us-east-1/ecs/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature=${"a".repeat(64)}`;
    expect(parseSigV4Authorization(h)).toEqual({
      accessKeyId: "AKIAIOSFODNN7EXAMPLE", date: "20261202", region: "us-east-1", service: "ecs",
      signedHeaders: ["host", "x-amz-date", "x-amz-target"], signature: "a".repeat(64),
    });
    expect(parseSigV4Authorization(h.replace("aws4_request", "aws3"))).toBeUndefined();
    expect(parseSigV4Authorization(h.replace("AWS4-HMAC-SHA256", "AWS4-ECDSA-P256-SHA256"))).toBeUndefined();
    expect(parseSigV4Authorization(h.replace("a".repeat(64), "zz"))).toBeUndefined();
  });
});
