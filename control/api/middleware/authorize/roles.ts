import type { TokenRole } from "../../../ops/tokens.ts";

const READ_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** Paths only admins reach: managing tokens and access keys, reading the audit log, webhooks (they send events out). */
function adminOnly(path: string): boolean {
  return /^\/v1\/(tokens|access-keys|audit|webhooks)(\/|$)/.test(path);
}

/**
 * What each role may do. read-only: reads, except the admin-only paths; operator: everything but
 * tokens, access keys and the audit log; admin: everything. metrics (a scraper's token): GET
 * /metrics and nothing else, and /metrics is for it and admin only, so a scrape credential never
 * reads the API and people's tokens are not spread into scrape configs.
 */
export function roleAllows(role: TokenRole, method: string, path: string): boolean {
  // Uploading an agent release decides what every host may run next: admin only.
  if (/^\/v1\/agent-releases(\/|$)/.test(path) && !READ_METHODS.has(method.toUpperCase())) return role === "admin";
  if (path === "/metrics") return (role === "admin" || role === "metrics") && READ_METHODS.has(method.toUpperCase());
  if (role === "metrics") return false;
  if (role === "admin") return true;
  if (adminOnly(path)) return false;
  if (role === "operator") return true;
  return READ_METHODS.has(method.toUpperCase());
}
