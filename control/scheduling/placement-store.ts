import type { Reservation } from "../../shared/task-definition/index.ts";
import type { Database } from "../db/open.ts";
import { FencedOut } from "../leader/fence.ts";
import type { Fence } from "../leader/lease.ts";
import type { InstanceView } from "../placement/index.ts";
import type { CommitOutcome, JobFence } from "./commit-job.ts";
import { CommitPipeline } from "./commit-pipeline.ts";
import type { RefreshGuard } from "./index-cache.ts";
import { InstanceReader } from "./instance-reader.ts";
import type { NativeTarget } from "./native-connection.ts";
import type { EncodedTaskRows } from "./task-insert.ts";

/** The lease a context's writes must prove, read at each write (null: not leading, refuse). */
export type WriteFence = () => Fence | null;

interface Parts {
  pipeline: CommitPipeline;
  reader: InstanceReader;
  closed: boolean;
}

/**
 * The placement's database operations, one implementation each: the commit of placed tasks and
 * the release of a stopped task's reservation (both on the commit worker, prepared statements,
 * commit-pipeline.ts) and the placement index's reads (instance-reader.ts). Single process, HA
 * leader and HA follower all run this same code; what differs is only whether a handle carries a
 * fence. A fenced handle (`fenced()`, made for the leader's context) sends its current lease with
 * every write and the worker proves it inside the write's own transaction; with no lease at hand
 * the write is refused before it is sent. Either way a refusal is a FencedOut.
 */
export class PlacementStore {
  private constructor(
    private readonly parts: Parts,
    private readonly fence?: WriteFence,
  ) {}

  /** Opens the store's connections on the database; they close with the store or the database. */
  static open(database: Database): PlacementStore {
    const target = nativeTarget(database);
    const parts: Parts = { pipeline: new CommitPipeline(target), reader: new InstanceReader(target), closed: false };
    const store = new PlacementStore(parts);
    database.onClose(() => store.close());
    return store;
  }

  /** Closes the connections (every handle's: fenced ones share them); writes in flight fail. */
  close(): void {
    if (this.parts.closed) return;
    this.parts.closed = true;
    this.parts.pipeline.close();
    this.parts.reader.close();
  }

  /** The same store (same worker, same connections), every write of which must prove `fence`. */
  fenced(fence: WriteFence): PlacementStore {
    return new PlacementStore(this.parts, fence);
  }

  get isFenced(): boolean {
    return this.fence !== undefined;
  }

  /** What the index cache must respect: instances with commits in flight keep their entry. */
  get guard(): RefreshGuard {
    return this.parts.pipeline;
  }

  /** Commits and releases waiting for the worker (the commit queue depth on /metrics). */
  get queueDepth(): number {
    return this.parts.pipeline.depth;
  }

  /** Writes the worker has answered (commits and releases, fenced or not). */
  get writesRun(): number {
    return this.parts.pipeline.jobsRun;
  }

  /**
   * Queues the commit of tasks placed on the index (see CommitPipeline.submit); call it
   * synchronously after placement. Throws FencedOut at once when a fenced handle has no lease;
   * the promise rejects with FencedOut when the lease was lost by the time the commit ran.
   * Tasks that need GPUs name the ids they take per instance (`gpuIdsPerInstance`); the rows carry
   * each task's own (encodeTaskRows' per-row columns).
   */
  commit(
    reservation: Reservation,
    tasksPerInstance: ReadonlyMap<string, number>,
    versionOf: (instanceId: string) => number,
    rows: EncodedTaskRows,
    gpuIdsPerInstance?: ReadonlyMap<string, readonly string[]>,
  ): Promise<Exclude<CommitOutcome, "fenced">> {
    const fence = this.currentFence();
    return this.parts.pipeline.submit(reservation, tasksPerInstance, versionOf, rows, fence, gpuIdsPerInstance).then((outcome) => {
      if (outcome === "fenced") throw new FencedOut(fence!);
      return outcome;
    });
  }

  /**
   * Gives a stopped task's reservation back to its instance, once. Resolves with the instance's
   * version after it, or null when the task held none (already released) or its instance is gone.
   */
  async release(task: { id: string; instanceId: string; reservation: Reservation }): Promise<number | null> {
    const fence = this.currentFence();
    const result = await this.parts.pipeline.release(task, fence);
    if (result === "fenced") throw new FencedOut(fence!);
    // The worker already waited the busy timeout for the write lock.
    if (result === "busy") throw new Error("could not release the task's reservation: the database stayed locked by another writer");
    return result.version;
  }

  /** Every instance of the cluster that is not INACTIVE, as the engine sees it. */
  cluster(clusterName: string): InstanceView[] {
    return this.parts.reader.cluster(clusterName);
  }

  /** The instances among `ids` that belong to the cluster and are not INACTIVE. */
  instances(clusterName: string, ids: Iterable<string>): InstanceView[] {
    return this.parts.reader.instances(clusterName, ids);
  }

  private currentFence(): JobFence | undefined {
    if (!this.fence) return undefined;
    const f = this.fence();
    if (!f) throw new FencedOut(null);
    return { name: f.name, holder: f.holder, token: f.token };
  }
}

/**
 * What the store's own connections open: the database's file, or for a libSQL server its URL
 * (the `libsql` package speaks Hrana to it; `authToken` moves from the query to its option, and
 * `tls=0` means plain http). An in-memory database is private to the connection that made it, so
 * the store cannot share it.
 */
export function nativeTarget(database: Pick<Database, "file" | "url">): NativeTarget {
  if (database.file) return { path: database.file, remote: false };
  const m = /^(libsql|https?|wss?):\/\/([^?]+)(?:\?(.*))?$/.exec(database.url);
  if (!m) throw new Error(`the placement store needs a database file or a libSQL server; ${redacted(database.url)} is neither`);
  const query = new URLSearchParams(m[3] ?? "");
  const scheme = m[1] === "libsql" ? (query.get("tls") === "0" ? "http" : "https") : m[1]!.replace(/^ws/, "http");
  const authToken = query.get("authToken") ?? undefined;
  return { path: `${scheme}://${m[2]}`, remote: true, ...(authToken ? { authToken } : {}) };
}

function redacted(url: string): string {
  return url.replace(/authToken=[^&]*/g, "authToken=…");
}
