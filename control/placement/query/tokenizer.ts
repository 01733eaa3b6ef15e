import { QuerySyntaxException } from "./syntax-error.ts";

export type TokenKind = "word" | "string" | "symbol" | "lparen" | "rparen" | "lbracket" | "rbracket" | "comma" | "eof";

export interface Token {
  kind: TokenKind;
  /** Source text for words and symbols; the unescaped content for quoted strings. */
  text: string;
  position: number;
}

/**
 * Characters that end a bare word. Operator characters are included so `a==b` tokenizes without
 * spaces; values containing them (regexes with `|`, say) must be quoted.
 */
const WORD_BREAK = new Set([" ", "\t", "\n", "\r", "(", ")", "[", "]", ",", "'", '"', "=", "!", "<", ">", "&", "|"]);

const TWO_CHAR_SYMBOLS = new Set(["==", "!=", ">=", "<=", "=~", "!~", "&&", "||"]);
const ONE_CHAR_SYMBOLS = new Set([">", "<", "!"]);
/** `!exists` and `!in` are single operators, distinct from `!` (not) followed by a word. */
const BANG_WORDS = ["exists", "in"];

export function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (c === " " || c === "\t" || c === "\n" || c === "\r") {
      i++;
      continue;
    }
    const single = c === "(" ? "lparen" : c === ")" ? "rparen" : c === "[" ? "lbracket" : c === "]" ? "rbracket" : c === "," ? "comma" : null;
    if (single) {
      tokens.push({ kind: single, text: c, position: i });
      i++;
      continue;
    }
    if (c === "'" || c === '"') {
      const { text, end } = readQuoted(src, i);
      tokens.push({ kind: "string", text, position: i });
      i = end;
      continue;
    }
    const two = src.slice(i, i + 2);
    if (c === "!") {
      const word = BANG_WORDS.find((w) => src.startsWith(w, i + 1) && isWordEnd(src, i + 1 + w.length));
      if (word) {
        tokens.push({ kind: "symbol", text: `!${word}`, position: i });
        i += 1 + word.length;
        continue;
      }
    }
    if (TWO_CHAR_SYMBOLS.has(two)) {
      tokens.push({ kind: "symbol", text: two, position: i });
      i += 2;
      continue;
    }
    if (ONE_CHAR_SYMBOLS.has(c)) {
      tokens.push({ kind: "symbol", text: c, position: i });
      i++;
      continue;
    }
    if (WORD_BREAK.has(c)) {
      // A lone '=', '&' or '|' is no operator; the parser reports it where it expected one.
      tokens.push({ kind: "symbol", text: c, position: i });
      i++;
      continue;
    }
    let j = i;
    while (j < src.length && !WORD_BREAK.has(src[j]!)) j++;
    tokens.push({ kind: "word", text: src.slice(i, j), position: i });
    i = j;
  }
  tokens.push({ kind: "eof", text: "", position: src.length });
  return tokens;
}

function isWordEnd(src: string, at: number): boolean {
  return at >= src.length || WORD_BREAK.has(src[at]!);
}

/**
 * Only the quote character and the backslash itself are escapes; any other backslash is kept so
 * regular expressions such as '^t3\..*' survive quoting unchanged.
 */
function readQuoted(src: string, start: number): { text: string; end: number } {
  const quote = src[start]!;
  let out = "";
  let i = start + 1;
  while (i < src.length) {
    const c = src[i]!;
    if (c === "\\" && (src[i + 1] === quote || src[i + 1] === "\\")) {
      out += src[i + 1];
      i += 2;
      continue;
    }
    if (c === quote) return { text: out, end: i + 1 };
    out += c;
    i++;
  }
  throw new QuerySyntaxException(src.length, `closing ${quote} for the string opened at position ${start}`, "end of expression");
}
