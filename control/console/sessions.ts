import { randomBytes, timingSafeEqual } from "node:crypto";
import type { Clock } from "../clock.ts";

/**
 * Console sessions, kept in memory: a restart of the control logs everyone out, which is the
 * safe direction. A session holds the token's id (never the token), so the caller's token is
 * looked up again on every request and a revoked token ends its sessions at once.
 */
export interface Session {
  id: string;
  tokenId: string;
  /** Synchronizer token: every state-changing request must carry it (form field or header). */
  csrf: string;
  expiresAt: number;
}

export const SESSION_COOKIE = "flotilla_session";
export const DEFAULT_SESSION_TTL_MS = 8 * 3600_000;
/** Sessions kept at most; the oldest goes first (a flood of logins cannot grow memory forever). */
const MAX_SESSIONS = 10_000;

export class SessionStore {
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly clock: Clock,
    readonly ttlMs = DEFAULT_SESSION_TTL_MS,
  ) {}

  create(tokenId: string): Session {
    const s: Session = { id: randomBytes(32).toString("base64url"), tokenId, csrf: randomBytes(32).toString("base64url"), expiresAt: this.clock.now() + this.ttlMs };
    if (this.sessions.size >= MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value!);
    this.sessions.set(s.id, s);
    return s;
  }

  get(id: string | undefined): Session | undefined {
    if (!id) return undefined;
    const s = this.sessions.get(id);
    if (!s) return undefined;
    if (s.expiresAt <= this.clock.now()) {
      this.sessions.delete(id);
      return undefined;
    }
    return s;
  }

  destroy(id: string): void {
    this.sessions.delete(id);
  }
}

/** Constant-time comparison of a presented CSRF token with the session's. */
export function csrfMatches(session: Session, presented: string | undefined): boolean {
  if (!presented) return false;
  const a = Buffer.from(session.csrf);
  const b = Buffer.from(presented);
  return a.length === b.length && timingSafeEqual(a, b);
}
