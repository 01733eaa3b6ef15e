/**
 * A cache that belongs to one database handle. Immutable rows (task definition revisions) may be
 * cached for a process's lifetime, but only per database: `web:1` in one database is not `web:1`
 * in another (several controls in one process — the test suite — or a restored backup), and a
 * module-wide cache keyed by family:revision or ARN handed one control's definitions to another.
 */
export function perDatabase<V>(make: () => V): (db: object) => V {
  const byDb = new WeakMap<object, V>();
  return (db) => {
    let v = byDb.get(db);
    if (v === undefined) {
      v = make();
      byDb.set(db, v);
    }
    return v;
  };
}
