import { invalid } from "../ops/errors.ts";

/**
 * ECS's paging of list calls over an ordered list: `maxResults` (1–100, ECS's default page is 100)
 * and an opaque `nextToken` that resumes after the last item returned. The token carries the offset
 * and a digest of nothing secret; a token that does not parse is ECS's InvalidParameterException.
 */
export interface Page<T> {
  items: T[];
  nextToken?: string;
}

export function paginate<T>(all: T[], input: { maxResults?: unknown; nextToken?: unknown }, { maxLimit = 100, defaultLimit = 100 } = {}): Page<T> {
  const limit = input.maxResults == null ? defaultLimit : Number(input.maxResults);
  if (!Number.isInteger(limit) || limit < 1 || limit > maxLimit) {
    throw invalid(`maxResults must be an integer from 1 to ${maxLimit}`, [{ path: "maxResults", message: `must be 1-${maxLimit}` }]);
  }
  let start = 0;
  if (input.nextToken != null) {
    start = decodeToken(input.nextToken);
  }
  const items = all.slice(start, start + limit);
  const next = start + limit;
  return next < all.length ? { items, nextToken: encodeToken(next) } : { items };
}

function encodeToken(offset: number): string {
  return Buffer.from(JSON.stringify({ o: offset })).toString("base64url");
}

function decodeToken(token: unknown): number {
  try {
    if (typeof token !== "string") throw new Error();
    const { o } = JSON.parse(Buffer.from(token, "base64url").toString()) as { o: unknown };
    if (typeof o === "number" && Number.isInteger(o) && o >= 0) return o;
  } catch {
    // fall through
  }
  throw invalid("nextToken is not a token this API returned", [{ path: "nextToken", message: "invalid token" }]);
}
