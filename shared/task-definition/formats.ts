import { isIP } from "node:net";
import { parseImageReference } from "../image-reference.ts";

/**
 * Small predicates for string formats used by the schema. Pure; no zod.
 */

/** True for a Docker image reference: `nginx`, `nginx:1.27`, `registry:5000/team/app@sha256:…`. */
export function isImageReference(s: string): boolean {
  return parseImageReference(s) !== undefined;
}

/** Absolute path without `.`/`..` segments, `:` (Docker's bind syntax separator) or NUL. */
export function isCleanAbsolutePath(s: string): boolean {
  if (!s.startsWith("/") || s.includes(":") || s.includes("\u0000")) return false;
  return s.split("/").every((seg) => seg !== "." && seg !== "..");
}

export function isIpAddress(s: string): boolean {
  return isIP(s) !== 0;
}

const LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
const HOSTNAME = new RegExp(`^${LABEL}(?:\\.${LABEL})*$`);

/** RFC 1123 host name (labels of letters, digits and hyphens), at most 253 characters. */
export function isHostname(s: string): boolean {
  return s.length <= 253 && HOSTNAME.test(s);
}

/** Docker's size notation for log options: `10m`, `1g`, `500k`, `10MB`, `1.5GiB`. */
export function isDockerSize(s: string): boolean {
  return /^\d+(?:\.\d+)?\s?[kmgtp]?i?b?$/i.test(s);
}
