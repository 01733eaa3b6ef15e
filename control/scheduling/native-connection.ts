import Database from "libsql";

/** Where a connection of the placement store's own goes: a local file or a libSQL server. */
export interface NativeTarget {
  path: string;
  remote: boolean;
  authToken?: string;
}

/**
 * A `libsql` connection (the package @libsql/client itself runs on), for statements prepared once
 * and run many times, which @libsql/client cannot do: it prepares every statement anew, which
 * costs more than running it. `pragmas` apply to a local file only (a server has its own).
 */
export function openNative(target: NativeTarget, pragmas: string): Database.Database {
  // (`authToken` is a constructor option the package's typings leave out.)
  const db = new Database(target.path, (target.authToken ? { authToken: target.authToken } : undefined) as Database.Options | undefined);
  if (!target.remote) db.exec(pragmas);
  return db;
}
