import type { QuerySyntaxError } from "./ast.ts";

/**
 * Thrown inside the tokenizer and parser only; parseExpression turns it into a value so callers
 * never see an exception for bad user input.
 */
export class QuerySyntaxException extends Error {
  constructor(
    readonly position: number,
    readonly expected: string,
    readonly found: string,
  ) {
    super(`invalid expression at position ${position}: expected ${expected}, found ${found}`);
  }

  toError(): QuerySyntaxError {
    return { position: this.position, expected: this.expected, message: this.message };
  }
}

export function describeFound(text: string | undefined): string {
  return text === undefined ? "end of expression" : `'${text}'`;
}
