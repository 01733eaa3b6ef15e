import type { Db } from "../db/open.ts";
import { checkFence } from "./fence.ts";
import type { Fence } from "./lease.ts";

/** Builder methods that run a statement; everything else on a builder only shapes it. */
const RUNS = new Set(["then", "catch", "finally", "execute", "run", "all", "get", "values"]);
const ROOTS = new Set(["insert", "update", "delete", "run"]);

type Step = [method: string | symbol, args: unknown[]];

/**
 * The database as the leader's reconcilers see it: reads pass straight through; every write
 * (`transaction`, `insert`, `update`, `delete`, `run`) happens inside a write transaction that
 * first checks the fence, so the operations in control/ops and control/services stay unchanged
 * and still cannot write once this process has been deposed. A single-statement write is
 * recorded as it is built and replayed on the transaction when it is awaited.
 * (`batch` is refused: nothing uses it, and it cannot be fenced this way; so is the raw libSQL
 * client, `$client`, which would write around the fence. The placement's commit and release are
 * fenced by the placement store itself, see fenced-context.ts.)
 */
export function fencedDb(db: Db, fence: () => Fence | null): Db {
  return new Proxy(db, {
    get(target, prop, receiver) {
      if (prop === "transaction") {
        return (fn: (tx: unknown) => Promise<unknown>, config?: unknown) =>
          target.transaction(async (tx) => {
            await checkFence(tx, fence());
            return fn(tx);
          }, config as never);
      }
      if (prop === "batch") throw new Error("db.batch is not available to fenced (leader-only) code");
      if (prop === "$client") throw new Error("the raw libSQL client is not available to fenced (leader-only) code");
      if (typeof prop === "string" && ROOTS.has(prop)) {
        return (...args: unknown[]) => recorder(target, fence, [[prop, args]]);
      }
      return Reflect.get(target, prop, receiver);
    },
  });
}

function replay(on: unknown, steps: Step[]): any {
  let b: any = on;
  for (const [m, a] of steps) b = b[m](...a);
  return b;
}

function isRun(steps: Step[], prop: string | symbol): boolean {
  if (typeof prop !== "string" || !RUNS.has(prop)) return false;
  // insert(t).values(rows) shapes the statement; only a later .values() would run one.
  if (prop === "values") return !(steps[0]![0] === "insert" && !steps.slice(1).some(([m]) => m === "values"));
  return true;
}

function recorder(db: Db, fence: () => Fence | null, steps: Step[]): unknown {
  const exec = (last?: Step): Promise<unknown> =>
    db.transaction(async (tx) => {
      await checkFence(tx, fence());
      const b = replay(tx, steps);
      return last ? b[last[0]](...last[1]) : await b;
    });
  return new Proxy({}, {
    get(_t, prop) {
      if (isRun(steps, prop)) {
        if (prop === "then") return (ok?: (v: unknown) => unknown, err?: (e: unknown) => unknown) => exec().then(ok, err);
        if (prop === "catch") return (err?: (e: unknown) => unknown) => exec().catch(err);
        if (prop === "finally") return (f?: () => void) => exec().finally(f);
        return (...args: unknown[]) => exec([prop as string, args]);
      }
      if (prop === "toSQL" || prop === "getSQL") return (...args: unknown[]) => replay(db, steps)[prop](...args);
      return (...args: unknown[]) => recorder(db, fence, [...steps, [prop, args]]);
    },
  });
}
