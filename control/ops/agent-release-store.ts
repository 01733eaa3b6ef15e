import { createHmac, randomBytes, timingSafeEqual, type KeyObject } from "node:crypto";

/**
 * Where a control keeps agent releases and what it trusts: the release dir (binaries on disk, not
 * in the database), the release public key(s) uploads must verify under, and the key of the
 * download tokens it hands agents in upgrade commands. Built once per control (createControl).
 */
export interface AgentReleaseStore {
  dir: string;
  keys: KeyObject[];
  /** HMAC key of download tokens; per process unless given (HA: give every process the same). */
  tokenKey: Buffer;
  /** Base URL agents download from; absent: the origin the upgrade request reached. */
  publicUrl?: string;
}

export function agentReleaseStore(opts: { dir: string; keys: KeyObject[]; tokenKey?: Buffer; publicUrl?: string }): AgentReleaseStore {
  return { dir: opts.dir, keys: opts.keys, tokenKey: opts.tokenKey ?? randomBytes(32), publicUrl: opts.publicUrl };
}

/** The token key from the master key, which every process of an HA control shares: a token one issued opens the download on any of them. */
export const downloadTokenKey = (masterKey: Buffer): Buffer => createHmac("sha256", masterKey).update("flotilla agent download tokens").digest();

/** A download token lets one instance fetch one release for a short while (10 minutes). */
export const DOWNLOAD_TOKEN_TTL_MS = 10 * 60_000;

const mac = (key: Buffer, body: string) => createHmac("sha256", key).update(body).digest("base64url");

export function issueDownloadToken(store: AgentReleaseStore, release: { version: string; architecture: string }, instanceId: string, now: number): string {
  const body = Buffer.from(JSON.stringify({ v: release.version, a: release.architecture, i: instanceId, e: now + DOWNLOAD_TOKEN_TTL_MS })).toString("base64url");
  return `${body}.${mac(store.tokenKey, body)}`;
}

/** The instance a token was issued to, if it is genuine, unexpired and for this release. */
export function checkDownloadToken(store: AgentReleaseStore, token: string, release: { version: string; architecture: string }, now: number): string | null {
  const [body, given] = token.split(".");
  if (!body || !given) return null;
  const expected = Buffer.from(mac(store.tokenKey, body));
  const actual = Buffer.from(given);
  if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) return null;
  try {
    const claims = JSON.parse(Buffer.from(body, "base64url").toString()) as { v: string; a: string; i: string; e: number };
    return claims.v === release.version && claims.a === release.architecture && claims.e > now ? claims.i : null;
  } catch {
    return null;
  }
}
