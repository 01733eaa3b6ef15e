/**
 * Compile-time check (`bun run typecheck`): every table's row type is the same from both schema
 * definitions, so a query site gets the same TypeScript row from SQLite and from PostgreSQL. A
 * column that differs in type, nullability or `$type` makes this file fail to compile, naming the
 * table. (schema-pg.test.ts checks the rest of the definitions at run time.)
 */
import type * as S from "../../../control/db/schema.ts";
import type * as P from "../../../control/db/schema-pg.ts";

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Tables = {
  [K in keyof typeof S & keyof typeof P]: (typeof S)[K] extends { $inferSelect: infer R } ? ((typeof P)[K] extends { $inferSelect: infer Q } ? Equal<R, Q> : never) : never;
};
/** Table exports whose row types differ (never when they all agree). */
type Differing = { [K in keyof Tables]: Tables[K] extends true ? never : K }[keyof Tables];
/** Table exports in one schema only (never when both export the same tables). */
type OneSided = Exclude<keyof typeof S, keyof typeof P | "WaitingHost" | "AgentUpgradeTarget" | "ImagePrefetchTarget"> | Exclude<keyof typeof P, keyof typeof S>;

export const rowTypesAgree: [Differing] extends [never] ? true : { differing: Differing } = true;
export const sameTableExports: [OneSided] extends [never] ? true : { oneSided: OneSided } = true;
