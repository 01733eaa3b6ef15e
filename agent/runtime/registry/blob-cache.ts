import { createHash, type Hash } from "node:crypto";
import { createReadStream, existsSync, mkdirSync, statSync } from "node:fs";
import { open, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "pino";
import { silentLogger } from "../../../shared/log.ts";
import type { ByteRateLimiter } from "./byte-rate-limiter.ts";

/** Somewhere a blob can be fetched from, from a byte offset on: the registry, or a peer agent. */
export interface BlobSource {
  /** For logs and the per-source byte counts ("registry", "peer 3f2c…"). */
  name: string;
  /** 206 with the bytes from `offset`, or 200 with the whole blob (the cache starts over). */
  fetch(digest: string, offset: number): Promise<Response>;
}

export class BlobError extends Error {}

const DIGEST = /^sha256:([0-9a-f]{64})$/;

/**
 * Image blobs on disk, named by their digest (`blobs/sha256/<hex>`), each verified against its
 * sha256 before it gets that name. A download in progress is `<hex>.partial`: when the connection
 * dies the next attempt asks only for the rest (HTTP Range from the bytes already on disk), in
 * this process or after an agent restart, and the hash is taken over the whole file so the
 * resumed blob is checked as a whole. Every byte passes the host's bandwidth cap.
 */
export class BlobCache {
  private readonly inFlight = new Map<string, Promise<void>>();
  /** Bytes received per source name since start (metrics, tests, the benchmark). */
  readonly bytesFrom = new Map<string, number>();
  private readonly log: Logger;

  constructor(
    readonly dir: string,
    private readonly opts: {
      limiter: ByteRateLimiter;
      /** Attempts in a row that bring no new byte before a blob fails. */
      attempts?: number;
      /** Pause before another attempt, times the attempt number. */
      retryDelayMs?: number;
      log?: Logger;
    },
  ) {
    mkdirSync(join(dir, "blobs", "sha256"), { recursive: true });
    this.log = opts.log ?? silentLogger;
  }

  path(digest: string): string {
    const m = DIGEST.exec(digest);
    if (!m) throw new BlobError(`not a sha256 digest: ${digest}`);
    return join(this.dir, "blobs", "sha256", m[1]!);
  }

  has(digest: string): boolean {
    return existsSync(this.path(digest));
  }

  /** The blob on disk, fetched from the first source that serves it when it is not there yet. Concurrent calls for one digest share one download. */
  ensure(digest: string, size: number, sources: BlobSource[]): Promise<void> {
    if (this.has(digest)) return Promise.resolve();
    let p = this.inFlight.get(digest);
    if (!p) {
      p = this.download(digest, size, sources).finally(() => this.inFlight.delete(digest));
      this.inFlight.set(digest, p);
    }
    return p;
  }

  private async download(digest: string, size: number, sources: BlobSource[]): Promise<void> {
    if (sources.length === 0) throw new Error(`blob ${digest}: no source`);
    const final = this.path(digest);
    const partial = `${final}.partial`;
    const attempts = this.opts.attempts ?? 5;
    // Mutated by each attempt as bytes land, so a broken attempt's progress is kept.
    const state = await resumeState(partial);
    let idle = 0;
    let lastError: Error | undefined;
    let i = 0;
    let done = false;
    while (!done && idle < attempts * sources.length) {
      const source = sources[i % sources.length]!;
      const before = state.offset;
      try {
        await this.fetchInto(partial, digest, size, source, state);
        done = true;
      } catch (e) {
        lastError = e as Error;
        if (e instanceof BlobError) throw e;
        // A source that sent something keeps its turn (it resumes); one that sent nothing yields to the next.
        if (state.offset > before) idle = 0;
        else {
          idle++;
          i++;
        }
        this.log.warn({ digest, source: source.name, offset: state.offset, err: lastError.message }, `blob download broke off at ${state.offset} of ${size} bytes; resuming`);
        await new Promise((r) => setTimeout(r, (this.opts.retryDelayMs ?? 200) * Math.min(Math.max(idle, 1), 10)));
      }
    }
    if (!done) throw new Error(`blob ${digest}: ${lastError?.message ?? "no source"}`);
    const got = `sha256:${state.hash.digest("hex")}`;
    if (got !== digest) {
      await rm(partial, { force: true });
      throw new BlobError(`blob ${digest}: content has digest ${got}`);
    }
    await rename(partial, final);
  }

  /** One GET from `state.offset` on, appended to the partial file; the state follows every byte written, however the stream ends. */
  private async fetchInto(partial: string, digest: string, size: number, source: BlobSource, state: PartialState): Promise<void> {
    const res = await source.fetch(digest, state.offset);
    if (state.offset > 0 && res.status === 200) {
      // The source ignored the Range: start over with what it sends.
      state.offset = 0;
      state.hash = createHash("sha256");
    }
    if (res.status === 206) {
      const from = /^bytes (\d+)-/.exec(res.headers.get("content-range") ?? "")?.[1];
      if (from !== undefined && Number(from) !== state.offset) {
        await res.body?.cancel();
        throw new Error(`${source.name} answered bytes ${from}- to a request for ${state.offset}-`);
      }
    }
    if (!res.body) throw new Error(`${source.name}: empty answer`);
    const file = await open(partial, state.offset === 0 ? "w" : "a");
    try {
      for await (const chunk of this.opts.limiter.throttle(res.body as AsyncIterable<Uint8Array>)) {
        if (state.offset + chunk.byteLength > size) {
          await rm(partial, { force: true });
          throw new BlobError(`blob ${digest}: ${source.name} sent more than the manifest's ${size} bytes`);
        }
        await file.write(chunk);
        state.hash.update(chunk);
        state.offset += chunk.byteLength;
        this.bytesFrom.set(source.name, (this.bytesFrom.get(source.name) ?? 0) + chunk.byteLength);
      }
    } finally {
      await file.close();
    }
    if (state.offset !== size) throw new Error(`${source.name} ended the blob at ${state.offset} of ${size} bytes`);
  }
}

interface PartialState {
  hash: Hash;
  offset: number;
}

/** The hash and length of a partial download left on disk (by a broken attempt or an earlier process). */
async function resumeState(partial: string): Promise<PartialState> {
  const hash = createHash("sha256");
  if (!existsSync(partial)) return { hash, offset: 0 };
  for await (const chunk of createReadStream(partial)) hash.update(chunk as Buffer);
  return { hash, offset: statSync(partial).size };
}
