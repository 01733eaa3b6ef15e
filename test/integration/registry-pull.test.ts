import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DockerRuntime } from "../../agent/runtime/docker.ts";
import { BlobCache } from "../../agent/runtime/registry/blob-cache.ts";
import { ByteRateLimiter } from "../../agent/runtime/registry/byte-rate-limiter.ts";
import { RegistryPuller } from "../../agent/runtime/registry/registry-pull.ts";
import { startCuttingProxy, type CuttingProxy } from "../helpers/cutting-proxy.ts";
import { docker } from "../helpers/docker.ts";
import { startTestRegistry, type TestRegistry } from "../helpers/registry.ts";

/**
 * The agent's own pulls against Debian's docker-registry and the real Docker engine: a capped pull
 * (the limiter's own accounting shows no byte came faster than the cap), and a pull whose
 * connection is cut midway resuming with a Range request for the rest only (bytes counted by a
 * TCP proxy standing in for the link). The loaded image is the registry's: its id is the config
 * digest, and the agent records the repo digest.
 */
let registry: TestRegistry;
let proxy: CuttingProxy;
let ref: string;
const dir = mkdtempSync(join(tmpdir(), "flotilla-registry-pull-"));
const LAYER = 2_000_000;
const loaded: string[] = [];
const runtime = new DockerRuntime();

beforeAll(async () => {
  registry = await startTestRegistry();
  const local = `flotilla/registry-pull:${Date.now()}-${randomBytes(3).toString("hex")}`;
  const build = Bun.spawn(["docker", "build", "--no-cache", "-q", "-t", local, "-"], {
    stdin: new TextEncoder().encode(`FROM flotilla/busybox:test\nRUN head -c ${LAYER} /dev/urandom > /blob\n`),
    stdout: "pipe",
    stderr: "pipe",
  });
  expect(await build.exited).toBe(0);
  await registry.push(local, `flotilla/registry-pull:1`);
  await docker("rmi", local);
  proxy = startCuttingProxy(registry.host);
  // Pulled through the proxy, so every byte crosses it.
  ref = `${proxy.host}/flotilla/registry-pull:1`;
}, 90_000);

afterAll(async () => {
  for (const r of loaded) await docker("rmi", "-f", r).catch(() => undefined);
  proxy?.stop();
  await registry?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function puller(name: string, limiter: ByteRateLimiter) {
  const cache = new BlobCache(join(dir, name), { limiter, retryDelayMs: 50 });
  return { cache, puller: new RegistryPuller({ cache, limiter, load: (a) => runtime.loadImageStream(a) }) };
}
const creds = () => ({ username: registry.username, password: registry.password });

describe("pulls made by the agent's registry client", () => {
  test("a capped pull: every byte went through the limiter, and none faster than the cap", async () => {
    const rate = 1_000_000;
    const limiter = new ByteRateLimiter(rate);
    const { cache, puller: p } = puller("capped", limiter);
    const before = proxy.bytesDown();
    const pulled = await p.pull(ref, creds());
    loaded.push(ref);
    const elapsed = (performance.now() - limiter.firstTakeAt!) / 1000;
    const blobBytes = [...cache.bytesFrom.values()].reduce((a, b) => a + b, 0);
    // The random layer compresses to nothing: it is all on the wire.
    expect(blobBytes).toBeGreaterThan(LAYER);
    expect(limiter.granted).toBe(blobBytes);
    expect(proxy.bytesDown() - before).toBeGreaterThanOrEqual(blobBytes);
    // A lower bound the limiter guarantees (its bucket starts empty and holds a quarter second).
    expect(elapsed).toBeGreaterThanOrEqual((limiter.granted - limiter.burst) / rate);
    // Docker has it under its reference, and it is the registry's image: the id is the config digest.
    const id = (await docker("image", "inspect", "--format", "{{.Id}}", ref)).trim();
    expect(id).toBe(pulled.blobs[0]!);
    expect(pulled.repoDigest).toMatch(new RegExp(`^${proxy.host.replace(/\./g, "\\.")}/flotilla/registry-pull@sha256:[0-9a-f]{64}$`));
    expect(JSON.parse(readFileSync(join(cache.dir, "images.json"), "utf8"))[ref].repoDigest).toBe(pulled.repoDigest);
  }, 60_000);

  test("a connection cut midway: the second attempt asks only for the rest (Range), and the image loads", async () => {
    await docker("rmi", "-f", ref).catch(() => undefined);
    const limiter = new ByteRateLimiter(4_000_000);
    const { cache, puller: p } = puller("resumed", limiter);
    const rangesBefore = proxy.blobRanges().length;
    const before = proxy.bytesDown();
    // Past the manifest and config, inside the big layer.
    proxy.cutAfter(800_000);
    const pulled = await p.pull(ref, creds());
    const ranges = proxy.blobRanges().slice(rangesBefore);
    const resumed = ranges.filter((r) => r !== undefined);
    expect(resumed).toHaveLength(1);
    const from = Number(/^bytes=(\d+)-$/.exec(resumed[0]!)?.[1]);
    expect(from).toBeGreaterThan(0);
    const blobBytes = [...cache.bytesFrom.values()].reduce((a, b) => a + b, 0);
    expect(from).toBeLessThanOrEqual(800_000);
    // The part before the cut was not fetched again: what crossed the link is the blobs once, plus
    // what was in flight (socket buffers the client had not read yet when the link died) and the
    // manifests. A pull starting over would add the whole 800 kB again.
    expect(proxy.bytesDown() - before).toBeLessThan(blobBytes + 300_000);
    expect((await docker("image", "inspect", "--format", "{{.Id}}", ref)).trim()).toBe(pulled.blobs[0]!);
  }, 60_000);
});
