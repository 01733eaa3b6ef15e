import { describe, expect, test } from "bun:test";
import { HollowRuntime } from "../../../agent/runtime/hollow.ts";
import {
  builtInPauseImage,
  builtInPauseImageSource,
  isBuiltInPauseImage,
  PAUSE_IMAGE_LABEL,
  pulledPauseImageSource,
  SHELL_HOLDER_ENTRYPOINT,
} from "../../../agent/runtime/pause-image/pause-image.ts";
import { pauseProgram } from "../../../agent/runtime/pause-image/pause-program.ts";
import { readTar } from "../../../agent/runtime/pause-image/tar.ts";
import { AGENT_VERSION } from "../../../shared/arn.ts";

/** The built-in pause image: a `docker save` archive built in memory, loaded only when missing. */
const noLatency = { pullLatencyMs: 0, createLatencyMs: 0, startLatencyMs: 0, stopLatencyMs: 0, removeLatencyMs: 0 };

describe("built-in pause image", () => {
  test("is one layer holding the pause program, tagged with the agent version and architecture, labelled", () => {
    for (const [arch, imageArch] of [["x86_64", "amd64"], ["aarch64", "arm64"]] as const) {
      const img = builtInPauseImage(arch);
      expect(img.reference).toBe(`flotilla/pause:${AGENT_VERSION}-${imageArch}`);
      const files = readTar(img.archive);
      const [manifest] = JSON.parse(new TextDecoder().decode(files.get("manifest.json")!));
      expect(manifest.RepoTags).toEqual([img.reference]);
      expect(manifest.Layers).toHaveLength(1);
      const config = JSON.parse(new TextDecoder().decode(files.get(manifest.Config)!));
      expect(config).toMatchObject({ architecture: imageArch, os: "linux", config: { Entrypoint: ["/pause"], Labels: { [PAUSE_IMAGE_LABEL]: img.programDigest } } });
      const layer = readTar(files.get(manifest.Layers[0])!);
      expect([...layer.keys()]).toEqual(["pause"]);
      expect(Buffer.from(layer.get("pause")!).equals(Buffer.from(pauseProgram(arch)))).toBe(true);
      // The same bytes every time: every agent of a version has the same image id.
      expect(Buffer.from(builtInPauseImage(arch).archive).equals(Buffer.from(img.archive))).toBe(true);
      expect(img.archive.length).toBeLessThan(8 * 1024);
    }
  });

  test("is loaded into an engine that lacks it, once, and not again while it is there", async () => {
    const runtime = new HollowRuntime({ timings: noLatency });
    const source = builtInPauseImageSource(runtime);
    const [a, b] = await Promise.all([source.ensure(), source.ensure()]);
    expect(a).toEqual({ image: `flotilla/pause:${AGENT_VERSION}-amd64`, entryPoint: ["/pause"] });
    expect(b).toEqual(a);
    expect(runtime.calls.load).toBe(1);
    expect(runtime.calls.pull).toBe(0);
    expect(isBuiltInPauseImage(await runtime.imageLabels(a.image))).toBe(true);
    await source.ensure();
    expect(runtime.calls.load).toBe(1);
  });

  test("is chosen by the engine's architecture (an arm64 engine gets the arm64 image)", async () => {
    const runtime = new HollowRuntime({ timings: noLatency, info: { architecture: "aarch64" } });
    expect((await builtInPauseImageSource(runtime).ensure()).image).toBe(`flotilla/pause:${AGENT_VERSION}-arm64`);
  });

  test("an image of that name without the agent's program (stale or someone else's) is replaced", async () => {
    const ref = `flotilla/pause:${AGENT_VERSION}-amd64`;
    const runtime = new HollowRuntime({ timings: noLatency, cachedImages: [ref] });
    await builtInPauseImageSource(runtime).ensure();
    expect(runtime.calls.load).toBe(1);
    expect((await runtime.imageLabels(ref))?.[PAUSE_IMAGE_LABEL]).toBe(builtInPauseImage("x86_64").programDigest);
  });

  test("an engine of an architecture the agent carries no program for fails the task clearly", async () => {
    const runtime = new HollowRuntime({ timings: noLatency, info: { architecture: "s390x" } });
    const err = await builtInPauseImageSource(runtime).ensure().catch((e) => e);
    expect(err).toMatchObject({ kind: "CannotPullContainerError" });
    expect(err.message).toContain("s390x; set --pause-image");
  });

  test("--pause-image is pulled as any image and runs the shell holder", async () => {
    const runtime = new HollowRuntime({ timings: noLatency });
    expect(await pulledPauseImageSource(runtime, "busybox:stable").ensure()).toEqual({ image: "busybox:stable", entryPoint: SHELL_HOLDER_ENTRYPOINT });
    expect(runtime.calls).toMatchObject({ pull: 1, load: 0 });
  });
});
