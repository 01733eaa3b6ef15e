import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { OpError, type OpErrorKind } from "../ops/errors.ts";
import { requestLogger } from "./middleware/request-log/index.ts";

const STATUS: Record<OpErrorKind, ContentfulStatusCode> = {
  invalid: 400,
  unauthorized: 401,
  forbidden: 403,
  "not-found": 404,
  conflict: 409,
};

/** Maps operation errors to `{"error":{code,message,fields?}}`; never leaks a stack trace. */
export function onApiError(err: Error, c: Context) {
  if (err instanceof OpError) {
    const body = { error: { code: err.code, message: err.message, ...(err.fields.length ? { fields: err.fields } : {}) } };
    return c.json(body, STATUS[err.kind]);
  }
  if (err instanceof HTTPException) {
    // Middleware such as bearerAuth builds its own response (with WWW-Authenticate); keep it.
    if (err.res) return err.getResponse();
    return c.json({ error: { code: "ClientException", message: err.message } }, err.status);
  }
  requestLogger(c).error({ err }, `internal error on ${c.req.method} ${c.req.path}: ${err.message}`);
  return c.json({ error: { code: "ServerException", message: "internal error" } }, 500);
}

/** Reads a JSON body; a body that is not JSON is a 400 naming the body. */
export async function jsonBody(c: Context): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === "") return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new OpError("invalid", "InvalidParameterException", "request body is not valid JSON", [
      { path: "(body)", message: "must be valid JSON" },
    ]);
  }
}
