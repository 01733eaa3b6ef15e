import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BlobCache, BlobError, type BlobSource } from "../../../../agent/runtime/registry/blob-cache.ts";
import { ByteRateLimiter } from "../../../../agent/runtime/registry/byte-rate-limiter.ts";
import { choosePlatform, DistributionClient, registryLocation } from "../../../../agent/runtime/registry/distribution-client.ts";

const sha = (b: Uint8Array | string) => `sha256:${createHash("sha256").update(b).digest("hex")}`;
const layer = new Uint8Array(50_000).map((_, i) => i % 251);
const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] } }));
const manifest = Buffer.from(
  JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config: { digest: sha(config), size: config.length }, layers: [{ digest: sha(layer), size: layer.length }] }),
);
const index = Buffer.from(
  JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.index.v1+json",
    manifests: [
      { digest: "sha256:" + "a".repeat(64), size: 1, platform: { os: "linux", architecture: "arm64", variant: "v8" } },
      { digest: sha(manifest), size: manifest.length, platform: { os: "linux", architecture: "amd64" } },
    ],
  }),
);

/** A registry with token auth: /v2 answers 401 Bearer until given the token the realm hands out for the right basic credentials. */
let server: ReturnType<typeof Bun.serve>;
const seen: { path: string; range: string | null; auth: string | null }[] = [];
let host: string;
beforeAll(() => {
  server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      const url = new URL(req.url);
      seen.push({ path: url.pathname, range: req.headers.get("range"), auth: req.headers.get("authorization") });
      if (url.pathname === "/token") {
        const ok = req.headers.get("authorization") === `Basic ${Buffer.from("u:p").toString("base64")}` && url.searchParams.get("scope") === "repository:team/app:pull" && url.searchParams.get("service") === "test-registry";
        return ok ? Response.json({ token: "tok-1" }) : new Response("no", { status: 401 });
      }
      if (req.headers.get("authorization") !== "Bearer tok-1") {
        return new Response(JSON.stringify({ errors: [{ code: "UNAUTHORIZED", message: "authentication required" }] }), {
          status: 401,
          headers: { "www-authenticate": `Bearer realm="http://${url.host}/token",service="test-registry",scope="repository:team/app:pull"` },
        });
      }
      if (url.pathname === "/v2/team/app/manifests/1") return new Response(index, { headers: { "content-type": "application/vnd.oci.image.index.v1+json" } });
      if (url.pathname === "/v2/team/app/manifests/bad") return new Response(index, { headers: { "content-type": "application/vnd.oci.image.index.v1+json" } });
      if (url.pathname === `/v2/team/app/manifests/${sha(manifest)}`) return new Response(manifest, { headers: { "content-type": "application/vnd.oci.image.manifest.v1+json" } });
      if (url.pathname === `/v2/team/app/blobs/${sha(layer)}`) {
        const from = Number(/^bytes=(\d+)-$/.exec(req.headers.get("range") ?? "")?.[1] ?? 0);
        return new Response(layer.subarray(from), { status: from ? 206 : 200, headers: from ? { "content-range": `bytes ${from}-${layer.length - 1}/${layer.length}` } : {} });
      }
      return new Response(JSON.stringify({ errors: [{ code: "MANIFEST_UNKNOWN", message: "manifest unknown" }] }), { status: 404 });
    },
  });
  host = `127.0.0.1:${server.port}`;
});
afterAll(() => server.stop(true));

describe("DistributionClient", () => {
  test("references: Docker Hub names get registry-1 and library/; a digest is the reference", () => {
    expect(registryLocation("nginx")).toEqual({ host: "registry-1.docker.io", repository: "library/nginx", reference: "latest" });
    expect(registryLocation("127.0.0.1:5000/team/app:2")).toEqual({ host: "127.0.0.1:5000", repository: "team/app", reference: "2" });
    expect(registryLocation(`r.example/app@${sha("x")}`)?.reference).toBe(sha("x"));
    expect(registryLocation("Not A Ref")).toBeUndefined();
  });

  test("Bearer challenge answered with a token for the basic credentials; the index resolved to the host's platform", async () => {
    seen.length = 0;
    const c = new DistributionClient({ host, repository: "team/app", reference: "1" }, { credentials: { username: "u", password: "p" } });
    const r = await c.resolve({ os: "linux", architecture: "amd64" });
    expect(r.digest).toBe(sha(manifest));
    expect(r.manifest.layers).toEqual([{ digest: sha(layer), size: layer.length }]);
    expect(seen.map((s) => s.path)).toEqual(["/v2/team/app/manifests/1", "/token", "/v2/team/app/manifests/1", `/v2/team/app/manifests/${sha(manifest)}`]);
  });

  test("wrong credentials: the token request's refusal is the error", async () => {
    const c = new DistributionClient({ host, repository: "team/app", reference: "1" }, { credentials: { username: "u", password: "nope" } });
    await expect(c.resolve({ os: "linux", architecture: "amd64" })).rejects.toThrow(/token from .*: 401/);
  });

  test("no manifest for the platform; an unknown tag carries the registry's error", async () => {
    const c = new DistributionClient({ host, repository: "team/app", reference: "1" }, { credentials: { username: "u", password: "p" } });
    await expect(c.resolve({ os: "linux", architecture: "s390x" })).rejects.toThrow(/no manifest for linux\/s390x/);
    const missing = new DistributionClient({ host, repository: "team/app", reference: "missing" }, { credentials: { username: "u", password: "p" } });
    await expect(missing.resolve({ os: "linux", architecture: "amd64" })).rejects.toThrow(/404 MANIFEST_UNKNOWN: manifest unknown/);
  });

  test("choosePlatform prefers the variant named", () => {
    const ms = [
      { digest: "a", size: 1, platform: { os: "linux", architecture: "arm", variant: "v6" } },
      { digest: "b", size: 1, platform: { os: "linux", architecture: "arm", variant: "v7" } },
    ];
    expect(choosePlatform(ms, { os: "linux", architecture: "arm", variant: "v7" })?.digest).toBe("b");
    expect(choosePlatform(ms, { os: "linux", architecture: "amd64" })).toBeUndefined();
  });
});

describe("BlobCache", () => {
  const dir = mkdtempSync(join(tmpdir(), "flotilla-blobs-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("a source that breaks off midway: the next attempt asks only for the rest (Range), and the whole is verified", async () => {
    const c = new DistributionClient({ host, repository: "team/app", reference: "1" }, { credentials: { username: "u", password: "p" } });
    let calls = 0;
    const offsets: number[] = [];
    // The first answer stops after 20,000 bytes, as a dropped connection would.
    const source: BlobSource = {
      name: "registry",
      async fetch(digest, offset) {
        offsets.push(offset);
        const res = await c.blob(digest, offset);
        if (calls++ > 0) return res;
        const reader = res.body!.getReader();
        let sent = 0;
        const body = new ReadableStream<Uint8Array>({
          async pull(ctl) {
            const { value, done } = await reader.read();
            if (done) return ctl.close();
            const room = 20_000 - sent;
            if (room <= 0) return ctl.error(new Error("connection reset"));
            ctl.enqueue(value.subarray(0, room));
            sent += Math.min(room, value.byteLength);
          },
        });
        return new Response(body, { status: res.status });
      },
    };
    seen.length = 0;
    const cache = new BlobCache(dir, { limiter: new ByteRateLimiter(), retryDelayMs: 1 });
    await cache.ensure(sha(layer), layer.length, [source]);
    expect(offsets).toEqual([0, 20_000]);
    // (The first GET met the auth challenge; the ones with the token are what the registry served.)
    expect(seen.filter((s) => s.path.includes("/blobs/") && s.auth).map((s) => s.range)).toEqual([null, "bytes=20000-"]);
    expect(new Uint8Array(readFileSync(cache.path(sha(layer))))).toEqual(layer);
    expect(cache.bytesFrom.get("registry")).toBe(layer.length);
    // Cached now: no source is asked again.
    await cache.ensure(sha(layer), layer.length, []);
  });

  test("a partial file left by an earlier process is resumed from its length, and the whole is verified", async () => {
    const where = join(dir, "restarted");
    const first = new BlobCache(where, { limiter: new ByteRateLimiter(), retryDelayMs: 1 });
    writeFileSync(`${first.path(sha(layer))}.partial`, layer.subarray(0, 12_345));
    const offsets: number[] = [];
    const source: BlobSource = {
      name: "registry",
      fetch: async (_d, offset) => {
        offsets.push(offset);
        return new Response(layer.subarray(offset), { status: offset ? 206 : 200, headers: { "content-range": `bytes ${offset}-${layer.length - 1}/${layer.length}` } });
      },
    };
    const restarted = new BlobCache(where, { limiter: new ByteRateLimiter(), retryDelayMs: 1 });
    await restarted.ensure(sha(layer), layer.length, [source]);
    expect(offsets).toEqual([12_345]);
    expect(restarted.bytesFrom.get("registry")).toBe(layer.length - 12_345);
    expect(new Uint8Array(readFileSync(restarted.path(sha(layer))))).toEqual(layer);
  });

  test("content whose digest is not the manifest's is refused and not kept", async () => {
    const cache = new BlobCache(join(dir, "other"), { limiter: new ByteRateLimiter(), retryDelayMs: 1 });
    const wrong = sha("something else");
    const liar: BlobSource = { name: "peer", fetch: async () => new Response(layer) };
    await expect(cache.ensure(wrong, layer.length, [liar])).rejects.toBeInstanceOf(BlobError);
    expect(existsSync(cache.path(wrong))).toBe(false);
    expect(existsSync(`${cache.path(wrong)}.partial`)).toBe(false);
  });

  test("a source that fails gives way to the next one", async () => {
    const cache = new BlobCache(join(dir, "third"), { limiter: new ByteRateLimiter(), retryDelayMs: 1 });
    const down: BlobSource = { name: "peer", fetch: async () => { throw new Error("ECONNREFUSED"); } };
    const up: BlobSource = { name: "registry", fetch: async () => new Response(layer) };
    await cache.ensure(sha(layer), layer.length, [down, up]);
    expect(cache.bytesFrom.get("registry")).toBe(layer.length);
    expect(cache.bytesFrom.get("peer")).toBeUndefined();
  });
});
