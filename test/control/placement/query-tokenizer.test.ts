import { describe, expect, test } from "bun:test";
import { tokenize } from "../../../control/placement/query/tokenizer.ts";

const kinds = (src: string) => tokenize(src).map((t) => `${t.kind}:${t.text}`);

describe("tokenizer", () => {
  test("attribute names keep their dots, dashes and colon", () => {
    expect(kinds("attribute:ecs.instance-type == t3.small")).toEqual(["word:attribute:ecs.instance-type", "symbol:==", "word:t3.small", "eof:"]);
  });

  test("operators need no surrounding spaces", () => {
    expect(kinds("attribute:a==b&&runningTasksCount<=3")).toEqual([
      "word:attribute:a",
      "symbol:==",
      "word:b",
      "symbol:&&",
      "word:runningTasksCount",
      "symbol:<=",
      "word:3",
      "eof:",
    ]);
  });

  test("!exists and !in are single operators, ! before anything else is not", () => {
    expect(kinds("attribute:a !exists")).toEqual(["word:attribute:a", "symbol:!exists", "eof:"]);
    expect(kinds("attribute:a !in [x]")).toEqual(["word:attribute:a", "symbol:!in", "lbracket:[", "word:x", "rbracket:]", "eof:"]);
    expect(kinds("!instanceId == x")).toEqual(["symbol:!", "word:instanceId", "symbol:==", "word:x", "eof:"]);
  });

  test("lists, parentheses and quoted strings with escapes", () => {
    expect(kinds(`not(attribute:a in ['x y', "q\\"t"])`)).toEqual([
      "word:not",
      "lparen:(",
      "word:attribute:a",
      "word:in",
      "lbracket:[",
      "string:x y",
      "comma:,",
      'string:q"t',
      "rbracket:]",
      "rparen:)",
      "eof:",
    ]);
  });

  test("backslashes other than escapes survive, for regexes", () => {
    expect(tokenize("'^t3\\..*$'")[0]!.text).toBe("^t3\\..*$");
  });

  test("positions are 0-based offsets", () => {
    expect(tokenize("  attribute:a  ==  b").map((t) => t.position)).toEqual([2, 15, 19, 20]);
  });

  test("an unterminated string is an error naming where it opened", () => {
    expect(() => tokenize("attribute:a == 'oops")).toThrow("position 20: expected closing ' for the string opened at position 15");
  });
});
