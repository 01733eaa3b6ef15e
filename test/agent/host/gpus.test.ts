import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseAgentConfig } from "../../../agent/config.ts";
import { hostFacts } from "../../../agent/host/facts.ts";
import { detectNvidiaGpus, hostCommandRunner, NVIDIA_SMI_QUERY, parseNvidiaSmiCsv, parseProcInformation, type CommandRunner } from "../../../agent/host/gpus.ts";
import { hostFactsSchema } from "../../../shared/messages.ts";
import { captureLogs } from "../../helpers/log-capture.ts";

const CORPUS = join(import.meta.dir, "../../corpus/nvidia");
const SMI_5 = readFileSync(join(CORPUS, "nvidia-smi-5-gpus.csv"), "utf8");
const PROC_GTX650 = join(CORPUS, "proc-gtx650");
const NO_PROC = join(CORPUS, "no-such-proc");

const FIVE = [
  "GPU-f3da2e71-6e43-729a-e3ae-f731ed96d50c",
  "GPU-15ea7bf9-1a0e-2d7f-9c62-c28e5ca1aaf1",
  "GPU-3dc4f2b0-6e1b-c088-c342-4367c334795a",
  "GPU-03ddeff3-19c4-6676-d02d-6942bd80630d",
  "GPU-ff3318a7-f0dd-dc57-1fb8-cc95ba35c56e",
];

/** A runner that answers nvidia-smi with captured output and records what it was asked. */
function cannedSmi(stdout: string, exitCode = 0): CommandRunner & { calls: string[][] } {
  const calls: string[][] = [];
  const run = (async (argv: string[]) => {
    calls.push(argv);
    return { exitCode, stdout };
  }) as CommandRunner & { calls: string[][] };
  run.calls = calls;
  return run;
}

describe("NVIDIA GPU detection", () => {
  test("nvidia-smi's CSV (captured on a five-GPU host) gives the UUIDs in index order, columns found by header", async () => {
    expect(parseNvidiaSmiCsv(SMI_5)).toEqual(FIVE);
    const run = cannedSmi(SMI_5);
    expect(await detectNvidiaGpus({ run, procRoot: NO_PROC })).toEqual(FIVE);
    expect(run.calls).toEqual([NVIDIA_SMI_QUERY]);
    expect(NVIDIA_SMI_QUERY).toEqual(["nvidia-smi", "--query-gpu=index,uuid", "--format=csv"]);
    // Rows out of index order are put back in it.
    const [header, ...rows] = SMI_5.trim().split("\n");
    expect(parseNvidiaSmiCsv([header, ...rows.reverse()].join("\n"))).toEqual(FIVE);
  });

  test("the driver's /proc file (captured from a GTX 650, no Device Minor line) is the fallback when nvidia-smi is absent", async () => {
    const logs = captureLogs();
    expect(await detectNvidiaGpus({ run: async () => null, procRoot: PROC_GTX650, log: logs.log })).toEqual(["GPU-e3f822b9-8c5f-95a5-b379-8dfdeefd7758"]);
    expect(logs.lines).toEqual([]);
    expect(parseProcInformation("GPU UUID: \t GPU-aa-bb\nDevice Minor: \t 3\n")).toEqual({ uuid: "GPU-aa-bb", minor: 3 });
  });

  test("nvidia-smi failing (driver not loaded: exit code 9) falls back to /proc, and with nothing there means no GPUs", async () => {
    const logs = captureLogs();
    const failing = cannedSmi("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\n", 9);
    expect(await detectNvidiaGpus({ run: failing, procRoot: PROC_GTX650 })).toEqual(["GPU-e3f822b9-8c5f-95a5-b379-8dfdeefd7758"]);
    expect(await detectNvidiaGpus({ run: failing, procRoot: NO_PROC, log: logs.log })).toEqual([]);
    expect(logs.messages()).toHaveLength(1);
    expect(logs.messages()[0]).toContain("exit code 9");
  });

  test("this host (no nvidia-smi, no NVIDIA driver) has no GPUs: no error, one log line", async () => {
    // The real host's tools, not a stand-in: this machine has no GPU.
    expect(Bun.which("nvidia-smi")).toBeNull();
    expect(existsSync("/proc/driver/nvidia/gpus")).toBe(false);
    expect(await hostCommandRunner(NVIDIA_SMI_QUERY)).toBeNull();
    const logs = captureLogs();
    expect(await detectNvidiaGpus({ log: logs.log })).toEqual([]);
    expect(logs.entries().map((e) => [e.level, e.component])).toEqual([["warn", "host"]]);
    expect(logs.messages()).toEqual(["GPU support is enabled, but this host has no NVIDIA driver (no nvidia-smi, no /proc/driver/nvidia/gpus); registering no GPUs"]);
  });
});

describe("GPU support setting and facts", () => {
  const parse = (args: string[], env: Record<string, string> = {}) => parseAgentConfig(["--control", "mqtt://127.0.0.1:1883", ...args], env);

  test("off by default, as in ECS; on with --enable-gpu-support, FLOTILLA_ENABLE_GPU_SUPPORT=1 or ECS_ENABLE_GPU_SUPPORT=true", () => {
    expect(parse([]).gpuSupport).toBe(false);
    expect(parse(["--enable-gpu-support"]).gpuSupport).toBe(true);
    expect(parse([], { FLOTILLA_ENABLE_GPU_SUPPORT: "1" }).gpuSupport).toBe(true);
    expect(parse([], { ECS_ENABLE_GPU_SUPPORT: "true" }).gpuSupport).toBe(true);
    expect(parse([], { ECS_ENABLE_GPU_SUPPORT: "false" }).gpuSupport).toBe(false);
  });

  test("detected GPU ids go into the registered host facts as resources.gpus; none: no gpus field", () => {
    const info = { cpus: 2, memoryBytes: 4 * 1024 ** 3, architecture: "x86_64", osType: "linux", version: "27.0.0" } as Parameters<typeof hostFacts>[0];
    const facts = hostFacts(info, {}, { addresses: () => [], gpus: FIVE });
    expect(facts.resources).toEqual({ cpu: 2048, memory: 4096, gpus: FIVE });
    expect(hostFactsSchema.parse(facts).resources.gpus).toEqual(FIVE);
    expect(hostFacts(info, {}, { addresses: () => [], gpus: [] }).resources).toEqual({ cpu: 2048, memory: 4096 });
  });
});
