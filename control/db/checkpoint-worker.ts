/**
 * Worker thread body for background-checkpoints.ts: keeps one connection per registered database
 * file and copies each file's WAL back into it every 100 ms. PASSIVE never waits for readers or
 * writers, so the control's writers only ever see their WAL appends.
 */
import Database from "libsql";

declare const self: Worker;

/**
 * Often, so each checkpoint is small: at 14,000 placements per second a checkpoint every second
 * copied enough pages that its writes and fsyncs stalled commits for up to 170 ms (65 RunTask
 * calls in 50,000 placements over 15 ms); every 100 ms, 13 calls. An idle file costs nothing:
 * with no new frames a checkpoint returns at once.
 */
const INTERVAL_MS = 100;
const files = new Map<string, { db: Database.Database; refs: number }>();

self.onmessage = (event: MessageEvent<{ add?: string; remove?: string }>) => {
  const { add, remove } = event.data;
  if (add) {
    const entry = files.get(add);
    if (entry) entry.refs++;
    else {
      try {
        files.set(add, { db: new Database(add), refs: 1 });
      } catch {
        // Unopenable here: that database is only checkpointed when SQLite does it at close.
      }
    }
  }
  if (remove) {
    const entry = files.get(remove);
    if (entry && --entry.refs === 0) {
      files.delete(remove);
      entry.db.close();
    }
  }
};

setInterval(() => {
  for (const { db } of files.values()) {
    try {
      db.exec("PRAGMA wal_checkpoint(PASSIVE)");
    } catch {
      // A busy or vanished file: the next round tries again, and closing it is the owner's call.
    }
  }
}, INTERVAL_MS);
