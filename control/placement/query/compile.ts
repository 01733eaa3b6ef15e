import type { Expr, QuerySyntaxError } from "./ast.ts";
import { compilePredicate, type InstancePredicate } from "./evaluator.ts";
import { parseExpression } from "./parser.ts";

export type CompiledExpression =
  | { ok: true; source: string; ast: Expr; predicate: InstancePredicate }
  | { ok: false; source: string; error: QuerySyntaxError };

/**
 * Services re-place with the same few expressions over and over, so parsing and compiling happen
 * once per distinct source. The bound keeps a stream of one-off expressions from growing memory;
 * dropping everything when full is cheaper than LRU bookkeeping and the working set refills at once.
 */
const MAX_CACHED = 1024;
const cache = new Map<string, CompiledExpression>();

export function compileExpression(source: string): CompiledExpression {
  const hit = cache.get(source);
  if (hit) return hit;
  const parsed = parseExpression(source);
  const compiled: CompiledExpression = parsed.ok
    ? { ok: true, source, ast: parsed.ast, predicate: compilePredicate(parsed.ast) }
    : { ok: false, source, error: parsed.error };
  if (cache.size >= MAX_CACHED) cache.clear();
  cache.set(source, compiled);
  return compiled;
}

/** For tests that need to observe caching. */
export function compiledExpressionCacheSize(): number {
  return cache.size;
}
