import type { DesiredPrefetch, ReportedPrefetch, ReportedPrefetchImage } from "../../shared/messages.ts";
import type { Logger } from "../../shared/log.ts";
import type { PullLimiter } from "../runtime/pull-limiter.ts";
import { RuntimeError, type ContainerRuntime, type ImagePullBehavior } from "../runtime/types.ts";

export interface ImagePrefetcherOptions {
  /** The runtime tasks pull with (its registry credentials file included); not limited itself. */
  runtime: ContainerRuntime;
  /** The one limiter every pull of the agent goes through. */
  limiter: PullLimiter;
  imagePullBehavior: ImagePullBehavior;
  /** A pull brought in an image the engine did not have: the agent owns it (image cleanup). */
  pulled(image: string): void;
  /** Progress changed: report soon. */
  changed(): void;
  now?: () => number;
  log?: Logger;
}

/**
 * Pulls the images the desired set's `prefetch` list names, ahead of any task needing them, with
 * the same runtime call a task start uses (ensureImage: the agent's pull behaviour, its registry
 * credentials) under the same limiter. Progress lives in memory and goes into every report; the
 * control keeps a prefetch in the desired set until this host reported each image DONE or FAILED,
 * so an agent restarted midway simply pulls again.
 */
export class ImagePrefetcher {
  private readonly prefetches = new Map<string, Map<string, ReportedPrefetchImage>>();
  private generation = 0;
  private readonly now: () => number;

  constructor(private readonly opts: ImagePrefetcherOptions) {
    this.now = opts.now ?? Date.now;
  }

  /**
   * The prefetch list of a desired set. A repeated generation counts (the retained set after an
   * agent restart is the same generation the saved state holds, and must start the pulls again);
   * an older one changes nothing. Returns false for an older one.
   */
  take(generation: number, list: DesiredPrefetch[]): boolean {
    if (generation < this.generation) return false;
    this.generation = generation;
    const wanted = new Set(list.map((p) => p.prefetchId));
    for (const id of [...this.prefetches.keys()]) if (!wanted.has(id)) this.prefetches.delete(id);
    for (const p of list) {
      if (this.prefetches.has(p.prefetchId)) continue;
      const images = new Map(p.images.map((image) => [image, { image, status: "PENDING" as const } satisfies ReportedPrefetchImage as ReportedPrefetchImage]));
      this.prefetches.set(p.prefetchId, images);
      for (const entry of images.values()) void this.pull(entry);
    }
    this.opts.changed();
    return true;
  }

  reported(): ReportedPrefetch[] {
    return [...this.prefetches].map(([prefetchId, images]) => ({ prefetchId, images: [...images.values()].map((i) => ({ ...i })) }));
  }

  private async pull(entry: ReportedPrefetchImage): Promise<void> {
    await this.opts.limiter.run(async () => {
      entry.status = "PULLING";
      entry.startedAt = this.now();
      this.opts.changed();
      try {
        if ((await this.opts.runtime.ensureImage(entry.image, this.opts.imagePullBehavior)) === true) this.opts.pulled(entry.image);
        entry.status = "DONE";
      } catch (e) {
        entry.status = "FAILED";
        const message = (e as Error).message;
        entry.reason = (e instanceof RuntimeError ? `${e.kind}: ${message}` : message).slice(0, 1024);
        this.opts.log?.warn({ image: entry.image, err: message }, "image prefetch failed");
      }
      entry.finishedAt = this.now();
      this.opts.changed();
    });
  }
}
