import { existsSync, readFileSync, writeFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "pino";
import { silentLogger } from "../../../shared/log.ts";
import { parseImageReference } from "../../../shared/image-reference.ts";
import type { PullSummary, RegistryCredentials } from "../types.ts";
import { BlobCache, type BlobSource } from "./blob-cache.ts";
import type { ByteRateLimiter } from "./byte-rate-limiter.ts";
import { DistributionClient, hostPlatform, registryLocation, type DistributionClientOptions, type Platform } from "./distribution-client.ts";
import { dockerArchive } from "./docker-archive.ts";

/** What the agent pulled itself: the repo digest of each reference and the blobs it is made of. */
export interface PulledImage {
  image: string;
  /** The manifest's digest (`repo@sha256:…`): docker load does not record one, so the agent does. */
  repoDigest: string;
  blobs: string[];
  pulledAt: number;
}

/** Other sources for a blob than the registry, tried first (site peers: peer-sharing.md). */
export type ExtraBlobSources = (image: string, digest: string) => BlobSource[];

export interface RegistryPullerOptions {
  cache: BlobCache;
  limiter: ByteRateLimiter;
  /** Hands the archive to the engine (DockerRuntime.loadImageStream). */
  load: (archive: NodeJS.ReadableStream) => Promise<void>;
  platform?: Platform;
  peers?: ExtraBlobSources;
  fetch?: typeof fetch;
  scheme?: DistributionClientOptions["scheme"];
  log?: Logger;
}

/**
 * A pull made by the agent instead of dockerd: manifest (for this host's platform), then each blob
 * into the content-addressed cache (capped, resumable, from a peer when one has it, always
 * verified), then `docker load` of an archive assembled from them. Used when a bandwidth cap
 * applies; an image named by digest stays with dockerd (a loaded image can carry a tag, not a
 * repo digest, and the container is created by the name the task gives).
 */
export class RegistryPuller {
  private readonly log: Logger;
  private readonly recordPath: string;
  private records: Record<string, PulledImage>;

  constructor(private readonly opts: RegistryPullerOptions) {
    this.log = opts.log ?? silentLogger;
    this.recordPath = join(opts.cache.dir, "images.json");
    this.records = existsSync(this.recordPath) ? (JSON.parse(readFileSync(this.recordPath, "utf8")) as Record<string, PulledImage>) : {};
  }

  /** Whether this puller can fetch the image (a tagged reference) and a cap (or sharing) asks it to. */
  handles(image: string): boolean {
    const ref = parseImageReference(image);
    return !!ref && !ref.digest && this.opts.limiter.bytesPerSecond !== undefined;
  }

  /** The image as pulled by the agent, undefined when it never was. */
  pulled(image: string): PulledImage | undefined {
    return this.records[image];
  }

  /** Every blob digest of an image the agent pulled itself (what a peer may ask for). */
  ownBlobs(): Set<string> {
    return new Set(Object.values(this.records).flatMap((r) => r.blobs));
  }

  async pull(image: string, credentials?: RegistryCredentials, onProgress?: (s: PullSummary) => void): Promise<PulledImage> {
    const location = registryLocation(image);
    if (!location) throw new Error(`not an image reference: ${image}`);
    const client = new DistributionClient(location, { credentials, fetch: this.opts.fetch, scheme: this.opts.scheme, timeoutMs: 30_000 });
    const { digest, manifest } = await client.resolve(this.opts.platform ?? hostPlatform());
    const blobs = [manifest.config, ...manifest.layers];
    const registry: BlobSource = { name: "registry", fetch: (d, offset) => client.blob(d, offset) };
    const summary: PullSummary = { layers: manifest.layers.length, layersDone: 0, bytesDone: 0, bytesTotal: manifest.layers.reduce((a, l) => a + l.size, 0) };
    for (const [i, blob] of blobs.entries()) {
      await this.opts.cache.ensure(blob.digest, blob.size, [...(this.opts.peers?.(image, blob.digest) ?? []), registry]);
      if (i > 0) {
        summary.layersDone++;
        summary.bytesDone += blob.size;
        onProgress?.({ ...summary });
      }
    }
    const ref = parseImageReference(image)!;
    const name = ref.tag ? image.slice(0, -(ref.tag.length + 1)) : image;
    await this.opts.load(dockerArchive(this.opts.cache, manifest, `${name}:${ref.tag ?? "latest"}`));
    const record: PulledImage = { image, repoDigest: `${name}@${digest}`, blobs: blobs.map((b) => b.digest), pulledAt: Date.now() };
    this.records[image] = record;
    this.save();
    this.log.info({ image, digest }, `pulled ${image} (${digest}) through the agent's registry client`);
    return record;
  }

  private save(): void {
    const tmp = `${this.recordPath}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.records, null, 1), { mode: 0o600 });
    renameSync(tmp, this.recordPath);
  }
}
