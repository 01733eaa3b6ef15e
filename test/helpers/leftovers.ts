import { relative } from "node:path";
import { docker } from "./docker.ts";

/**
 * scripts/test runs each test file in its own Bun process, but `bun test a b c` still runs several
 * in one, one file after the other. What a file starts through these helpers — agent processes, control services, instances whose containers
 * live in Docker — is recorded under that file, so that
 *  - a file's teardown can release everything it started, including what a test replaced midway
 *    (a restarted agent or control service), and
 *  - the next file that starts anything fails at once, naming the file that left something
 *    behind, instead of a later test timing out on a machine kept busy by it.
 */

interface Resource {
  file: string;
  kind: "agent" | "control" | "postgres";
  what: string;
  alive(): boolean;
  release(): Promise<void>;
}

const resources: Resource[] = [];
/** Instance id → the test file that registered it (its containers must be gone after that file). */
const instances = new Map<string, string>();
/** Files whose predecessors have been checked already. */
const checked = new Set<string>();

const ROOT = `${import.meta.dir}/../..`;
/** The test file running now: `bun test` sets Bun.main to it. */
export const currentTestFile = (): string => Bun.main;
const shortName = (file: string) => relative(ROOT, file);

/** Records an agent process or control service started by the current file. */
export function trackResource(kind: Resource["kind"], what: string, alive: () => boolean, release: () => Promise<void>): void {
  resources.push({ file: currentTestFile(), kind, what, alive, release });
}

/** Records an instance registered by the current file: its containers must not outlive the file. */
export function trackInstance(instanceId: string): void {
  instances.set(instanceId, currentTestFile());
}

/** Instances of `ids` that still have containers, with how many. */
async function containersOf(ids: Set<string>): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  if (ids.size === 0) return found;
  const out = await docker("ps", "-a", "--filter", "label=flotilla.instance-id", "--format", '{{.Label "flotilla.instance-id"}}');
  for (const id of out.split("\n")) if (ids.has(id)) found.set(id, (found.get(id) ?? 0) + 1);
  return found;
}

async function removeContainersOf(ids: Iterable<string>): Promise<void> {
  for (const id of ids) {
    const out = await docker("ps", "-aq", "--filter", `label=flotilla.instance-id=${id}`);
    if (out) await docker("rm", "-f", ...out.split("\n"));
  }
}

/**
 * Releases everything `file` started that is still there: agents first (so none restarts a
 * container), then the containers of its instances, then control services.
 */
export async function releaseFileResources(file = currentTestFile()): Promise<void> {
  const mine = resources.filter((r) => r.file === file && r.alive());
  for (const r of mine.filter((r) => r.kind === "agent")) await r.release();
  await removeContainersOf([...instances].filter(([, f]) => f === file).map(([id]) => id));
  for (const r of mine.filter((r) => r.kind === "control")) await r.release();
  // Databases last: a control service may still be writing to one until it stops.
  for (const r of mine.filter((r) => r.kind === "postgres")) await r.release();
}

/** Same check as at a file's start, for the file itself at its end (the fixture's teardown). */
export async function leftBehindBy(file: string): Promise<string[]> {
  const problems = resources.filter((r) => r.file === file && r.alive()).map((r) => `${r.kind} ${r.what} still running`);
  const ids = new Set([...instances].filter(([, f]) => f === file).map(([id]) => id));
  for (const [id, n] of await containersOf(ids)) problems.push(`${n} container(s) of instance ${id}`);
  return problems;
}

/** Synchronous part of the check (no Docker): agent processes and control services of earlier files. */
export function assertNoProcessesLeftBehind(): void {
  const file = currentTestFile();
  const left = resources.filter((r) => r.file !== file && r.alive());
  if (left.length === 0) return;
  const lines = left.map((r) => `${shortName(r.file)}: ${r.kind} ${r.what}`);
  // Stop them so that only this file fails, not every file after it.
  for (const r of left) void r.release().catch(() => undefined);
  throw new Error(`an earlier test file left these running (this file is not at fault):\n  ${lines.join("\n  ")}`);
}

/**
 * Called by the helpers when the current file starts its first control service or agent: fails
 * loudly, naming the culprit, when an earlier file left agents, control services or containers
 * of its instances behind — after cleaning them up, so the files after this one run normally.
 */
export async function assertEarlierFilesCleanedUp(): Promise<void> {
  const file = currentTestFile();
  if (checked.has(file)) return;
  checked.add(file);
  await assertNothingLeftBehindExcept(file, "an earlier test file left these behind (this file is not at fault)");
}

/** The same check once every file has run (scripts/test preloads suite-end-check.ts for it). */
export async function assertNothingLeftAtTheEnd(): Promise<void> {
  await assertNothingLeftBehindExcept("", "test files left these behind at the end of the run");
}

async function assertNothingLeftBehindExcept(file: string, headline: string): Promise<void> {
  const left = resources.filter((r) => r.file !== file && r.alive());
  const earlier = new Set([...instances].filter(([, f]) => f !== file).map(([id]) => id));
  const containers = await containersOf(earlier);
  const lines = [
    ...left.map((r) => `${shortName(r.file)}: ${r.kind} ${r.what}`),
    ...[...containers].map(([id, n]) => `${shortName(instances.get(id)!)}: ${n} container(s) of instance ${id}`),
  ];
  for (const id of earlier) instances.delete(id);
  if (lines.length === 0) return;
  for (const r of left.filter((r) => r.kind === "agent")) await r.release().catch(() => undefined);
  await removeContainersOf(containers.keys());
  for (const r of left.filter((r) => r.kind === "control")) await r.release().catch(() => undefined);
  for (const r of left.filter((r) => r.kind === "postgres")) await r.release().catch(() => undefined);
  throw new Error(`${headline}:\n  ${lines.join("\n  ")}`);
}
