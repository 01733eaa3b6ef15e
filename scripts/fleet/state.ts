import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { z } from "zod";

/** What a run learned per host, so a re-run only retries the hosts that failed. */
const hostState = z.object({
  status: z.enum(["registered", "failed"]),
  instanceId: z.string().optional(),
  error: z.string().optional(),
  at: z.string(),
});
const stateFile = z.object({ version: z.literal(1), cluster: z.string(), hosts: z.record(z.string(), hostState) });
export type HostState = z.infer<typeof hostState>;
export type FleetState = z.infer<typeof stateFile>;

export function loadState(path: string, cluster: string): FleetState {
  if (!existsSync(path)) return { version: 1, cluster, hosts: {} };
  const parsed = stateFile.safeParse(JSON.parse(readFileSync(path, "utf8")));
  if (!parsed.success) throw new Error(`state file ${path} is damaged; remove it to start over`);
  if (parsed.data.cluster !== cluster) throw new Error(`state file ${path} belongs to cluster "${parsed.data.cluster}", not "${cluster}"; use --state to pick another`);
  return parsed.data;
}

/** Atomic replace: a crash mid-write never loses what earlier hosts achieved. */
export function saveState(path: string, state: FleetState): void {
  writeFileSync(`${path}.tmp`, JSON.stringify(state, null, 2), { mode: 0o600 });
  renameSync(`${path}.tmp`, path);
}
