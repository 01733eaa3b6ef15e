/**
 * Tests start Debian's Mosquitto 2 with dynamic security the same way the benchmarks do (one
 * implementation: scripts/bench/lib/mosquitto-process.ts, configured as docs/operations.md says).
 */
export { startMosquitto, type MosquittoProcess as Mosquitto } from "../../../scripts/bench/lib/mosquitto-process.ts";
