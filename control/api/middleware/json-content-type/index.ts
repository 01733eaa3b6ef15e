import type { MiddlewareHandler } from "hono";

const READ_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** `application/json` or any `+json` type (`application/merge-patch+json`), parameters ignored. */
export function isJsonContentType(header: string | undefined): boolean {
  const type = header?.split(";")[0]?.trim().toLowerCase() ?? "";
  return type === "application/json" || (type.startsWith("application/") && type.endsWith("+json"));
}

/**
 * The REST API reads only JSON bodies. A body of any other type is refused (415) before it is
 * read as JSON: a browser may send `text/plain` or a form to another site without a CORS
 * preflight, so accepting those would let a page elsewhere make state-changing calls with
 * whatever ambient credentials the browser holds. Bodiless requests (DELETE, an empty POST) pass.
 */
export function jsonContentType(): MiddlewareHandler {
  return async (c, next) => {
    if (READ_METHODS.has(c.req.method) || isJsonContentType(c.req.header("content-type"))) return next();
    if (c.req.header("content-length") === "0") return next();
    // No length header (chunked, or app.request()): read it (bodyLimit ran first) and look.
    if ((await c.req.text()) === "") return next();
    const type = c.req.header("content-type");
    return c.json(
      {
        error: {
          code: "UnsupportedMediaTypeException",
          message: `request body must be JSON (content-type: application/json), not ${type ? JSON.stringify(type) : "untyped"}`,
        },
      },
      415,
    );
  };
}
