import { describe, expect, test } from "bun:test";
import { compileExpression, compiledExpressionCacheSize } from "../../../control/placement/query/compile.ts";
import { attributeHints } from "../../../control/placement/query/hints.ts";
import { parseExpression } from "../../../control/placement/query/parser.ts";
import type { InstanceView } from "../../../control/placement/types.ts";
import { instance } from "./fixtures.ts";

const web = instance("ci-1", {
  attributes: {
    "ecs.instance-type": "t3.small",
    "ecs.availability-zone": "zone-a",
    "ecs.instance-id": "i-0abc",
    "ecs.agent-version": "1.10.0",
    cores: "4",
    label: "alpha",
  },
  registeredAt: Date.UTC(2026, 0, 15, 12, 0, 0),
  groups: { "service:web": 2, "family:cron": 1 },
});
const bare = instance("ci-2", { attributes: {}, agentConnected: false, registeredAt: Date.UTC(2025, 5, 1) });

function matches(src: string, i: InstanceView = web): boolean {
  const c = compileExpression(src);
  if (!c.ok) throw new Error(c.error.message);
  return c.predicate(i);
}

describe("evaluator: attribute operators", () => {
  test("== and !=", () => {
    expect(matches("attribute:ecs.instance-type == t3.small")).toBe(true);
    expect(matches("attribute:ecs.instance-type == t3.large")).toBe(false);
    expect(matches("attribute:ecs.instance-type != t3.large")).toBe(true);
  });

  test("equality is numeric when both sides are numbers", () => {
    expect(matches("attribute:cores == 4.0")).toBe(true);
    expect(matches("attribute:cores in [2, 4.0]")).toBe(true);
  });

  test("ordering is numeric for numbers, lexicographic otherwise", () => {
    expect(matches("attribute:cores > 3")).toBe(true);
    expect(matches("attribute:cores > 10")).toBe(false); // "4" > "10" as strings, not as numbers
    expect(matches("attribute:cores >= 4")).toBe(true);
    expect(matches("attribute:cores < 4")).toBe(false);
    expect(matches("attribute:cores <= 4")).toBe(true);
    expect(matches("attribute:label < beta")).toBe(true);
    expect(matches("attribute:label > beta")).toBe(false);
  });

  test("=~ matches the whole value", () => {
    expect(matches("attribute:ecs.instance-type =~ t3.*")).toBe(true);
    expect(matches("attribute:ecs.instance-type =~ 3.*")).toBe(false);
    expect(matches("attribute:ecs.instance-type =~ '^t3\\.(small|medium)$'")).toBe(true);
    expect(matches("attribute:ecs.instance-type !~ t3.*")).toBe(false);
  });

  test("in and not_in", () => {
    expect(matches("attribute:ecs.availability-zone in [zone-a, zone-b]")).toBe(true);
    expect(matches("attribute:ecs.availability-zone in [zone-c]")).toBe(false);
    expect(matches("attribute:ecs.availability-zone not_in [zone-c]")).toBe(true);
  });

  test("exists and !exists", () => {
    expect(matches("attribute:label exists")).toBe(true);
    expect(matches("attribute:gpu exists")).toBe(false);
    expect(matches("attribute:gpu !exists")).toBe(true);
  });

  test("a missing attribute fails positive tests and passes their negations", () => {
    for (const [positive, negative] of [
      ["attribute:x == a", "attribute:x != a"],
      ["attribute:x in [a]", "attribute:x not_in [a]"],
      ["attribute:x =~ a.*", "attribute:x !~ a.*"],
    ] as const) {
      expect(matches(positive, bare)).toBe(false);
      expect(matches(negative, bare)).toBe(true);
    }
    expect(matches("attribute:x > 1", bare)).toBe(false);
    expect(matches("attribute:x <= 1", bare)).toBe(false);
  });
});

describe("evaluator: fields", () => {
  test("task:group asks whether the instance runs the group", () => {
    expect(matches("task:group == service:web")).toBe(true);
    expect(matches("task:group == service:db")).toBe(false);
    expect(matches("task:group != service:db")).toBe(true);
    expect(matches("not(task:group == service:web)")).toBe(false);
    expect(matches("task:group in [service:db, family:cron]")).toBe(true);
    expect(matches("task:group =~ 'service:.*'")).toBe(true);
    expect(matches("task:group exists")).toBe(true);
    expect(matches("task:group exists", bare)).toBe(false);
  });

  test("task:group can read counts from the context", () => {
    const c = compileExpression("task:group == service:new");
    if (!c.ok) throw new Error(c.error.message);
    expect(c.predicate(bare)).toBe(false);
    expect(c.predicate(bare, { groupsOf: () => new Map([["service:new", 1]]) })).toBe(true);
  });

  test("registeredAt compares with dates and timestamps (UTC)", () => {
    expect(matches("registeredAt > 2026-01-01")).toBe(true);
    expect(matches("registeredAt < 2026-01-01")).toBe(false);
    expect(matches("registeredAt == 2026-01-15T12:00:00Z")).toBe(true);
    expect(matches("registeredAt == 2026-01-15T12:00:00")).toBe(true);
    expect(matches("registeredAt == 2026-01-15T14:00:00+02:00")).toBe(true);
    expect(matches("registeredAt != 2026-01-15T12:00:00Z")).toBe(false);
    expect(matches("registeredAt <= 2026-01-15T12:00:00.000Z")).toBe(true);
    expect(matches("registeredAt >= 2026-01-16")).toBe(false);
  });

  test("runningTasksCount", () => {
    expect(matches("runningTasksCount == 3")).toBe(true);
    expect(matches("runningTasksCount > 2 and runningTasksCount < 4")).toBe(true);
    expect(matches("runningTasksCount in [0, 1]")).toBe(false);
    expect(matches("runningTasksCount == 0", bare)).toBe(true);
  });

  test("instanceId and ec2InstanceId", () => {
    expect(matches("instanceId == ci-1")).toBe(true);
    expect(matches("ec2InstanceId == i-0abc")).toBe(true);
    expect(matches("ec2InstanceId in ['i-0abc', 'i-9']")).toBe(true);
    // Without an EC2-style id the container instance id stands in.
    expect(matches("ec2InstanceId == ci-2", bare)).toBe(true);
  });

  test("agentConnected", () => {
    expect(matches("agentConnected == true")).toBe(true);
    expect(matches("agentConnected == true", bare)).toBe(false);
    expect(matches("agentConnected != true", bare)).toBe(true);
  });

  test("agentVersion compares as a version, not a string", () => {
    expect(matches("agentVersion > 1.9.3")).toBe(true);
    expect(matches("agentVersion < 1.9.3")).toBe(false);
    expect(matches("agentVersion == 1.10")).toBe(true);
  });
});

describe("evaluator: boolean operators", () => {
  test("and, or, not with precedence", () => {
    // false or (true and true)
    expect(matches("attribute:label == beta or attribute:cores == 4 and attribute:gpu !exists")).toBe(true);
    // (false or true) and false
    expect(matches("(attribute:label == beta or attribute:cores == 4) and attribute:gpu exists")).toBe(false);
    expect(matches("not attribute:gpu exists and attribute:label exists")).toBe(true);
    expect(matches("!(attribute:label exists) || attribute:cores == 4 && runningTasksCount == 3")).toBe(true);
    expect(matches("attribute:a exists or attribute:b exists or attribute:label exists")).toBe(true);
    expect(matches("attribute:label exists and attribute:cores exists and attribute:gpu exists")).toBe(false);
  });
});

describe("compileExpression", () => {
  test("compiles each source once", () => {
    const src = `attribute:cache-test == ${Math.random()}`;
    const before = compiledExpressionCacheSize();
    const a = compileExpression(src);
    const b = compileExpression(src);
    expect(a).toBe(b);
    expect(compiledExpressionCacheSize()).toBe(before + 1);
  });

  test("returns parse errors without throwing", () => {
    const c = compileExpression("attribute:a ==");
    expect(c.ok).toBe(false);
    if (!c.ok) expect(c.error.position).toBe(14);
  });
});

describe("attributeHints", () => {
  const hints = (src: string) => {
    const r = parseExpression(src);
    if (!r.ok) throw new Error(r.error.message);
    return attributeHints(r.ast);
  };

  test("equalities in a top-level and-chain narrow", () => {
    expect(hints("attribute:zone == a and attribute:type in [x, y] and runningTasksCount < 3")).toEqual([
      { name: "zone", values: ["a"] },
      { name: "type", values: ["x", "y"] },
    ]);
  });

  test("anything that does not pin a value gives no hint", () => {
    expect(hints("attribute:zone == a or attribute:zone == b")).toEqual([]);
    expect(hints("not(attribute:zone == a)")).toEqual([]);
    expect(hints("attribute:zone != a")).toEqual([]);
    // Numbers compare numerically ("4" == "4.0"), which exact index lookups cannot honour.
    expect(hints("attribute:cores == 4")).toEqual([]);
  });
});
