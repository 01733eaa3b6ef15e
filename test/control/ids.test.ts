import { expect, test } from "bun:test";
import { newId } from "../../control/ids.ts";

test("ids are 32 lowercase hex characters and never repeat, across refills of the random pool", () => {
  const ids = Array.from({ length: 2000 }, newId);
  for (const id of ids) expect(id).toMatch(/^[0-9a-f]{32}$/);
  expect(new Set(ids).size).toBe(ids.length);
});
