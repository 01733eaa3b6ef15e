import type { ServiceModel } from "./model.ts";

/**
 * Writes every timestamp member of a response as epoch seconds, as the AWS JSON protocol does
 * (fractional seconds allowed; SDKs parse them as dates). Actions give times as the REST views do —
 * ISO strings or epoch milliseconds — and this one walk converts them, so no action formats a time.
 * Members the model types as maps hold the user's keys (dockerLabels, log options) and are copied
 * as they are: a label called `createdAt` is not a timestamp.
 */
export function withEpochSeconds(value: unknown, model: ServiceModel): unknown {
  if (Array.isArray(value)) return value.map((v) => withEpochSeconds(v, model));
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (v === undefined) continue;
    if (model.mapMembers.has(key)) out[key] = v;
    else if (model.timestampMembers.has(key)) out[key] = epochSeconds(v);
    else out[key] = withEpochSeconds(v, model);
  }
  return out;
}

function epochSeconds(v: unknown): unknown {
  if (typeof v === "number") return v / 1000;
  if (typeof v === "string") {
    const ms = Date.parse(v);
    return Number.isNaN(ms) ? v : ms / 1000;
  }
  if (v instanceof Date) return v.getTime() / 1000;
  return v;
}
