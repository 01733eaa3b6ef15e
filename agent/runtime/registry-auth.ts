import { readFileSync } from "node:fs";
import { z } from "zod";
import { registryOf } from "../../shared/image-reference.ts";

/** Docker's auth for one registry, as the engine's pull API takes it. */
export interface RegistryAuth {
  username: string;
  password: string;
  serveraddress: string;
}

export type RegistryAuthLookup = (image: string) => RegistryAuth | undefined;

const credentialsFileSchema = z.record(
  z.string().min(1),
  z.object({ username: z.string().min(1), password: z.string() }),
);

/** The registry an image reference names (shared/image-reference.ts, Docker's own rule). */
export const registryHost = registryOf;

/**
 * Reads `--registry-credentials FILE`: {"<registry host>": {"username": ..., "password": ...}}.
 * The fallback for containers whose repositoryCredentials name no secret: the agent uses the
 * entry for the registry the image lives in. Throws one readable line when the file is missing
 * or malformed.
 */
export function loadRegistryCredentials(path: string): RegistryAuthLookup {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new Error(`cannot read registry credentials ${path}: ${(e as Error).message}`);
  }
  const parsed = credentialsFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`registry credentials ${path}: ${issue.path.join(".") || "(root)"}: ${issue.message}`);
  }
  return registryAuthFrom(parsed.data);
}

export function registryAuthFrom(entries: Record<string, { username: string; password: string }>): RegistryAuthLookup {
  return (image) => {
    const host = registryHost(image);
    const e = entries[host] ?? (host === "docker.io" ? entries["index.docker.io"] : undefined);
    return e ? { username: e.username, password: e.password, serveraddress: host } : undefined;
  };
}
