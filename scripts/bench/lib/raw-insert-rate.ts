import { join } from "node:path";
import { openDatabase } from "../../../control/db/open.ts";
import { newId } from "../../../control/ids.ts";
import { openNative } from "../../../control/scheduling/native-connection.ts";
import { encodeTaskRows, encodedRowArgs, insertTaskRowSql, newTaskColumns } from "../../../control/scheduling/task-insert.ts";
import { arn } from "../../../shared/arn.ts";

/**
 * What the machine's SQLite does at best for a RunTask of 10: transactions of 10 rows through one
 * prepared INSERT into the real tasks table (openDatabase's file: WAL, synchronous=NORMAL,
 * checkpoints on their own thread; the commit connection's pragmas), nothing else. The placement
 * benchmark divides its own rate by this one, measured in the same run, because absolute figures
 * differ from machine to machine and with what else the machine is doing.
 */
export async function rawInsertRowsPerSecond(dir: string, opts: { rows?: number; label?: string } = {}): Promise<number> {
  const rowsWanted = opts.rows ?? 100_000;
  const database = await openDatabase(`file:${join(dir, `raw-insert-${opts.label ?? "run"}.db`)}`);
  const conn = openNative({ path: database.file!, remote: false }, "PRAGMA busy_timeout=5000; PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=0");
  try {
    const begin = conn.prepare("BEGIN IMMEDIATE");
    const commit = conn.prepare("COMMIT");
    const insert = conn.prepare(insertTaskRowSql);
    const shared = newTaskColumns(
      {
        clusterName: "bench",
        family: "app-1",
        revision: 1,
        taskDefinitionArn: arn.taskDefinition("app-1", 1),
        group: "service:raw",
        startedBy: "bench",
        containers: [{ name: "main", image: "flotilla/busybox:test", lastStatus: "PENDING" }],
        reservation: { cpu: 128, memory: 256, tcpPorts: [], udpPorts: [] },
      },
      Date.now(),
    );
    const started = performance.now();
    for (let done = 0; done < rowsWanted; done += 10) {
      const rows = Array.from({ length: 10 }, () => {
        const id = newId();
        return { id, arn: arn.task("bench", id), instanceId: `ci${(done % 10_000).toString(16).padStart(8, "0")}` };
      });
      const encoded = encodeTaskRows(shared, rows);
      begin.run();
      for (let i = 0; i < 10; i++) insert.run(encodedRowArgs(encoded, i));
      commit.run();
    }
    return rowsWanted / ((performance.now() - started) / 1000);
  } finally {
    conn.close();
    database.close();
  }
}
