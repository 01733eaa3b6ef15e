import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { silentLogger, withComponent, type Logger } from "../../shared/log.ts";

/**
 * NVIDIA GPU detection, as amazon-ecs-agent does it with ECS_ENABLE_GPU_SUPPORT: the GPUs' UUIDs
 * (GPU-…) are the ids the instance registers as its "GPU" resource and the ids Docker's device
 * requests name. ECS asks NVML; Flotilla asks nvidia-smi (NVML's own command-line front end, shipped
 * with the driver) and, without it, the driver's /proc files. A host with neither has no GPUs: that
 * is an answer, not an error.
 */

/** Runs a command; null when the program is not installed. */
export type CommandRunner = (argv: string[]) => Promise<{ exitCode: number; stdout: string } | null>;

export interface GpuDetectionOptions {
  run?: CommandRunner;
  /** Where /proc is (tests point it at captured driver files). */
  procRoot?: string;
  log?: Logger;
}

export const NVIDIA_SMI_QUERY = ["nvidia-smi", "--query-gpu=index,uuid", "--format=csv"];

/** The host's own nvidia-smi, found on PATH; null when it is not there. */
export const hostCommandRunner: CommandRunner = async (argv) => {
  const program = Bun.which(argv[0]!);
  if (!program) return null;
  const proc = Bun.spawn([program, ...argv.slice(1)], { stdout: "pipe", stderr: "ignore", stdin: "ignore" });
  const [stdout, exitCode] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
  return { exitCode, stdout };
};

/** The NVIDIA GPU ids of this host, in device index order; empty when it has none. Never throws. */
export async function detectNvidiaGpus(opts: GpuDetectionOptions = {}): Promise<string[]> {
  const log = withComponent(opts.log ?? silentLogger, "host");
  let smi: Awaited<ReturnType<CommandRunner>> = null;
  try {
    smi = await (opts.run ?? hostCommandRunner)(NVIDIA_SMI_QUERY);
  } catch (e) {
    smi = { exitCode: -1, stdout: "" };
    log.warn(`GPU support: nvidia-smi could not run (${(e as Error).message}); trying /proc/driver/nvidia`);
  }
  if (smi && smi.exitCode === 0) {
    const ids = parseNvidiaSmiCsv(smi.stdout);
    if (ids.length) return ids;
  }
  const fromProc = readProcGpus(opts.procRoot ?? "/proc");
  if (fromProc.length) return fromProc;
  log.warn(
    smi
      ? `GPU support is enabled, but nvidia-smi found no GPU (exit code ${smi.exitCode}); registering none`
      : "GPU support is enabled, but this host has no NVIDIA driver (no nvidia-smi, no /proc/driver/nvidia/gpus); registering no GPUs",
  );
  return [];
}

/**
 * `nvidia-smi --query-gpu=...,index,uuid --format=csv` output: a header naming the columns, then
 * one line per GPU. Columns are found by their header, so any extra ones are ignored; rows are
 * ordered by index. Lines that are not a GPU (an error message, "[N/A]") are skipped.
 */
export function parseNvidiaSmiCsv(text: string): string[] {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  const header = lines[0]?.split(",").map((h) => h.trim().toLowerCase().replace(/^gpu_/, "")) ?? [];
  const uuidAt = header.indexOf("uuid");
  const indexAt = header.indexOf("index");
  if (uuidAt < 0) return [];
  const rows: { index: number; uuid: string }[] = [];
  for (const line of lines.slice(1)) {
    const cells = line.split(",").map((c) => c.trim());
    const uuid = cells[uuidAt];
    if (!uuid || !/^(GPU|MIG)-[0-9A-Za-z-]+$/.test(uuid)) continue;
    rows.push({ index: indexAt >= 0 ? Number(cells[indexAt]) : rows.length, uuid });
  }
  return rows.sort((a, b) => a.index - b.index).map((r) => r.uuid);
}

/**
 * /proc/driver/nvidia/gpus/<pci bus id>/information, one folder per GPU: "GPU UUID: GPU-…" and, on
 * newer drivers, "Device Minor: N" (the /dev/nvidiaN number, which orders them; older drivers lack it,
 * and then the bus id does).
 */
export function readProcGpus(procRoot: string): string[] {
  const dir = join(procRoot, "driver", "nvidia", "gpus");
  let buses: string[];
  try {
    buses = readdirSync(dir).sort();
  } catch {
    return [];
  }
  const found: { minor: number; bus: string; uuid: string }[] = [];
  for (const bus of buses) {
    let text: string;
    try {
      text = readFileSync(join(dir, bus, "information"), "utf8");
    } catch {
      continue;
    }
    const info = parseProcInformation(text);
    if (info.uuid) found.push({ minor: info.minor ?? Number.MAX_SAFE_INTEGER, bus, uuid: info.uuid });
  }
  return found.sort((a, b) => a.minor - b.minor || (a.bus < b.bus ? -1 : 1)).map((g) => g.uuid);
}

export function parseProcInformation(text: string): { uuid?: string; minor?: number } {
  const field = (name: string) => new RegExp(`^${name}:\\s*(\\S+)`, "m").exec(text)?.[1];
  const uuid = field("GPU UUID");
  const minor = field("Device Minor");
  return {
    ...(uuid && /^GPU-[0-9A-Za-z-]+$/.test(uuid) ? { uuid } : {}),
    ...(minor !== undefined && /^\d+$/.test(minor) ? { minor: Number(minor) } : {}),
  };
}
