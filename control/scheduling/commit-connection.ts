import Database from "libsql";
import type { CommitJob, CommitOutcome } from "./commit-job.ts";
import { reserveOneArgs, reserveOneSql } from "./reserve-statement.ts";
import { encodedRowArgs, insertTaskRowSql } from "./task-insert.ts";

type Statement = Database.Statement;

const SQLITE_BUSY = 5;

/**
 * The placement commit on a connection of its own, with its statements prepared once: BEGIN
 * IMMEDIATE, then per job a savepoint, one versioned UPDATE per claimed instance and one INSERT
 * per task, then COMMIT. Through @libsql/client every RunTask prepared two new statements (their
 * text changes with the count), which cost more than SQLite's own work (docs/benchmarks.md,
 * placement-commit).
 *
 * Runs in the commit worker (commit-worker.ts), where waiting on a lock blocks nobody: the busy
 * timeout lets a commit wait out another connection's write (an agent report's transaction on the
 * main thread, a second control process) instead of failing.
 */
export class CommitConnection {
  private readonly db: Database.Database;
  private readonly begin: Statement;
  private readonly commitTx: Statement;
  private readonly rollback: Statement;
  private readonly reserve: Statement;
  private readonly reserveWithPorts: Statement;
  private readonly insert: Statement;
  private readonly savepoint: Statement;
  private readonly rollbackToSavepoint: Statement;
  private readonly releaseSavepoint: Statement;

  constructor(file: string, busyTimeoutMs: number) {
    this.db = new Database(file);
    // Checkpoints run on their own thread (control/db/background-checkpoints.ts), never in a commit.
    this.db.exec(`PRAGMA busy_timeout=${Math.max(0, Math.floor(busyTimeoutMs))}; PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=0`);
    this.begin = this.db.prepare("BEGIN IMMEDIATE");
    this.commitTx = this.db.prepare("COMMIT");
    this.rollback = this.db.prepare("ROLLBACK");
    this.reserve = this.db.prepare(reserveOneSql(false));
    this.reserveWithPorts = this.db.prepare(reserveOneSql(true));
    this.insert = this.db.prepare(insertTaskRowSql);
    this.savepoint = this.db.prepare("SAVEPOINT job");
    this.rollbackToSavepoint = this.db.prepare("ROLLBACK TO job");
    this.releaseSavepoint = this.db.prepare("RELEASE job");
  }

  /**
   * Runs `jobs` in one transaction (a group commit: one COMMIT and one write of the pages they
   * share, such as the tasks table's last page), each job all or nothing inside its own savepoint.
   * A job is "conflict" (nothing of it written) when an instance moved on or is no longer ACTIVE
   * and connected, an Error when a statement failed; every job is "busy" when the write lock could
   * not be had. `outcomes` (job id → committed) tells earlier jobs' outcomes (see InstanceClaim)
   * and is told each job's, before the next job runs.
   */
  commitGroup(jobs: readonly CommitJob[], outcomes: Map<number, boolean>): (CommitOutcome | Error)[] {
    try {
      this.begin.run();
    } catch (e) {
      if (((e as { rawCode?: number }).rawCode ?? 0) % 256 === SQLITE_BUSY) return jobs.map(() => "busy");
      throw e;
    }
    try {
      const results = jobs.map((job): CommitOutcome | Error => {
        let result: CommitOutcome | Error;
        try {
          result = this.applyJob(job, outcomes) ? "committed" : "conflict";
        } catch (e) {
          this.rollbackToSavepoint.run();
          this.releaseSavepoint.run();
          result = e instanceof Error ? e : new Error(String(e));
        }
        outcomes.set(job.id, result === "committed");
        return result;
      });
      this.commitTx.run();
      return results;
    } catch (e) {
      for (const job of jobs) outcomes.set(job.id, false);
      if (this.db.inTransaction) this.rollback.run();
      throw e;
    }
  }

  private applyJob(job: CommitJob, outcomes: ReadonlyMap<number, boolean>): boolean {
    const r = job.reservation;
    const reserve = r.tcpPorts.length || r.udpPorts.length ? this.reserveWithPorts : this.reserve;
    this.savepoint.run();
    for (const claim of job.claims) {
      let expected = claim.version;
      for (const earlier of claim.after) {
        const committed = outcomes.get(earlier);
        if (committed === undefined) expected = -1; // cannot tell: refuse rather than guess
        else if (!committed) expected--;
      }
      if (expected < 0 || reserve.run(reserveOneArgs(r, claim.tasks, claim.instanceId, expected)).changes !== 1) {
        this.rollbackToSavepoint.run();
        this.releaseSavepoint.run();
        return false;
      }
    }
    for (let i = 0; i < job.rows.identities.length; i++) this.insert.run(encodedRowArgs(job.rows, i));
    this.releaseSavepoint.run();
    return true;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
