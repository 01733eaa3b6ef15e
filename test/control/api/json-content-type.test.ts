import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { awsJson } from "../../helpers/aws-json.ts";
import { TEST_TOKEN } from "../../helpers/control.ts";
import { createTestOps, type TestOps } from "../../helpers/ops.ts";

/**
 * The REST API takes JSON bodies only: `text/plain` and form posts (what a page on another site
 * can send without a CORS preflight) are refused before anything changes. Over a real HTTP server,
 * since browsers and curl set Content-Length / chunking as the in-process app.request() does not.
 */
let t: TestOps;
let server: ReturnType<typeof Bun.serve>;
let base: string;
beforeAll(async () => {
  t = await createTestOps();
  server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: (req) => t.app.fetch(req) });
  base = `http://127.0.0.1:${server.port}`;
});
afterAll(() => {
  server.stop(true);
  t.close();
});

const send = async (method: string, path: string, body: string | undefined, contentType?: string) => {
  const headers: Record<string, string> = { authorization: `Bearer ${TEST_TOKEN}` };
  if (contentType) headers["content-type"] = contentType;
  const res = await fetch(base + path, { method, headers, body });
  return { status: res.status, body: (await res.json()) as any };
};
const clusterNames = async () => (await t.request("GET", "/v1/clusters")).body.clusters.map((c: any) => c.clusterName);

describe("REST API bodies must be JSON", () => {
  test.each([
    ["text/plain", "text/plain;charset=UTF-8"],
    ["form", "application/x-www-form-urlencoded"],
    ["multipart form", "multipart/form-data; boundary=x"],
    ["XML", "application/xml"],
  ])("a %s body is refused with 415 and creates nothing", async (_name, type) => {
    const r = await send("POST", "/v1/clusters", JSON.stringify({ clusterName: "csrf" }), type);
    expect(r.status).toBe(415);
    expect(r.body.error.code).toBe("UnsupportedMediaTypeException");
    expect(r.body.error.message).toContain("application/json");
    expect(await clusterNames()).not.toContain("csrf");
  });

  test("a body without any content type is refused too (PATCH and PUT as well as POST)", async () => {
    // fetch() types a string body text/plain on its own; a Blob without a type carries none.
    const res = await fetch(`${base}/v1/clusters`, { method: "POST", headers: { authorization: `Bearer ${TEST_TOKEN}` }, body: new Blob([JSON.stringify({ clusterName: "untyped" })]) });
    expect(res.status).toBe(415);
    expect(await clusterNames()).not.toContain("untyped");
    expect((await send("PUT", "/v1/clusters/x/attributes", "{}", "text/plain")).status).toBe(415);
    expect((await send("PATCH", "/v1/clusters/x/services/y", "{}", "text/plain")).status).toBe(415);
  });

  test("application/json (with a charset) and +json types are accepted", async () => {
    expect((await send("POST", "/v1/clusters", JSON.stringify({ clusterName: "a" }), "application/json; charset=utf-8")).status).toBe(201);
    expect((await send("POST", "/v1/clusters", JSON.stringify({ clusterName: "b" }), "application/merge-patch+json")).status).toBe(201);
    expect(await clusterNames()).toEqual(expect.arrayContaining(["a", "b"]));
  });

  test("bodiless requests need no content type, whatever they say", async () => {
    expect((await send("POST", "/v1/clusters", JSON.stringify({ clusterName: "gone" }), "application/json")).status).toBe(201);
    expect((await send("DELETE", "/v1/clusters/gone", undefined)).status).toBe(200);
    // An empty body labelled text/plain carries nothing a browser could forge.
    expect((await send("DELETE", "/v1/clusters/a", "", "text/plain")).status).toBe(200);
    expect((await send("GET", "/v1/clusters", undefined, "text/plain")).status).toBe(200);
  });

  test("the AWS JSON front door (POST /, application/x-amz-json-1.1) still works", async () => {
    const r = await awsJson({ request: (p, i) => fetch(base + p, i) }, "CreateCluster", { clusterName: "via-aws" });
    expect(r.status).toBe(200);
    expect(await clusterNames()).toContain("via-aws");
  });
});
