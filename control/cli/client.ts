import { ApiError } from "./errors.ts";

interface ErrorBody {
  error?: { code?: string; message?: string; fields?: { path: string; message: string }[] };
}

/** One line naming the error code, the message and every failing field path. */
export function describeApiError(status: number, body: unknown): ApiError {
  const e = (body as ErrorBody | undefined)?.error;
  const code = e?.code ?? `HTTP ${status}`;
  let msg = `${code}: ${e?.message ?? "request failed"}`;
  // Some messages already name every field; only add the paths the message leaves out.
  const missing = (e?.fields ?? []).filter((f) => !msg.includes(f.path));
  if (missing.length) msg += ` (${missing.map((f) => `${f.path}: ${f.message}`).join("; ")})`;
  return new ApiError(msg, status, code);
}

/** A thin fetch wrapper over the REST API; every non-2xx becomes an ApiError. */
export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly token: string | undefined,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {}

  async raw(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = {};
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    // A FormData body (an agent release upload) sets its own multipart content type and boundary.
    const form = body instanceof FormData;
    if (body !== undefined && !form) headers["content-type"] = "application/json";
    let res: Response;
    try {
      res = await this.fetchImpl(this.baseUrl + path, {
        method,
        headers,
        body: body === undefined ? undefined : form ? body : JSON.stringify(body),
        signal,
      });
    } catch (e) {
      throw new ApiError(`cannot reach the API at ${this.baseUrl} (${(e as Error).message})`, 0, "ConnectionError");
    }
    if (!res.ok) {
      const text = await res.text();
      let parsed: unknown;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        parsed = { error: { message: text.slice(0, 200) } };
      }
      throw describeApiError(res.status, parsed);
    }
    return res;
  }

  async call<T = any>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.raw(method, path, body);
    const text = await res.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }
}

/** Path segment encoding for user-supplied names and ids. */
export const seg = (s: string) => encodeURIComponent(s);
