import { join } from "node:path";
import { z } from "zod";
import { readFileIfExists, writeFileAtomic } from "./atomic-file.ts";

export const identitySchema = z.object({
  instanceId: z.string(),
  containerInstanceArn: z.string(),
  clusterName: z.string(),
  username: z.string(),
  password: z.string(),
});
export type Identity = z.infer<typeof identitySchema>;

const FILE = "identity.json";

/** The instance's credentials, readable only by the agent's user (mode 0600). */
export function loadIdentity(dataDir: string): Identity | null {
  const raw = readFileIfExists(join(dataDir, FILE));
  if (raw === null) return null;
  const parsed = identitySchema.safeParse(JSON.parse(raw));
  if (!parsed.success) throw new Error(`${join(dataDir, FILE)} is damaged; remove it to register again`);
  return parsed.data;
}

export function saveIdentity(dataDir: string, identity: Identity): void {
  writeFileAtomic(join(dataDir, FILE), JSON.stringify(identity, null, 2), 0o600);
}
