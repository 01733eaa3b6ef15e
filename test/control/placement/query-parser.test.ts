import { describe, expect, test } from "bun:test";
import type { Expr } from "../../../control/placement/query/ast.ts";
import { MAX_EXPRESSION_LENGTH, parseExpression } from "../../../control/placement/query/parser.ts";

function ast(src: string): Expr {
  const r = parseExpression(src);
  if (!r.ok) throw new Error(r.error.message);
  return r.ast;
}

/** A compact rendering of the tree, to test shape and precedence. */
function show(e: Expr): string {
  switch (e.type) {
    case "or":
      return `(or ${e.operands.map(show).join(" ")})`;
    case "and":
      return `(and ${e.operands.map(show).join(" ")})`;
    case "not":
      return `(not ${show(e.operand)})`;
    case "comparison": {
      const f = e.field.kind === "attribute" ? `attribute:${e.field.name}` : e.field.kind;
      const v = e.values.map((x) => x.text);
      return `[${f} ${e.operator}${v.length ? ` ${v.join(",")}` : ""}]`;
    }
  }
}

function error(src: string) {
  const r = parseExpression(src);
  if (r.ok) throw new Error(`expected ${src} to fail`);
  return r.error;
}

describe("parser: comparisons", () => {
  test.each([
    ["attribute:ecs.instance-type == t3.small", "[attribute:ecs.instance-type == t3.small]"],
    ["attribute:a != b", "[attribute:a != b]"],
    ["attribute:cores > 4", "[attribute:cores > 4]"],
    ["attribute:cores >= 4", "[attribute:cores >= 4]"],
    ["attribute:cores < 4", "[attribute:cores < 4]"],
    ["attribute:cores <= 4", "[attribute:cores <= 4]"],
    ["attribute:ecs.instance-type =~ t2.*", "[attribute:ecs.instance-type =~ t2.*]"],
    ["attribute:ecs.instance-type !~ t2.*", "[attribute:ecs.instance-type !~ t2.*]"],
    ["attribute:zone in [a, b,c]", "[attribute:zone in a,b,c]"],
    ["attribute:zone not_in [a]", "[attribute:zone not_in a]"],
    ["attribute:zone !in [a]", "[attribute:zone not_in a]"],
    ["attribute:stack exists", "[attribute:stack exists]"],
    ["attribute:stack !exists", "[attribute:stack !exists]"],
    ["attribute:stack not_exists", "[attribute:stack !exists]"],
    ["attribute:a equals b", "[attribute:a == b]"],
    ["attribute:a matches 'x|y'", "[attribute:a =~ x|y]"],
    ["task:group == service:production", "[taskGroup == service:production]"],
    ["registeredAt < 2026-01-01", "[registeredAt < 2026-01-01]"],
    ["registeredAt >= 2018-06-18T22:28:28+00:00", "[registeredAt >= 2018-06-18T22:28:28+00:00]"],
    ["runningTasksCount == 0", "[runningTasksCount == 0]"],
    ["ec2InstanceId in ['i-abcd1234', 'i-wxyx7890']", "[ec2InstanceId in i-abcd1234,i-wxyx7890]"],
    ["instanceId == ci-1", "[instanceId == ci-1]"],
    ["agentConnected == true", "[agentConnected == true]"],
    ["agentVersion >= 1.2.0", "[agentVersion >= 1.2.0]"],
    ['attribute:name == "with space"', "[attribute:name == with space]"],
  ])("%s", (src, expected) => {
    expect(show(ast(src))).toBe(expected);
  });
});

describe("parser: boolean structure", () => {
  test("and binds tighter than or", () => {
    expect(show(ast("attribute:a == 1 or attribute:b == 2 and attribute:c == 3"))).toBe(
      "(or [attribute:a == 1] (and [attribute:b == 2] [attribute:c == 3]))",
    );
    expect(show(ast("attribute:a == 1 and attribute:b == 2 or attribute:c == 3"))).toBe(
      "(or (and [attribute:a == 1] [attribute:b == 2]) [attribute:c == 3])",
    );
  });

  test("not binds tighter than and", () => {
    expect(show(ast("not attribute:a exists and attribute:b exists"))).toBe("(and (not [attribute:a exists]) [attribute:b exists])");
  });

  test("parentheses override precedence", () => {
    expect(show(ast("(attribute:a == 1 or attribute:b == 2) and attribute:c == 3"))).toBe(
      "(and (or [attribute:a == 1] [attribute:b == 2]) [attribute:c == 3])",
    );
    expect(show(ast("not(task:group == database)"))).toBe("(not [taskGroup == database])");
  });

  test("symbolic and word spellings are the same operators", () => {
    expect(show(ast("!(attribute:a exists) && attribute:b exists || attribute:c exists"))).toBe(
      show(ast("not (attribute:a exists) and attribute:b exists or attribute:c exists")),
    );
    expect(show(ast("attribute:a exists AND attribute:b exists"))).toBe("(and [attribute:a exists] [attribute:b exists])");
    expect(show(ast("attribute:a IN [x] OR attribute:b EXISTS"))).toBe("(or [attribute:a in x] [attribute:b exists])");
  });

  test("chains flatten", () => {
    expect(show(ast("attribute:a exists and attribute:b exists and attribute:c exists"))).toBe(
      "(and [attribute:a exists] [attribute:b exists] [attribute:c exists])",
    );
  });
});

describe("parser: errors name the position and the expected token", () => {
  test("missing value", () => {
    const e = error("attribute:zone ==");
    expect(e.position).toBe(17);
    expect(e.expected).toContain("a value");
    expect(e.message).toBe("invalid expression at position 17: expected a value (a word, number or quoted string), found end of expression");
  });

  test("unknown field", () => {
    const e = error("zone == a");
    expect(e.position).toBe(0);
    expect(e.expected).toContain("a field");
    expect(e.message).toContain("found 'zone'");
  });

  test("attribute: without a name", () => {
    expect(error("attribute: == a").expected).toContain("an attribute name");
  });

  test("missing operator", () => {
    const e = error("attribute:zone zone-a");
    expect(e.position).toBe(15);
    expect(e.expected).toStartWith("an operator");
  });

  test("a single = is not an operator", () => {
    const e = error("attribute:zone = a");
    expect(e.position).toBe(15);
    expect(e.message).toContain("found '='");
  });

  test("operator not valid for the field", () => {
    const e = error("registeredAt =~ 2026.*");
    expect(e.position).toBe(13);
    expect(e.expected).toContain("for registeredAt");
  });

  test("unclosed parenthesis", () => {
    const e = error("(attribute:a exists or attribute:b exists");
    expect(e.position).toBe(41);
    expect(e.expected).toContain("')' to close the '(' at position 0");
  });

  test("stray closing parenthesis", () => {
    const e = error("attribute:a exists)");
    expect(e.position).toBe(18);
    expect(e.expected).toBe("'and', 'or' or end of expression");
  });

  test("dangling and", () => {
    const e = error("attribute:a exists and");
    expect(e.position).toBe(22);
    expect(e.expected).toContain("a condition");
  });

  test("in without a list, and a list without a closing bracket", () => {
    expect(error("attribute:a in a").expected).toBe("'[' to start the list");
    const e = error("attribute:a in [x y]");
    expect(e.position).toBe(18);
    expect(e.expected).toBe("',' or ']'");
  });

  test("bad literals are caught at parse time, at the literal", () => {
    expect(error("registeredAt > 2026-02-30")).toMatchObject({ position: 15, expected: expect.stringContaining("a date") });
    expect(error("runningTasksCount < many")).toMatchObject({ position: 20, expected: "a number" });
    expect(error("attribute:a =~ '('")).toMatchObject({ position: 15, expected: "a valid regular expression" });
    expect(error("agentConnected == yes")).toMatchObject({ position: 18, expected: "true or false" });
  });

  test("empty expression", () => {
    expect(error("")).toMatchObject({ position: 0, expected: expect.stringContaining("a condition") });
  });

  test("overlong expression", () => {
    const e = error("attribute:a exists or ".repeat(100) + "attribute:a exists");
    expect(e.position).toBe(MAX_EXPRESSION_LENGTH);
  });
});
