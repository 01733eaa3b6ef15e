import { createHash } from "node:crypto";
import { AGENT_VERSION } from "../../../shared/arn.ts";
import { RuntimeError, type ContainerRuntime } from "../types.ts";
import { pauseArchOf, pauseImageArch, pauseProgram, type PauseArch } from "./pause-program.ts";
import { writeTar } from "./tar.ts";

/**
 * The image of the hidden container that holds a task's namespaces (ECS's pause container).
 *
 * By default it is built in: the agent carries its pause program (pause-program.ts), makes a
 * one-layer image of it in memory and loads it into Docker when the engine does not have it, as
 * amazon-ecs-agent loads the pause tarball it ships. Nothing comes from a registry, so awsvpc and
 * pidMode/ipcMode "task" work on a host that cannot reach one. `--pause-image` names another image
 * instead; that one is pulled as any image is and must have `sh` (it runs a shell loop).
 */

/** What the holder container runs. */
export interface HolderImage {
  image: string;
  entryPoint: string[];
}

export interface PauseImageSource {
  /** Makes the image present in the engine (idempotent; concurrent callers share one load). */
  ensure(): Promise<HolderImage>;
}

/** Label on the built-in image: the digest of the pause program inside, to tell a stale image by. */
export const PAUSE_IMAGE_LABEL = "flotilla.pause-image";

const REPOSITORY = "flotilla/pause";

/** Sleeps until stopped and exits 0 on SIGTERM (a bare PID 1 would ignore it). */
export const SHELL_HOLDER_ENTRYPOINT = ["sh", "-c", 'trap "exit 0" TERM; while :; do sleep 3600 & wait $!; done'];

export interface BuiltInPauseImage {
  /** `flotilla/pause:<agent version>-<amd64|arm64>`: versioned with the agent that carries it. */
  reference: string;
  /** sha256 of the pause program, also the value of PAUSE_IMAGE_LABEL. */
  programDigest: string;
  /** A `docker save` archive of the image (for Docker's image load API). */
  archive: Uint8Array;
}

const sha256 = (b: Uint8Array | string) => createHash("sha256").update(b).digest("hex");
const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

/** Whether an image (by its labels) is the agent's built-in pause image. */
export function isBuiltInPauseImage(labels: Record<string, string> | null | undefined): boolean {
  return !!labels?.[PAUSE_IMAGE_LABEL];
}

/** The built-in image for one architecture, as the `docker save` format Docker loads. */
export function builtInPauseImage(arch: PauseArch): BuiltInPauseImage {
  const program = pauseProgram(arch);
  const programDigest = sha256(program);
  const layer = writeTar([{ name: "pause", data: program, mode: 0o755 }]);
  const layerDigest = sha256(layer);
  const reference = `${REPOSITORY}:${AGENT_VERSION}-${pauseImageArch(arch)}`;
  // Fixed times, so every agent of a version builds the same image (and the same image id).
  const config = json({
    architecture: pauseImageArch(arch),
    os: "linux",
    created: "1970-01-01T00:00:00Z",
    config: { Entrypoint: ["/pause"], Labels: { [PAUSE_IMAGE_LABEL]: programDigest } },
    rootfs: { type: "layers", diff_ids: [`sha256:${layerDigest}`] },
    history: [{ created: "1970-01-01T00:00:00Z", created_by: `flotilla agent ${AGENT_VERSION}: built-in pause program` }],
  });
  const configName = `${sha256(config)}.json`;
  const manifest = json([{ Config: configName, RepoTags: [reference], Layers: [`${layerDigest}/layer.tar`] }]);
  const archive = writeTar([
    { name: `${layerDigest}/layer.tar`, data: layer, mode: 0o644 },
    { name: configName, data: config, mode: 0o644 },
    { name: "manifest.json", data: manifest, mode: 0o644 },
  ]);
  return { reference, programDigest, archive };
}

/** The built-in pause image for the engine's architecture, loaded when missing or stale. */
export function builtInPauseImageSource(runtime: ContainerRuntime): PauseImageSource {
  let image: Promise<BuiltInPauseImage> | undefined;
  let loading: Promise<void> | null = null;
  const forEngine = async () => {
    const { architecture } = await runtime.info();
    const arch = pauseArchOf(architecture);
    if (!arch) {
      throw new RuntimeError("CannotPullContainerError", `the agent carries no pause image for architecture ${architecture}; set --pause-image to one with sh`);
    }
    return builtInPauseImage(arch);
  };
  return {
    async ensure() {
      image ??= forEngine();
      const built = await image.catch((e) => {
        image = undefined; // a failed info() is tried again next time
        throw e;
      });
      // One inspect per holder (as a cached pull would): an image removed by hand comes back.
      const labels = await runtime.imageLabels(built.reference);
      if (labels?.[PAUSE_IMAGE_LABEL] !== built.programDigest) {
        loading ??= runtime.loadImage(built.archive).finally(() => (loading = null));
        await loading;
      }
      return { image: built.reference, entryPoint: ["/pause"] };
    },
  };
}

/** `--pause-image`: an operator's image, pulled unless cached. */
export function pulledPauseImageSource(runtime: ContainerRuntime, image: string): PauseImageSource {
  return {
    async ensure() {
      await runtime.ensureImage(image, "prefer-cached");
      return { image, entryPoint: SHELL_HOLDER_ENTRYPOINT };
    },
  };
}
