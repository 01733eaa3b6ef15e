import { expect, test } from "bun:test";
import { AgentMetrics } from "../../../agent/metrics/agent-metrics.ts";
import { instrumentRuntime } from "../../../agent/metrics/instrumented-runtime.ts";
import { HollowRuntime } from "../../../agent/runtime/hollow.ts";
import type { ContainerRuntime, ImagePullBehavior, PullSummary } from "../../../agent/runtime/types.ts";
import { Scrape } from "../../helpers/prometheus.ts";

/**
 * The runtime wrapper (agent/metrics/instrumented-runtime.ts) on a pull that reports progress as
 * the Docker runtime does (runtime/pull-progress.ts summaries, then true: the engine did not have
 * the image): timed as `pulled`, the downloaded bytes counted once, from the last summary; the
 * caller still gets every summary and the result. Other calls are passed through untouched.
 */
function progressingRuntime(): ContainerRuntime {
  const hollow = new HollowRuntime();
  const rt: ContainerRuntime = Object.create(hollow);
  rt.ensureImage = async (image: string, behavior: ImagePullBehavior, onProgress?: (s: PullSummary) => void) => {
    onProgress?.({ layers: 2, layersDone: 0, bytesDone: 1_000, bytesTotal: 5_000 });
    onProgress?.({ layers: 2, layersDone: 2, bytesDone: 5_000, bytesTotal: 5_000 });
    await hollow.ensureImage(image, behavior);
    return true;
  };
  return rt;
}

test("a pull: duration as pulled, bytes from the last progress summary, progress and result passed on", async () => {
  const metrics = new AgentMetrics({ processMetrics: false });
  const rt = instrumentRuntime(progressingRuntime(), metrics);
  const seen: number[] = [];
  expect(await rt.ensureImage("app:1", "default", (s) => seen.push(s.bytesDone))).toBe(true);
  expect(seen).toEqual([1_000, 5_000]);
  expect(await rt.info()).toMatchObject({ version: "hollow-1" });
  const s = new Scrape((await metrics.text()).body);
  expect(s.count("flotilla_agent_image_pull_duration_seconds", { outcome: "pulled" })).toBe(1);
  expect(s.value("flotilla_agent_image_pull_bytes_total")).toBe(5_000);
  expect(s.count("flotilla_agent_docker_call_duration_seconds", { call: "ensureImage" })).toBe(1);
  expect(s.count("flotilla_agent_docker_call_duration_seconds", { call: "info" })).toBe(1);
});

test("a failing call is counted by call and error class and still throws", async () => {
  const metrics = new AgentMetrics({ processMetrics: false });
  const rt = instrumentRuntime(new HollowRuntime(), metrics);
  await expect(rt.start("no-such-container")).rejects.toThrow(/No such container/);
  const s = new Scrape((await metrics.text()).body);
  expect(s.value("flotilla_agent_docker_call_errors_total", { call: "start", kind: "CannotStartContainerError" })).toBe(1);
  expect(s.count("flotilla_agent_docker_call_duration_seconds", { call: "start" })).toBe(1);
});
