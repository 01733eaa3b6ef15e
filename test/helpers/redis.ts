/**
 * Tests start Debian's redis-server the same way the benchmarks do (one implementation:
 * scripts/bench/lib/redis-process.ts): 127.0.0.1, a free port, a temp dir, nothing saved.
 */
export { startRedis, type RedisProcess as Redis } from "../../scripts/bench/lib/redis-process.ts";
