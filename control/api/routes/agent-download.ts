import { eq } from "drizzle-orm";
import { Hono, type Context } from "hono";
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { activations } from "../../db/schema.ts";
import { secretMatches } from "../../ids.ts";
import type { OpsContext } from "../../ops/context.ts";
import { findToken } from "../../ops/tokens.ts";

/** Architecture names as uname, Debian and Docker spell them → the name in dist/ file names. */
const ARCH: Record<string, "x64" | "arm64"> = { amd64: "x64", x86_64: "x64", x64: "x64", arm64: "arm64", aarch64: "arm64" };

export interface AgentDownloadOptions {
  /** Where scripts/build-agent put the binaries. */
  distDir?: string;
}

/** FLOTILLA_DIST_DIR, read per request so an operator (or a test) can point it elsewhere. */
const defaultDist = () => process.env.FLOTILLA_DIST_DIR ?? join(import.meta.dir, "..", "..", "..", "dist");

const err = (c: Context, status: 400 | 401 | 404, code: string, message: string, fields?: { path: string; message: string }[]) =>
  c.json({ error: { code, message, ...(fields ? { fields } : {}) } }, status);

/**
 * Who may download: an API token holder, or a host holding an activation (id + code headers) that
 * is neither revoked nor expired. The installer on a fresh host has only the activation, and the
 * download must work before it registers; the registration limit is not counted here, because a
 * re-run on an already registered host may fetch the binary again.
 */
async function allowed(ctx: OpsContext, c: Context): Promise<boolean> {
  const auth = c.req.header("authorization");
  if (auth?.startsWith("Bearer ") && (await findToken(ctx, auth.slice(7).trim()))) return true;
  const id = c.req.header("x-flotilla-activation-id");
  const code = c.req.header("x-flotilla-activation-code");
  if (!id || !code) return false;
  const row = await ctx.db.select().from(activations).where(eq(activations.id, id)).get();
  return !!row && secretMatches(code, row.codeHash) && row.revokedAt === null && row.expiresAt > ctx.clock.now();
}

/** SHA-256 of a binary, computed once per file version (they are ~100 MiB). */
const digests = new Map<string, { key: string; sha256: string }>();
async function sha256(path: string): Promise<string> {
  const st = statSync(path);
  const key = `${st.size}:${st.mtimeMs}`;
  const hit = digests.get(path);
  if (hit?.key === key) return hit.sha256;
  const hasher = new Bun.CryptoHasher("sha256");
  for await (const chunk of Bun.file(path).stream()) hasher.update(chunk);
  const sha = hasher.digest("hex");
  digests.set(path, { key, sha256: sha });
  return sha;
}

/** GET /v1/agent/download?arch=... (the binary) and /v1/agent/download/sha256?arch=... (its digest). */
export function agentDownloadRoutes(ctx: OpsContext, opts: AgentDownloadOptions = {}) {
  const app = new Hono();
  const resolve = async (c: Context) => {
    if (!(await allowed(ctx, c))) {
      return { res: err(c, 401, "UnauthorizedException", "a bearer token or x-flotilla-activation-id/-code headers of a valid activation are required") };
    }
    const given = c.req.query("arch");
    const arch = given ? ARCH[given.toLowerCase()] : undefined;
    if (!arch) {
      return { res: err(c, 400, "InvalidParameterException", `arch must be one of ${Object.keys(ARCH).join(", ")}, got "${given ?? ""}"`, [{ path: "arch", message: "unsupported architecture" }]) };
    }
    const file = join(opts.distDir ?? defaultDist(), `flotilla-agent-linux-${arch}`);
    if (!existsSync(file)) {
      return { res: err(c, 404, "NotFound", `this control service has no agent binary for linux-${arch} (build it with scripts/build-agent)`) };
    }
    return { file, arch, sha: await sha256(file) };
  };
  app.get("/download", async (c) => {
    const r = await resolve(c);
    if ("res" in r) return r.res;
    // Bun streams a file body without reading it into memory.
    return new Response(Bun.file(r.file), {
      headers: {
        "content-type": "application/octet-stream",
        "content-disposition": `attachment; filename="flotilla-agent-linux-${r.arch}"`,
        "x-flotilla-sha256": r.sha,
      },
    });
  });
  app.get("/download/sha256", async (c) => {
    const r = await resolve(c);
    if ("res" in r) return r.res;
    return c.text(`${r.sha}  flotilla-agent-linux-${r.arch}\n`, 200, { "x-flotilla-sha256": r.sha });
  });
  return app;
}
