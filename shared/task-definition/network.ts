import { DEFAULT_NETWORK_MODE, type NetworkMode } from "./constants.ts";

/** The task's network mode; ECS's default (bridge) when the definition names none. */
export function networkModeOf(td: { networkMode?: NetworkMode | undefined }): NetworkMode {
  return td.networkMode ?? DEFAULT_NETWORK_MODE;
}

/**
 * The host port a port mapping binds, as ECS defines it: in host and awsvpc modes the container port
 * itself; in bridge mode hostPort, where 0 or absent means a dynamic port chosen at start (returned as 0);
 * none mode publishes nothing (0).
 */
export function hostPortOf(mode: NetworkMode, pm: { containerPort: number; hostPort?: number | undefined }): number {
  if (mode === "host" || mode === "awsvpc") return pm.containerPort;
  if (mode === "none") return 0;
  return pm.hostPort ?? 0;
}

/** True when the task's containers share one network namespace (reach each other on localhost). */
export function sharesNetworkNamespace(mode: NetworkMode): boolean {
  return mode === "awsvpc" || mode === "host";
}
