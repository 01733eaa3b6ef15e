import { createReadStream, statSync } from "node:fs";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { pack } from "tar-stream";
import type { BlobCache } from "./blob-cache.ts";
import type { ImageManifest } from "./distribution-client.ts";

/**
 * A `docker load` archive (the docker-archive layout: manifest.json, the config, one file per
 * layer) streamed from the blob cache, for an image the agent fetched itself. The layers go in as
 * the registry compressed them: `docker load` decompresses each one and checks it against the
 * config's diff_ids, so the engine verifies what the cache verified by digest. `repoTag` is the
 * reference the image is known by afterwards.
 */
export function dockerArchive(cache: BlobCache, manifest: ImageManifest, repoTag: string): Readable {
  const hex = (digest: string) => digest.slice("sha256:".length);
  const configName = `${hex(manifest.config.digest)}.json`;
  const layerNames = manifest.layers.map((l) => `${hex(l.digest)}.tar`);
  const tar = pack();
  const files: [string, string][] = [[configName, cache.path(manifest.config.digest)], ...manifest.layers.map((l, i): [string, string] => [layerNames[i]!, cache.path(l.digest)])];
  void (async () => {
    try {
      const index = Buffer.from(JSON.stringify([{ Config: configName, RepoTags: [repoTag], Layers: layerNames }]));
      tar.entry({ name: "manifest.json", size: index.byteLength }, index);
      const seen = new Set<string>();
      for (const [name, path] of files) {
        if (seen.has(name)) continue; // the same layer twice in one image: one file
        seen.add(name);
        await pipeline(createReadStream(path), tar.entry({ name, size: statSync(path).size }));
      }
      tar.finalize();
    } catch (e) {
      tar.destroy(e as Error);
    }
  })();
  // tar-stream's streams are streamx ones; the engine's client wants a Node stream.
  return Readable.from(tar);
}
