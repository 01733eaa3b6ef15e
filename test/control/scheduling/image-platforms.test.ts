import { afterAll, beforeAll, expect, test } from "bun:test";
import { ImagePlatforms, parseImageRef } from "../../../control/scheduling/image-platforms.ts";
import { docker } from "../../helpers/docker.ts";
import { startTestRegistry, type TestRegistry } from "../../helpers/registry.ts";

let registry: TestRegistry;
let ref: string;
let localArch: string;

beforeAll(async () => {
  registry = await startTestRegistry();
  ref = await registry.push("flotilla/busybox:test", "platforms/busybox:1");
  localArch = await docker("image", "inspect", "--format", "{{.Architecture}}", "flotilla/busybox:test");
}, 60_000);
afterAll(async () => {
  await registry?.stop();
});

test("image references: only names with an explicit registry host are looked up", () => {
  expect(parseImageRef("127.0.0.1:5000/app/web:1.2")).toEqual({ host: "127.0.0.1:5000", name: "app/web", reference: "1.2" });
  expect(parseImageRef("registry.example/app@sha256:abc")).toEqual({ host: "registry.example", name: "app", reference: "sha256:abc" });
  expect(parseImageRef("localhost/app")).toEqual({ host: "localhost", name: "app", reference: "latest" });
  expect(parseImageRef("nginx:latest")).toBeUndefined();
  expect(parseImageRef("library/nginx")).toBeUndefined();
});

test("a single-arch image in a real registry restricts placement to that architecture", async () => {
  let calls = 0;
  const platforms = new ImagePlatforms({
    credentials: (host) => (host === registry.host ? { username: registry.username, password: registry.password } : undefined),
    fetch: ((...args: Parameters<typeof fetch>) => (calls++, fetch(...args))) as typeof fetch,
  });
  const expected = { amd64: "X86_64", arm64: "ARM64" }[localArch];
  expect(expected).toBeDefined();
  expect(await platforms.cpuArchitectureFor([ref])).toBe(expected as "X86_64" | "ARM64");
  // Answers are cached: the second placement asks the registry nothing.
  const before = calls;
  expect(await platforms.architectures(ref)).toEqual(new Set([expected as "X86_64" | "ARM64"]));
  expect(calls).toBe(before);
});

test("no credentials, an unknown tag or a Docker Hub name mean no restriction", async () => {
  const anonymous = new ImagePlatforms();
  expect(await anonymous.cpuArchitectureFor([ref])).toBeUndefined(); // the registry answers 401
  const withCreds = new ImagePlatforms({ credentials: () => ({ username: registry.username, password: registry.password }) });
  expect(await withCreds.cpuArchitectureFor([`${registry.host}/platforms/busybox:missing`])).toBeUndefined();
  expect(await withCreds.cpuArchitectureFor(["nginx:latest"])).toBeUndefined();
});
