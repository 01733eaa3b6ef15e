import { afterAll } from "bun:test";
import { assertNothingLeftAtTheEnd } from "./leftovers.ts";

/**
 * Preloaded by scripts/test: after the last test file, nothing any file started through the
 * helpers (agents, control services, its instances' containers) may still be there. Each file's
 * start checks the files before it; this covers the last one.
 */
afterAll(assertNothingLeftAtTheEnd, 60_000);
