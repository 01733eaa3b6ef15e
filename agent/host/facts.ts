import { hostname } from "node:os";
import { AGENT_VERSION } from "../../shared/arn.ts";
import type { HostFacts } from "../../shared/messages.ts";
import type { RuntimeInfo } from "../runtime/types.ts";
import { hostAddresses } from "./addresses.ts";

/** ECS's names for CPU architectures; Docker says x86_64/aarch64, uname may say amd64. */
export function ecsArchitecture(arch: string): string {
  if (arch === "aarch64" || arch === "arm64") return "arm64";
  if (arch === "x86_64" || arch === "amd64" || arch === "x64") return "x86_64";
  return arch;
}

/**
 * What the agent tells the control service about its host: ECS units (1024 cpu per core, memory
 * in MiB) and the automatic attributes, plus any given with --attribute; and the addresses other
 * hosts reach it at (`advertise`, from --advertise-address, first); and, with GPU support on, the
 * NVIDIA GPU ids found at start (gpus.ts), registered as ECS's "GPU" resource.
 */
export function hostFacts(
  info: RuntimeInfo,
  extraAttributes: Record<string, string> = {},
  network: { advertise?: string; addresses?: () => string[]; gpus?: string[] } = {},
): HostFacts {
  const host = hostname();
  return {
    hostname: host,
    resources: {
      cpu: info.cpus * 1024,
      memory: Math.floor(info.memoryBytes / (1024 * 1024)),
      ...(network.gpus?.length ? { gpus: network.gpus } : {}),
    },
    attributes: {
      "ecs.os-type": info.osType === "windows" ? "windows" : "linux",
      "ecs.cpu-architecture": ecsArchitecture(info.architecture),
      // Names the placement engine and memberOf expressions use (control/placement/attribute-names.ts).
      hostname: host,
      "ecs.agent-version": AGENT_VERSION,
      "ecs.docker-version": info.version,
      ...extraAttributes,
    },
    versionInfo: { agentVersion: AGENT_VERSION, dockerVersion: info.version },
    addresses: network.addresses?.() ?? hostAddresses({ advertise: network.advertise }),
  };
}
