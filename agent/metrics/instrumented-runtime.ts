import type { ContainerRuntime, PullSummary } from "../runtime/types.ts";
import type { AgentMetrics } from "./agent-metrics.ts";

/** The runtime calls that are Docker Engine API requests (logs and watch are streams: not timed). */
const TIMED = new Set<string>([
  "info",
  "ensureImage",
  "imagesInUse",
  "imageId",
  "imageLabels",
  "loadImage",
  "removeImage",
  "create",
  "start",
  "stop",
  "remove",
  "list",
  "inspect",
  "stats",
  "bridgeAddress",
  "exec",
  "ensureNetwork",
  "ensureVolume",
  "removeVolume",
  "ensureTaskCgroup",
  "removeTaskCgroup",
] satisfies (keyof ContainerRuntime)[]);

/**
 * The one place Docker calls are measured: every timed method of the runtime is wrapped, so its
 * latency and failures are counted whoever calls it (runners, observer, logs, exec, stats, image
 * cleanup, the metadata endpoint, the host monitor). ensureImage is also the image pull: its
 * duration by outcome and the bytes the pull progress reported.
 */
export function instrumentRuntime<R extends ContainerRuntime>(runtime: R, metrics: AgentMetrics): R {
  return new Proxy(runtime, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== "function") return value;
      // Called on the runtime itself, never on the proxy (a method may use private state).
      if (typeof prop !== "string" || !TIMED.has(prop)) return value.bind(target);
      if (prop === "ensureImage") return timedEnsureImage(target, value as ContainerRuntime["ensureImage"], metrics);
      return async (...args: unknown[]) => {
        const end = metrics.dockerCallDuration.startTimer({ call: prop });
        try {
          return await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        } catch (e) {
          metrics.dockerCallErrors.inc({ call: prop, kind: (e as Error).name || "Error" });
          throw e;
        } finally {
          end();
        }
      };
    },
  });
}

function timedEnsureImage(target: ContainerRuntime, ensureImage: ContainerRuntime["ensureImage"], metrics: AgentMetrics): ContainerRuntime["ensureImage"] {
  return async (image, behavior, onProgress, credentials) => {
    const t0 = performance.now();
    let last: PullSummary | undefined;
    const progress = (s: PullSummary) => {
      last = s;
      onProgress?.(s);
    };
    const seconds = () => (performance.now() - t0) / 1000;
    try {
      const pulled = await ensureImage.call(target, image, behavior, progress, credentials);
      metrics.dockerCallDuration.observe({ call: "ensureImage" }, seconds());
      metrics.imagePullDuration.observe({ outcome: pulled === true ? "pulled" : "cached" }, seconds());
      if (last) metrics.imagePullBytes.inc(last.bytesDone);
      return pulled;
    } catch (e) {
      metrics.dockerCallDuration.observe({ call: "ensureImage" }, seconds());
      metrics.dockerCallErrors.inc({ call: "ensureImage", kind: (e as Error).name || "Error" });
      metrics.imagePullDuration.observe({ outcome: "error" }, seconds());
      if (last) metrics.imagePullBytes.inc(last.bytesDone);
      throw e;
    }
  };
}
