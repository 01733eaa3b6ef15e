/**
 * Attribute names the engine gives meaning to. Kept in one place so the agent's registration code
 * and the engine cannot drift apart silently.
 */
export const CPU_ARCHITECTURE_ATTRIBUTE = "ecs.cpu-architecture";
export const OS_TYPE_ATTRIBUTE = "ecs.os-type";
export const INSTANCE_ID_ATTRIBUTE = "ecs.instance-id";
export const HOSTNAME_ATTRIBUTE = "hostname";
export const AGENT_VERSION_ATTRIBUTE = "ecs.agent-version";
/**
 * Set by the control (not the agent) when the agent is behind it: "one-minor-behind" (accepted)
 * or "too-old" (no new tasks); absent otherwise (shared/agent-version-skew.ts).
 */
export const AGENT_VERSION_SKEW_ATTRIBUTE = "flotilla.agent-version-skew";

/**
 * Attribute values accepted for a task definition's runtimePlatform.cpuArchitecture. The aliases
 * cover agents that report Go/Docker names (amd64, aarch64) instead of ECS's.
 */
export const ARCHITECTURE_VALUES: Record<"X86_64" | "ARM64", readonly string[]> = {
  X86_64: ["x86_64", "amd64"],
  ARM64: ["arm64", "aarch64"],
};
