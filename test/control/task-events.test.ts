import { describe, expect, test } from "bun:test";
import { mergeEvents } from "../../control/ops/reports.ts";
import { MAX_TASK_EVENTS } from "../../shared/messages.ts";

const ev = (at: number) => ({ at, message: `event ${at}` });

describe("task events merge", () => {
  test("union oldest first, newest kept, replays add nothing", () => {
    const stored = [ev(1), ev(2), ev(3)];
    expect(mergeEvents(stored, [ev(2), ev(3), ev(4)])).toEqual([ev(1), ev(2), ev(3), ev(4)]);
    expect(mergeEvents(stored, stored)).toEqual(stored);
    const many = Array.from({ length: 30 }, (_, i) => ev(i));
    const merged = mergeEvents(stored, many);
    expect(merged).toHaveLength(MAX_TASK_EVENTS);
    expect(merged.at(-1)).toEqual(ev(29));
    expect(merged[0]).toEqual(ev(30 - MAX_TASK_EVENTS));
  });
});
