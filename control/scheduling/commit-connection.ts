import type Database from "libsql";
import { getTableName } from "drizzle-orm";
import { containerInstances as ci, events, leases, tasks } from "../db/schema.ts";
import type { InValue } from "@libsql/client";
import { EVENT_INSERT_COLUMNS, type EncodedEvent } from "../events/log.ts";
import { openNative, type NativeTarget } from "./native-connection.ts";
import type { CommitJob, JobFence, ReleaseJob, WriteJob, WriteReply } from "./commit-job.ts";
import { reserveOneArgs, reserveOneSql } from "./reserve-statement.ts";
import { taskStateChangeEvents } from "./task-events.ts";
import { encodedRowArgs, insertTaskRowSql, insertTaskRowsSql } from "./task-insert.ts";

type Statement = Database.Statement;

const SQLITE_BUSY = 5;

/** A job's fence did not match the lease row: roll its savepoint back, nothing of it stays. */
class Fenced extends Error {}

/**
 * A group's deferred INSERTs failed (a duplicate task id, say): which job's row it was is not
 * known, so the whole transaction goes and the group runs again one job per savepoint.
 */
class BatchInsertFailed extends Error {}

/** Rows per multi-row INSERT: well under SQLite's bound-parameter limit (28 task columns). */
const ROWS_PER_INSERT = 64;

/** Ports of `proto` still held once `param` (a JSON array) is given back. */
function portsWithout(proto: "tcp" | "udp", param: string): string {
  const held = `json_each(json_extract("${ci.usedPorts.name}", '$.${proto}'))`;
  return `(select json_group_array(value) from ${held} where value not in (select value from json_each(${param})))`;
}

/**
 * The placement's writes on a connection of their own, with their statements prepared once: the
 * commit of placed tasks (one versioned UPDATE per claimed instance, one INSERT per task) and the
 * release of a stopped task's reservation. This is the only implementation of either: single
 * process or HA, leader or follower. A job that carries a fence first proves it (the lease row
 * still names its holder and token) inside the same transaction, so the write and the holding it
 * was made under are one atomic step (control/leader/fence.ts explains why that suffices).
 * Through @libsql/client every RunTask prepared new statements, which cost more than SQLite's own
 * work (docs/benchmarks.md, placement-commit).
 *
 * Runs in the commit worker (commit-worker.ts), where waiting on a lock blocks nobody: the busy
 * timeout lets a write wait out another connection's (an agent report's transaction on the main
 * thread, a second control process) instead of failing.
 */
export class CommitConnection {
  private readonly db: Database.Database;
  private readonly begin: Statement;
  private readonly commitTx: Statement;
  private readonly rollback: Statement;
  private readonly fenceHeld: Statement;
  private readonly reserve: Statement;
  private readonly reserveWithPorts: Statement;
  private readonly reserveWithGpus: Statement;
  private readonly insert: Statement;
  private readonly insertEvent: Statement;
  /** Multi-row INSERTs by row count, prepared when a group first needs that many. */
  private readonly insertMany = new Map<number, Statement>();
  private readonly insertEventsMany = new Map<number, Statement>();
  private readonly unreserve: Statement;
  private readonly giveBack: Statement;
  private readonly giveBackPorts: Statement;
  private readonly giveBackGpus: Statement;
  private readonly savepoint: Statement;
  private readonly rollbackToSavepoint: Statement;
  private readonly releaseSavepoint: Statement;

  constructor(target: NativeTarget, busyTimeoutMs: number) {
    // Checkpoints run on their own thread (control/db/background-checkpoints.ts), never in a commit.
    this.db = openNative(target, `PRAGMA busy_timeout=${Math.max(0, Math.floor(busyTimeoutMs))}; PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=0`);
    this.begin = this.db.prepare("BEGIN IMMEDIATE");
    this.commitTx = this.db.prepare("COMMIT");
    this.rollback = this.db.prepare("ROLLBACK");
    this.fenceHeld = this.db.prepare(
      `SELECT 1 AS ok FROM "${getTableName(leases)}" WHERE "${leases.name.name}" = ? AND "${leases.holder.name}" = ? AND "${leases.token.name}" = ?`,
    );
    this.reserve = this.db.prepare(reserveOneSql(false));
    this.reserveWithPorts = this.db.prepare(reserveOneSql(true));
    this.reserveWithGpus = this.db.prepare(reserveOneSql(true, true));
    this.insert = this.db.prepare(insertTaskRowSql);
    this.insertEvent = this.db.prepare(insertEventsSql(1));
    this.unreserve = this.db.prepare(`UPDATE "${getTableName(tasks)}" SET "${tasks.reserved.name}" = 0 WHERE "${tasks.id.name}" = ? AND "${tasks.reserved.name}" = 1`);
    const resources =
      `"${ci.usedCpu.name}" = max(0, "${ci.usedCpu.name}" - ?1), "${ci.usedMemory.name}" = max(0, "${ci.usedMemory.name}" - ?2), ` +
      `"${ci.version.name}" = "${ci.version.name}" + 1`;
    const where = `WHERE "${ci.id.name}" = ?3 RETURNING "${ci.version.name}" AS version`;
    const table = `"${getTableName(ci)}"`;
    this.giveBack = this.db.prepare(`UPDATE ${table} SET ${resources} ${where}`);
    this.giveBackPorts = this.db.prepare(
      `UPDATE ${table} SET ${resources}, "${ci.usedPorts.name}" = json_object('tcp', json(${portsWithout("tcp", "?4")}), 'udp', json(${portsWithout("udp", "?5")})) ${where}`,
    );
    // A task with GPUs gives back its ids and its ports (empty lists when it has none) in one statement.
    const gpusLeft = `(select json_group_array(value) from json_each("${ci.usedGpus.name}") where value not in (select value from json_each(?6)))`;
    this.giveBackGpus = this.db.prepare(
      `UPDATE ${table} SET ${resources}, "${ci.usedPorts.name}" = json_object('tcp', json(${portsWithout("tcp", "?4")}), 'udp', json(${portsWithout("udp", "?5")})), ` +
        `"${ci.usedGpus.name}" = ${gpusLeft} ${where}`,
    );
    this.savepoint = this.db.prepare("SAVEPOINT job");
    this.rollbackToSavepoint = this.db.prepare("ROLLBACK TO job");
    this.releaseSavepoint = this.db.prepare("RELEASE job");
  }

  /**
   * Runs `jobs` in one transaction (a group commit: one COMMIT and one write of the pages they
   * share, such as the tasks table's last page), each job all or nothing: normally with the rows
   * and events of the group shared in multi-row INSERTs (writeBatched), and when one of those
   * fails, once more from the start with every job in its own savepoint (writeOneByOne).
   * A commit is "conflict" (nothing of it written) when an instance moved on or is no longer
   * ACTIVE and connected, "fenced" when its fence no longer holds, an error when a statement
   * failed; every job is "busy" when the write lock could not be had. `outcomes` (commit id →
   * committed) tells earlier commits' outcomes (see InstanceClaim) and is told each commit's,
   * before the next job runs.
   */
  writeGroup(jobs: readonly WriteJob[], outcomes: Map<number, boolean>): WriteReply[] {
    if (!this.beginOrBusy()) return jobs.map((job) => ({ id: job.id, outcome: "busy" }));
    try {
      const replies = this.writeBatched(jobs, outcomes);
      this.commitTx.run();
      return replies;
    } catch (e) {
      for (const job of jobs) if (job.kind === "commit") outcomes.delete(job.id);
      if (this.db.inTransaction) this.rollback.run();
      if (!(e instanceof BatchInsertFailed)) {
        for (const job of jobs) if (job.kind === "commit") outcomes.set(job.id, false);
        throw e;
      }
    }
    return this.writeGroupOneByOne(jobs, outcomes);
  }

  /**
   * `writeGroup` without the shared work: every job in its own savepoint with its own statements.
   * What a group falls back to; public for scripts/bench/commit-group.ts, which compares the two.
   */
  writeGroupOneByOne(jobs: readonly WriteJob[], outcomes: Map<number, boolean>): WriteReply[] {
    if (!this.beginOrBusy()) return jobs.map((job) => ({ id: job.id, outcome: "busy" }));
    return this.writeOneByOne(jobs, outcomes);
  }

  /** BEGIN IMMEDIATE; false when the write lock could not be had within the busy timeout. */
  private beginOrBusy(): boolean {
    try {
      this.begin.run();
      return true;
    } catch (e) {
      if (((e as { rawCode?: number }).rawCode ?? 0) % 256 === SQLITE_BUSY) return false;
      throw e;
    }
  }

  /**
   * The group's usual path, with the work its jobs share done once (docs/benchmarks.md,
   * placement-commit): each commit's fence and claims run in job order, as they must (a claim's
   * expected version depends on earlier jobs' outcomes), but the task rows and events of the jobs
   * that passed wait and go in multi-row INSERTs, before any release (which may touch a task
   * row) and at the end. A job needs a savepoint only when it can fail after writing: a commit
   * with more than one claim, a release. A failed deferred INSERT throws BatchInsertFailed.
   */
  private writeBatched(jobs: readonly WriteJob[], outcomes: Map<number, boolean>): WriteReply[] {
    const pending: CommitJob[] = [];
    const replies = jobs.map((job): WriteReply => {
      if (job.kind === "release") {
        this.insertPending(pending);
        return this.inSavepoint(job, () => {
          if (job.fence) this.proveFence(job.fence);
          return this.applyRelease(job);
        });
      }
      const guarded = job.claims.length > 1;
      if (guarded) this.savepoint.run();
      let reply: WriteReply;
      try {
        if (job.fence) this.proveFence(job.fence);
        reply = { id: job.id, outcome: this.reserveClaims(job, outcomes) ? "committed" : "conflict" };
        if (guarded && reply.outcome === "conflict") this.rollbackToSavepoint.run();
      } catch (e) {
        if (guarded) this.rollbackToSavepoint.run();
        reply = failed(job, e);
      }
      if (guarded) this.releaseSavepoint.run();
      if (reply.outcome === "committed") pending.push(job);
      outcomes.set(job.id, reply.outcome === "committed");
      return reply;
    });
    this.insertPending(pending);
    return replies;
  }

  /** The rows and events of `pending` (emptied), in job order, a few INSERT statements in all. */
  private insertPending(pending: CommitJob[]): void {
    if (pending.length === 0) return;
    const rows: InValue[][] = [];
    const stateEvents: EncodedEvent[] = [];
    for (const job of pending) {
      for (let i = 0; i < job.rows.identities.length; i++) rows.push(encodedRowArgs(job.rows, i));
      const at = job.rows.stateChangeEventsAt;
      if (at !== undefined) for (const e of taskStateChangeEvents(job.rows, at)) stateEvents.push(e);
    }
    pending.length = 0;
    try {
      this.insertChunks(rows, this.insertMany, insertTaskRowsSql);
      this.insertChunks(stateEvents, this.insertEventsMany, insertEventsSql);
    } catch (e) {
      throw new BatchInsertFailed(e instanceof Error ? e.message : String(e));
    }
  }

  private insertChunks(rows: readonly (readonly unknown[])[], cache: Map<number, Statement>, sqlFor: (n: number) => string): void {
    for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
      const chunk = rows.slice(i, i + ROWS_PER_INSERT);
      let statement = cache.get(chunk.length);
      if (!statement) cache.set(chunk.length, (statement = this.db.prepare(sqlFor(chunk.length))));
      statement.run(chunk.flat());
    }
  }

  private inSavepoint(job: WriteJob, write: () => WriteReply): WriteReply {
    this.savepoint.run();
    let reply: WriteReply;
    try {
      reply = write();
    } catch (e) {
      this.rollbackToSavepoint.run();
      reply = failed(job, e);
    }
    this.releaseSavepoint.run();
    return reply;
  }

  /**
   * The plain path, each job in its own savepoint with its own statements: what a group falls
   * back to when its deferred INSERTs failed, so that only the job at fault fails.
   */
  private writeOneByOne(jobs: readonly WriteJob[], outcomes: Map<number, boolean>): WriteReply[] {
    try {
      const replies = jobs.map((job): WriteReply => {
        let reply: WriteReply;
        this.savepoint.run();
        try {
          if (job.fence) this.proveFence(job.fence);
          reply = job.kind === "commit" ? { id: job.id, outcome: this.applyCommit(job, outcomes) ? "committed" : "conflict" } : this.applyRelease(job);
          if (reply.outcome === "conflict") this.rollbackToSavepoint.run();
        } catch (e) {
          this.rollbackToSavepoint.run();
          reply = failed(job, e);
        }
        this.releaseSavepoint.run();
        if (job.kind === "commit") outcomes.set(job.id, reply.outcome === "committed");
        return reply;
      });
      this.commitTx.run();
      return replies;
    } catch (e) {
      for (const job of jobs) if (job.kind === "commit") outcomes.set(job.id, false);
      if (this.db.inTransaction) this.rollback.run();
      throw e;
    }
  }

  private proveFence(fence: JobFence): void {
    if (this.fenceHeld.get([fence.name, fence.holder, fence.token]) === undefined) throw new Fenced();
  }

  private applyCommit(job: CommitJob, outcomes: ReadonlyMap<number, boolean>): boolean {
    if (!this.reserveClaims(job, outcomes)) return false;
    for (let i = 0; i < job.rows.identities.length; i++) this.insert.run(encodedRowArgs(job.rows, i));
    // The tasks' PROVISIONING events commit with them: an event exists exactly when its task does.
    const at = job.rows.stateChangeEventsAt;
    if (at !== undefined) for (const e of taskStateChangeEvents(job.rows, at)) this.insertEvent.run(e);
    return true;
  }

  /** Each claim's versioned UPDATE; false at the first that does not hold (earlier ones stay for the caller to roll back). */
  private reserveClaims(job: CommitJob, outcomes: ReadonlyMap<number, boolean>): boolean {
    const r = job.reservation;
    const plain = r.tcpPorts.length || r.udpPorts.length ? this.reserveWithPorts : this.reserve;
    for (const claim of job.claims) {
      const reserve = claim.gpuIds?.length ? this.reserveWithGpus : plain;
      let expected = claim.version;
      for (const earlier of claim.after) {
        const committed = outcomes.get(earlier);
        if (committed === undefined) expected = -1; // cannot tell: refuse rather than guess
        else if (!committed) expected--;
      }
      if (expected < 0 || reserve.run(reserveOneArgs(r, claim.tasks, claim.instanceId, expected, claim.gpuIds)).changes !== 1) return false;
    }
    return true;
  }

  /** Clears the task's reserved flag and gives its reservation back; nothing when it held none. */
  private applyRelease(job: ReleaseJob): WriteReply {
    if (this.unreserve.run([job.taskId]).changes !== 1) return { id: job.id, outcome: "released", version: null };
    const r = job.reservation;
    const row = (
      r.gpuIds?.length
        ? this.giveBackGpus.get([r.cpu, r.memory, job.instanceId, JSON.stringify(r.tcpPorts), JSON.stringify(r.udpPorts), JSON.stringify(r.gpuIds)])
        : r.tcpPorts.length || r.udpPorts.length
        ? this.giveBackPorts.get([r.cpu, r.memory, job.instanceId, JSON.stringify(r.tcpPorts), JSON.stringify(r.udpPorts)])
        : this.giveBack.get([r.cpu, r.memory, job.instanceId])
    ) as { version: number } | undefined;
    return { id: job.id, outcome: "released", version: row?.version ?? null };
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

function failed(job: WriteJob, e: unknown): WriteReply {
  return e instanceof Fenced ? { id: job.id, outcome: "fenced" } : { id: job.id, outcome: "error", message: e instanceof Error ? e.message : String(e) };
}

function insertEventsSql(rows: number): string {
  const one = `(${EVENT_INSERT_COLUMNS.map(() => "?").join(", ")})`;
  return `INSERT INTO "${getTableName(events)}" (${EVENT_INSERT_COLUMNS.map((k) => `"${events[k].name}"`).join(", ")}) VALUES ${Array(rows).fill(one).join(", ")}`;
}
