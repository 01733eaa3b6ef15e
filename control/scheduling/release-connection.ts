import Database from "libsql";
import { getTableName } from "drizzle-orm";
import type { Reservation } from "../../shared/task-definition/index.ts";
import { sideConnection, type Db } from "../db/open.ts";
import { containerInstances as ci, tasks } from "../db/schema.ts";

type Statement = Database.Statement;

const SQLITE_BUSY = 5;

/** Ports of `proto` still held once `?N` (a JSON array) is given back. */
function portsWithout(proto: "tcp" | "udp", param: string): string {
  const held = `json_each(json_extract("${ci.usedPorts.name}", '$.${proto}'))`;
  return `(select json_group_array(value) from ${held} where value not in (select value from json_each(${param})))`;
}

/**
 * Gives a stopped task's reservation back to its instance (the other half of the placement
 * commit) with statements prepared once: BEGIN IMMEDIATE, clear the task's reserved flag, take
 * the reservation off the instance and bump its version, COMMIT. Through drizzle and
 * @libsql/client the same took ~270 µs per stopped task, most of it building and preparing SQL;
 * a burst of STOPPED reports holds the serializer that long per task, and RunTask waits behind it.
 *
 * Runs on the main thread, so it never waits for the write lock (busy_timeout 0; a wait would block
 * the event loop): "busy" means the caller takes the ordinary path, which can wait.
 */
export class ReleaseConnection {
  private readonly db: Database.Database;
  private readonly begin: Statement;
  private readonly commit: Statement;
  private readonly rollback: Statement;
  private readonly unreserve: Statement;
  private readonly giveBack: Statement;
  private readonly giveBackPorts: Statement;

  constructor(file: string) {
    this.db = new Database(file);
    this.db.exec("PRAGMA busy_timeout=0; PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=0");
    this.begin = this.db.prepare("BEGIN IMMEDIATE");
    this.commit = this.db.prepare("COMMIT");
    this.rollback = this.db.prepare("ROLLBACK");
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
  }

  /**
   * The instance's version after the release; null when the task held no reservation (already
   * released) or its instance is gone; "busy" when another connection holds the write lock.
   */
  release(task: { id: string; instanceId: string; reservation: Reservation }): number | null | "busy" {
    try {
      this.begin.run();
    } catch (e) {
      if (((e as { rawCode?: number }).rawCode ?? 0) % 256 === SQLITE_BUSY) return "busy";
      throw e;
    }
    try {
      if (this.unreserve.run([task.id]).changes !== 1) {
        this.rollback.run();
        return null;
      }
      const r = task.reservation;
      const row = (
        r.tcpPorts.length || r.udpPorts.length
          ? this.giveBackPorts.get([r.cpu, r.memory, task.instanceId, JSON.stringify(r.tcpPorts), JSON.stringify(r.udpPorts)])
          : this.giveBack.get([r.cpu, r.memory, task.instanceId])
      ) as { version: number } | undefined;
      this.commit.run();
      return row?.version ?? null;
    } catch (e) {
      if (this.db.inTransaction) this.rollback.run();
      throw e;
    }
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

/** The database's release connection, or undefined when it is not a local file. */
export function releaseConnectionFor(db: Db): ReleaseConnection | undefined {
  return sideConnection(db, "reservation-release", (file) => new ReleaseConnection(file));
}
