// aedes-persistence-redis ships no types; aedes takes its persistence as `any`.
declare module "aedes-persistence-redis" {
  export default function createRedisPersistence(options?: Record<string, unknown>): unknown;
}
