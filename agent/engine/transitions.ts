import type { ContainerStatus } from "../../shared/status.ts";
import type { ContainerSpec, ContainerRuntime, ImagePullBehavior, PullSummary, RegistryCredentials } from "../runtime/types.ts";
import type { AgentContainer } from "../store/state-file.ts";

export interface TransitionContext {
  runtime: ContainerRuntime;
  container: AgentContainer;
  spec: ContainerSpec;
  imagePullBehavior: ImagePullBehavior;
  /** Throttled pull progress (reported as task events). */
  onPullProgress?: (s: PullSummary) => void;
  /** Called when the pull brought in an image the engine did not have (the agent owns it). */
  onPulled?: (image: string) => void;
  /** The task's repositoryCredentials, resolved by the control from a secret. */
  credentials?: RegistryCredentials;
}

/**
 * The explicit transitions table: the runtime call that moves a container INTO each status on the
 * way up. Each call is idempotent, so re-running a step after a crash is harmless.
 */
export const transitions: Partial<Record<ContainerStatus, (t: TransitionContext) => Promise<void>>> = {
  PULLED: async ({ runtime, spec, imagePullBehavior, onPullProgress, onPulled, credentials }) => {
    if ((await runtime.ensureImage(spec.image, imagePullBehavior, onPullProgress, credentials)) === true) onPulled?.(spec.image);
  },
  CREATED: async ({ runtime, container, spec }) => {
    // Adopt a container this task already has (created before a crash) rather than duplicate it.
    const existing = await runtime.list(spec.labels);
    container.runtimeId = existing[0]?.id ?? (await runtime.create(spec));
  },
  RUNNING: async ({ runtime, container }) => {
    await runtime.start(container.runtimeId!);
  },
};

const UPWARD: ContainerStatus[] = ["PENDING", "PULLED", "CREATED", "RUNNING"];

/** The next status on the way to RUNNING, or null when there is none. */
export function nextUpward(s: ContainerStatus): ContainerStatus | null {
  const i = UPWARD.indexOf(s);
  return i >= 0 && i < UPWARD.length - 1 ? UPWARD[i + 1]! : null;
}
