import { afterAll, beforeAll, expect, test } from "bun:test";
import { ImagePlatforms } from "../../../control/scheduling/image-platforms.ts";
import { docker } from "../../helpers/docker.ts";
import { startSilentRegistry, startTestRegistry, type TestRegistry } from "../../helpers/registry.ts";
import { waitFor } from "../../helpers/wait.ts";

let registry: TestRegistry;
let ref: string;
let expected: "X86_64" | "ARM64";

beforeAll(async () => {
  registry = await startTestRegistry();
  ref = await registry.push("flotilla/busybox:test", "platforms/busybox:1");
  const localArch = await docker("image", "inspect", "--format", "{{.Architecture}}", "flotilla/busybox:test");
  expected = ({ amd64: "X86_64", arm64: "ARM64" } as const)[localArch as "amd64" | "arm64"];
  expect(expected).toBeDefined();
}, 60_000);
afterAll(async () => {
  await registry?.stop();
});

function counting(opts: { now?: () => number } = {}) {
  const calls = { n: 0 };
  const platforms = new ImagePlatforms({
    credentials: (host) => (host === registry.host ? { username: registry.username, password: registry.password } : undefined),
    fetch: ((...args: Parameters<typeof fetch>) => (calls.n++, fetch(...args))) as typeof fetch,
    // A real registry on a loaded machine may take longer than the default wait; these tests are
    // about answers and caching, the wait bound has its own test below.
    waitMs: 30_000,
    ...opts,
  });
  return { platforms, calls };
}

test("a single-arch image in a real registry restricts placement to that architecture, and the answer is cached", async () => {
  const { platforms, calls } = counting();
  expect(await platforms.check([ref])).toEqual({ cpuArchitecture: expected, unchecked: [] });
  const before = calls.n;
  expect(await platforms.check([ref, ref])).toEqual({ cpuArchitecture: expected, unchecked: [] });
  expect(calls.n).toBe(before);
});

test("prefetch asks ahead of need: the check after it finds the answer without asking again", async () => {
  const { platforms, calls } = counting();
  platforms.prefetch([ref, "nginx:latest"]);
  await waitFor("the prefetch to finish", () => calls.n >= 2); // manifest + config blob
  const n = calls.n;
  const result = await platforms.check([ref]);
  expect(result).toEqual({ cpuArchitecture: expected, unchecked: [] });
  expect(calls.n).toBe(n);
});

test("a stale answer keeps serving while it is refreshed in the background", async () => {
  let now = 1_000_000;
  const { platforms, calls } = counting({ now: () => now });
  expect((await platforms.check([ref])).cpuArchitecture).toBe(expected);
  const afterFirst = calls.n;
  now += 6 * 60_000; // past the 5-minute ttl
  expect(await platforms.check([ref])).toEqual({ cpuArchitecture: expected, unchecked: [] });
  await waitFor("the background refresh to reach the registry", () => calls.n > afterFirst);
});

test("an unknown tag is unchecked and says why; a registry wanting credentials and a Docker Hub name mean no restriction", async () => {
  // Without credentials the registry answers 401: as with Docker Hub, nothing to check.
  expect(await new ImagePlatforms({ waitMs: 30_000 }).check([ref])).toEqual({ cpuArchitecture: undefined, unchecked: [] });
  // Wrong credentials are a misconfiguration, said as such.
  const wrong = new ImagePlatforms({ waitMs: 30_000, credentials: () => ({ username: "nobody", password: "x" }) });
  expect((await wrong.check([ref])).unchecked).toEqual([{ image: ref, why: expect.stringContaining("answered 401") }]);
  const { platforms } = counting();
  const missing = `${registry.host}/platforms/busybox:missing`;
  expect((await platforms.check([missing])).unchecked).toEqual([{ image: missing, why: expect.stringContaining("answered 404") }]);
  expect(await platforms.check(["nginx:latest"])).toEqual({ cpuArchitecture: undefined, unchecked: [] });
  // One unchecked image leaves the task unconstrained, even when another image is known.
  expect(await platforms.check([ref, missing])).toMatchObject({ cpuArchitecture: undefined, unchecked: [{ image: missing }] });
});

test("a registry that never answers: check returns after the wait bound while the look-up is still open", async () => {
  const silent = startSilentRegistry();
  try {
    const image = `${silent.host}/app:1`;
    const platforms = new ImagePlatforms({ waitMs: 50, timeoutMs: 120_000 });
    const result = await platforms.check([image]);
    expect(result).toEqual({
      cpuArchitecture: undefined,
      unchecked: [{ image, why: `registry ${silent.host} did not answer within 50 ms (still asking)` }],
    });
    // The request is still waiting on the registry: check did not wait for it.
    await waitFor("the registry to have the look-up's connection", () => silent.open() === 1);
    // Asking again does not open a second request for the same image.
    expect((await platforms.check([image])).unchecked).toHaveLength(1);
    expect(silent.accepted()).toBe(1);
  } finally {
    silent.stop();
  }
});
