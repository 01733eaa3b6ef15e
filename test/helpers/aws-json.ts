import { TEST_TOKEN } from "./control.ts";

export const ECS_PREFIX = "AmazonEC2ContainerServiceV20141113";

export interface AwsJsonResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

type Fetcher = { request(path: string, init: RequestInit): Response | Promise<Response> };

/**
 * One AWS JSON 1.1 call through the front door (`POST /` with X-Amz-Target), in process through a
 * Hono app or over HTTP with `fetch` (pass `{ request: (p, i) => fetch(base + p, i) }`).
 */
export async function awsJson<T = any>(
  app: Fetcher,
  action: string,
  input: unknown = {},
  { token = TEST_TOKEN as string | null, prefix = ECS_PREFIX, contentType = "application/x-amz-json-1.1", authorization }: { token?: string | null; prefix?: string | null; contentType?: string; authorization?: string } = {},
): Promise<AwsJsonResponse<T>> {
  const headers: Record<string, string> = { "content-type": contentType };
  if (prefix !== null) headers["x-amz-target"] = `${prefix}.${action}`;
  if (authorization) headers.authorization = authorization;
  else if (token) headers.authorization = `Bearer ${token}`;
  const res = await app.request("/", { method: "POST", headers, body: typeof input === "string" ? input : JSON.stringify(input) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

/** An ECS call that must succeed; throws with the error body otherwise. */
export async function ecsOk<T = any>(app: Fetcher, action: string, input: unknown = {}, token?: string): Promise<T> {
  const r = await awsJson<T>(app, action, input, token ? { token } : {});
  if (r.status !== 200) throw new Error(`${action} answered ${r.status}: ${JSON.stringify(r.body)}`);
  return r.body;
}
