import { isBuiltInPauseImage } from "../runtime/pause-image/pause-image.ts";
import type { ContainerRuntime } from "../runtime/types.ts";
import type { ReadonlyAgentState, ReadonlyAgentTask } from "../store/state-file.ts";
import { silentLogger, withComponent, type Logger } from "../../shared/log.ts";

export interface ImageCleanupOptions {
  runtime: ContainerRuntime;
  /** The agent's live state, to read (tasks and the images this agent pulled). */
  state: () => ReadonlyAgentState;
  /** The agent no longer owns these images (removed, or gone already): the engine drops its records. */
  forget: (images: string[]) => void;
  /** Milliseconds between cycles; 0 turns cleanup off (ECS_IMAGE_CLEANUP_INTERVAL). */
  intervalMs: number;
  /** An image is kept at least this long after the agent pulled it (ECS_IMAGE_MINIMUM_CLEANUP_AGE). */
  minimumAgeMs: number;
  /** At most this many images removed per cycle (ECS_NUM_IMAGES_DELETE_PER_CYCLE). */
  imagesPerCycle: number;
  now?: () => number;
  log?: Logger;
}

/** A known task holds an image until it has stopped and its containers are gone. */
function holds(task: ReadonlyAgentTask, image: string): boolean {
  const uses = task.containers.filter((c) => c.image === image);
  if (!uses.length) return false;
  return task.knownStatus !== "STOPPED" || uses.some((c) => c.runtimeId && !c.removed);
}

/**
 * Removes images the agent pulled that nothing uses any more. Several agents (and people) may share
 * one engine, so only images this agent brought in are ever candidates, and an image any container
 * on the engine uses (whoever made it) or any known task references is kept. Removal is never
 * forced, so the engine itself refuses an image a container started using meanwhile. The built-in
 * pause image (labelled flotilla.pause-image) is never removed: it is the agent's own machinery.
 */
export class ImageCleaner {
  private timer?: ReturnType<typeof setInterval>;
  private running: Promise<void> | null = null;
  private readonly now: () => number;
  private readonly log: Logger;

  constructor(private opts: ImageCleanupOptions) {
    this.now = opts.now ?? Date.now;
    this.log = withComponent(opts.log ?? silentLogger, "image-cleanup");
  }

  start(): void {
    if (this.opts.intervalMs <= 0 || !this.opts.runtime.removeImage) return;
    this.timer = setInterval(() => void this.cycle(), this.opts.intervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One cleanup pass. Overlapping calls share one pass. */
  cycle(): Promise<void> {
    this.running ??= this.cycleOnce()
      .catch((e: Error) => this.log.error(`image cleanup failed: ${e.message}`))
      .finally(() => (this.running = null));
    return this.running;
  }

  private async cycleOnce(): Promise<void> {
    const { runtime } = this.opts;
    const pulled = this.opts.state().pulledImages ?? {};
    const tasks = Object.values(this.opts.state().tasks);
    const due = Object.entries(pulled)
      .filter(([image, at]) => at + this.opts.minimumAgeMs <= this.now() && !tasks.some((t) => holds(t, image)))
      .sort((a, b) => a[1] - b[1]);
    if (!due.length) return;
    const inUse = await runtime.imagesInUse!();
    let removed = 0;
    const forgotten: string[] = [];
    for (const [image] of due) {
      if (removed >= this.opts.imagesPerCycle) break;
      const id = await runtime.imageId!(image);
      if (id === null) {
        // Gone already (removed by hand): nothing left to own.
        forgotten.push(image);
        continue;
      }
      // The agent's own pause image (loaded, or pulled by a task naming it) is never a candidate.
      if (isBuiltInPauseImage(await runtime.imageLabels(image))) {
        forgotten.push(image);
        continue;
      }
      // Re-checked after the awaits: a task placed meanwhile may have claimed the image.
      if (inUse.has(id) || inUse.has(image) || Object.values(this.opts.state().tasks).some((t) => holds(t, image))) continue;
      try {
        await runtime.removeImage!(image);
      } catch (e) {
        this.log.warn({ image }, `image cleanup: keeping ${image}: ${(e as Error).message}`);
        continue;
      }
      forgotten.push(image);
      removed++;
      this.log.info({ image }, `image cleanup: removed ${image}`);
    }
    if (forgotten.length) this.opts.forget(forgotten);
  }
}
