import { and, asc, eq } from "drizzle-orm";
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { RELEASE_ARCHITECTURES, SHA256_HEX, releaseSignatureValid } from "../../shared/release-signature.ts";
import { agentReleases } from "../db/schema.ts";
import type { OpsContext } from "./context.ts";
import type { AgentReleaseStore } from "./agent-release-store.ts";
import { clientError, invalid, notFound } from "./errors.ts";

export type AgentReleaseRow = typeof agentReleases.$inferSelect;

const VERSION = /^[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}$/;

export interface ReleaseUpload {
  version: unknown;
  architecture: unknown;
  sha256: unknown;
  signature: unknown;
  /** The binary (a multipart file part). */
  file: unknown;
}

const field = (path: string, message: string) => invalid(`${path}: ${message}`, [{ path, message }]);

/**
 * Stores an uploaded agent binary: the bytes must hash to the given SHA-256 and the signature must
 * sign that digest under one of the control's release public keys; a mismatch stores nothing.
 */
export async function uploadAgentRelease(ctx: OpsContext, store: AgentReleaseStore, input: ReleaseUpload): Promise<AgentReleaseRow> {
  const { version, architecture, file } = input;
  if (typeof version !== "string" || !VERSION.test(version)) throw field("version", "must be 1-64 letters, digits and . + _ -, starting with a letter or digit");
  if (typeof architecture !== "string" || !(RELEASE_ARCHITECTURES as readonly string[]).includes(architecture)) {
    throw field("architecture", `must be one of ${RELEASE_ARCHITECTURES.join(", ")}`);
  }
  const sha256 = typeof input.sha256 === "string" ? input.sha256.trim().toLowerCase() : "";
  if (!SHA256_HEX.test(sha256)) throw field("sha256", "must be 64 hex digits");
  const signature = typeof input.signature === "string" ? input.signature.trim() : "";
  if (!signature) throw field("signature", "is required (base64 Ed25519 signature of the SHA-256 digest)");
  if (!(file instanceof Blob) || file.size === 0) throw field("file", "is required: the agent binary as a multipart file part");
  if (store.keys.length === 0) throw field("signature", "cannot be verified: this control service has no --release-public-key");
  if (!releaseSignatureValid(sha256, signature, store.keys)) throw field("signature", "does not verify with the control's release public key(s)");
  const existing = await findAgentRelease(ctx, version, architecture);
  if (existing) throw clientError(`agent release ${version} for ${architecture} already exists`, [{ path: "version", message: "already uploaded for this architecture" }]);

  mkdirSync(store.dir, { recursive: true, mode: 0o700 });
  const name = `flotilla-agent-${version}-${architecture}`;
  const tmp = join(store.dir, `${name}.upload-${process.pid}-${Date.now()}`);
  const hasher = new Bun.CryptoHasher("sha256");
  const writer = Bun.file(tmp).writer();
  try {
    for await (const chunk of file.stream()) {
      hasher.update(chunk);
      writer.write(chunk);
    }
    await writer.end();
    const actual = hasher.digest("hex");
    if (actual !== sha256) throw field("sha256", `does not match the uploaded file (its SHA-256 is ${actual})`);
    renameSync(tmp, join(store.dir, name));
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  const row: AgentReleaseRow = { version, architecture, sha256, signature, size: file.size, file: name, uploadedAt: ctx.clock.now() };
  await ctx.serialize(() => ctx.db.insert(agentReleases).values(row));
  return row;
}

export async function listAgentReleases(ctx: OpsContext): Promise<AgentReleaseRow[]> {
  return ctx.db.select().from(agentReleases).orderBy(asc(agentReleases.uploadedAt)).all();
}

export async function findAgentRelease(ctx: OpsContext, version: string, architecture: string): Promise<AgentReleaseRow | undefined> {
  return ctx.db.select().from(agentReleases).where(and(eq(agentReleases.version, version), eq(agentReleases.architecture, architecture))).get();
}

/**
 * The newest release for an architecture by semantic version (what UpdateContainerAgent without a
 * version goes to); versions that are not semver (a development build) are never "newest".
 */
export async function latestAgentRelease(ctx: OpsContext, architecture: string): Promise<AgentReleaseRow | undefined> {
  const rows = await ctx.db.select().from(agentReleases).where(eq(agentReleases.architecture, architecture)).all();
  let best: AgentReleaseRow | undefined;
  for (const r of rows) {
    if (!isSemver(r.version)) continue;
    if (!best || Bun.semver.order(r.version, best.version) > 0) best = r;
  }
  return best;
}

/** A plain semantic version (Bun's semver), so "newest" and "already current" can be judged. */
export function isSemver(v: string): boolean {
  try {
    Bun.semver.order(v, v);
    return true;
  } catch {
    return false;
  }
}

export async function requireAgentRelease(ctx: OpsContext, version: string, architecture: string): Promise<AgentReleaseRow> {
  const row = await findAgentRelease(ctx, version, architecture);
  if (!row) throw notFound("NotFound", `no agent release ${version} for ${architecture}`);
  return row;
}

export function agentReleaseView(row: AgentReleaseRow) {
  return { version: row.version, architecture: row.architecture, sha256: row.sha256, signature: row.signature, size: row.size, uploadedAt: new Date(row.uploadedAt).toISOString() };
}

/** dist/ names (scripts/build-agent) → ECS architecture names. */
const BUILT = [
  ["x64", "x86_64"],
  ["arm64", "arm64"],
] as const;

/**
 * The control serves its own build's agents as releases: each `flotilla-agent-linux-<arch>` in
 * the dist folder with a `.version` and a `.sig` (scripts/build-agent --sign) that verifies under
 * the release keys becomes the release of that version, once (copied into the release dir). A
 * build without a valid signature is skipped, and said so.
 */
export async function registerBuiltReleases(ctx: OpsContext, store: AgentReleaseStore, distDir: string, warn: (line: string) => void = () => {}): Promise<AgentReleaseRow[]> {
  if (store.keys.length === 0) return [];
  const added: AgentReleaseRow[] = [];
  for (const [name, architecture] of BUILT) {
    const binary = join(distDir, `flotilla-agent-linux-${name}`);
    if (!existsSync(binary) || !existsSync(`${binary}.version`) || !existsSync(`${binary}.sig`)) continue;
    const version = readFileSync(`${binary}.version`, "utf8").trim();
    if (!VERSION.test(version) || (await findAgentRelease(ctx, version, architecture))) continue;
    const hasher = new Bun.CryptoHasher("sha256");
    for await (const chunk of Bun.file(binary).stream()) hasher.update(chunk);
    const sha256 = hasher.digest("hex");
    const signature = readFileSync(`${binary}.sig`, "utf8").trim();
    if (!releaseSignatureValid(sha256, signature, store.keys)) {
      warn(`${binary}: its .sig does not verify with the release public key(s); not offered as agent release ${version}`);
      continue;
    }
    mkdirSync(store.dir, { recursive: true, mode: 0o700 });
    const file = `flotilla-agent-${version}-${architecture}`;
    const tmp = join(store.dir, `${file}.copy-${process.pid}`);
    copyFileSync(binary, tmp);
    renameSync(tmp, join(store.dir, file));
    const row: AgentReleaseRow = { version, architecture, sha256, signature, size: statSync(binary).size, file, uploadedAt: ctx.clock.now() };
    // Another control process (HA) may have registered it meanwhile: then theirs stands.
    const inserted = await ctx.serialize(() => ctx.db.insert(agentReleases).values(row).onConflictDoNothing());
    if (inserted.rowsAffected > 0) added.push(row);
  }
  return added;
}
