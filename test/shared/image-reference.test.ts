import { expect, test } from "bun:test";
import { parseImageReference, registryOf } from "../../shared/image-reference.ts";

const DIGEST = "sha256:" + "ab".repeat(32);

test("splits registry, repository, tag and digest", () => {
  expect(parseImageReference("nginx")).toEqual({ domain: undefined, registry: "docker.io", repository: "nginx", tag: undefined, digest: undefined });
  expect(parseImageReference("library/nginx:1.27")).toMatchObject({ domain: undefined, repository: "library/nginx", tag: "1.27" });
  expect(parseImageReference("127.0.0.1:5000/app/web:1.2")).toEqual({ domain: "127.0.0.1:5000", registry: "127.0.0.1:5000", repository: "app/web", tag: "1.2", digest: undefined });
  expect(parseImageReference(`registry.example/app:1@${DIGEST}`)).toMatchObject({ domain: "registry.example", repository: "app", tag: "1", digest: DIGEST });
  expect(parseImageReference("localhost/app")).toMatchObject({ domain: "localhost", repository: "app", tag: undefined });
  // A port without a slash is a tag: `host:5000` is the image "host" tagged 5000, as Docker reads it.
  expect(parseImageReference("host:5000")).toMatchObject({ domain: undefined, repository: "host", tag: "5000" });
  expect(parseImageReference("Registry/app")).toMatchObject({ domain: "Registry", repository: "app" });
});

test("what Docker would refuse is not a reference", () => {
  for (const bad of ["", "Nginx", "app:", "app@sha256:abc", "a//b", "-app", `x/${"a".repeat(256)}`]) {
    expect(parseImageReference(bad)).toBeUndefined();
  }
});

test("registryOf: Docker Hub by default, Docker's host rule even for a reference that does not parse", () => {
  expect(registryOf("nginx")).toBe("docker.io");
  expect(registryOf("team/app")).toBe("docker.io");
  expect(registryOf("127.0.0.1:5000/x:1")).toBe("127.0.0.1:5000");
  expect(registryOf("registry.example.com/team/app@sha256:abc")).toBe("registry.example.com");
});
