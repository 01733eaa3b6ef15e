import type { Expr, Field, Literal, Operator, ParseResult } from "./ast.ts";
import { OPERATORS_BY_FIELD, OPERATOR_SPELLINGS, describeOperators, readField } from "./fields.ts";
import { asDate, asNumber, asWholeMatchRegex } from "./literals.ts";
import { QuerySyntaxException, describeFound } from "./syntax-error.ts";
import { tokenize, type Token } from "./tokenizer.ts";

/** ECS caps a constraint expression at 2000 characters; the cap also bounds parser recursion. */
export const MAX_EXPRESSION_LENGTH = 2000;

const CONDITION = "a condition (a field such as attribute:NAME, 'not' or '(')";

/**
 * Parses an ECS cluster query language expression. Precedence, loosest first: `or` / `||`, then
 * `and` / `&&`, then `not` / `!`; parentheses group. Literal values are checked here too (dates,
 * numbers, regular expressions), so every error surfaces when the expression is submitted.
 */
export function parseExpression(src: string): ParseResult {
  if (src.length > MAX_EXPRESSION_LENGTH) {
    const e = new QuerySyntaxException(MAX_EXPRESSION_LENGTH, `at most ${MAX_EXPRESSION_LENGTH} characters`, `${src.length} characters`);
    return { ok: false, error: e.toError() };
  }
  try {
    const parser = new Parser(tokenize(src));
    return { ok: true, ast: parser.parseAll() };
  } catch (e) {
    if (e instanceof QuerySyntaxException) return { ok: false, error: e.toError() };
    throw e;
  }
}

class Parser {
  private at = 0;

  constructor(private readonly tokens: Token[]) {}

  parseAll(): Expr {
    const expr = this.parseOr();
    const t = this.peek();
    if (t.kind !== "eof") this.fail(t, "'and', 'or' or end of expression");
    return expr;
  }

  private parseOr(): Expr {
    const operands = [this.parseAnd()];
    while (this.isKeyword(this.peek(), "or", "||")) {
      this.at++;
      operands.push(this.parseAnd());
    }
    return operands.length === 1 ? operands[0]! : { type: "or", operands };
  }

  private parseAnd(): Expr {
    const operands = [this.parseUnary()];
    while (this.isKeyword(this.peek(), "and", "&&")) {
      this.at++;
      operands.push(this.parseUnary());
    }
    return operands.length === 1 ? operands[0]! : { type: "and", operands };
  }

  private parseUnary(): Expr {
    const t = this.peek();
    if (this.isKeyword(t, "not", "!")) {
      this.at++;
      return { type: "not", operand: this.parseUnary() };
    }
    if (t.kind === "lparen") {
      this.at++;
      const inner = this.parseOr();
      const close = this.peek();
      if (close.kind !== "rparen") this.fail(close, `')' to close the '(' at position ${t.position}, 'and' or 'or'`);
      this.at++;
      return inner;
    }
    return this.parseComparison();
  }

  private parseComparison(): Expr {
    const subject = this.peek();
    if (subject.kind !== "word") this.fail(subject, CONDITION);
    const reading = readField(subject.text);
    if (!reading.ok) this.fail(subject, reading.expected);
    this.at++;
    const field = reading.field;
    const allowed = OPERATORS_BY_FIELD[field.kind];

    const opToken = this.peek();
    const spelling = opToken.kind === "word" ? opToken.text.toLowerCase() : opToken.kind === "symbol" ? opToken.text : undefined;
    const operator = spelling === undefined ? undefined : OPERATOR_SPELLINGS[spelling];
    if (operator === undefined || !allowed.includes(operator)) {
      this.fail(opToken, operator === undefined ? describeOperators(allowed) : `${describeOperators(allowed)} for ${subject.text}`);
    }
    this.at++;

    const values = this.parseArguments(operator);
    for (const v of values) this.checkLiteral(field, operator, v);
    return { type: "comparison", field, operator, values, position: subject.position, operatorPosition: opToken.position };
  }

  private parseArguments(operator: Operator): Literal[] {
    if (operator === "exists" || operator === "!exists") return [];
    if (operator !== "in" && operator !== "not_in") return [this.parseValue()];
    const open = this.peek();
    if (open.kind !== "lbracket") this.fail(open, "'[' to start the list");
    this.at++;
    const values = [this.parseValue()];
    for (;;) {
      const t = this.peek();
      if (t.kind === "rbracket") {
        this.at++;
        return values;
      }
      if (t.kind !== "comma") this.fail(t, "',' or ']'");
      this.at++;
      values.push(this.parseValue());
    }
  }

  private parseValue(): Literal {
    const t = this.peek();
    if (t.kind !== "word" && t.kind !== "string") this.fail(t, "a value (a word, number or quoted string)");
    this.at++;
    return { text: t.text, position: t.position };
  }

  private checkLiteral(field: Field, operator: Operator, v: Literal): void {
    if (operator === "=~" || operator === "!~") {
      if (!asWholeMatchRegex(v.text)) this.failAt(v, "a valid regular expression");
      return;
    }
    if (field.kind === "runningTasksCount" && asNumber(v.text) === null) this.failAt(v, "a number");
    if (field.kind === "registeredAt" && asDate(v.text) === null) {
      this.failAt(v, "a date such as 2026-01-01, 2026-01-01T12:00:00Z or 2026-01-01T12:00:00+02:00");
    }
    if (field.kind === "agentConnected" && v.text !== "true" && v.text !== "false") this.failAt(v, "true or false");
  }

  private isKeyword(t: Token, word: string, symbol: string): boolean {
    return (t.kind === "word" && t.text.toLowerCase() === word) || (t.kind === "symbol" && t.text === symbol);
  }

  private peek(): Token {
    return this.tokens[this.at]!;
  }

  private fail(t: Token, expected: string): never {
    throw new QuerySyntaxException(t.position, expected, describeFound(t.kind === "eof" ? undefined : t.text));
  }

  private failAt(v: Literal, expected: string): never {
    throw new QuerySyntaxException(v.position, expected, describeFound(v.text));
  }
}
