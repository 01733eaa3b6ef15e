import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadRegistryCredentials, registryAuthFrom, registryHost } from "../../../agent/runtime/registry-auth.ts";

const dir = mkdtempSync(join(tmpdir(), "flotilla-regauth-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("registryHost", () => {
  test("follows Docker's reference rules", () => {
    expect(registryHost("nginx")).toBe("docker.io");
    expect(registryHost("library/nginx:1")).toBe("docker.io");
    expect(registryHost("127.0.0.1:5000/flotilla/probe:1")).toBe("127.0.0.1:5000");
    expect(registryHost("localhost/x")).toBe("localhost");
    expect(registryHost("registry.example.com/team/app@sha256:abc")).toBe("registry.example.com");
  });
});

describe("registry credentials", () => {
  test("looks credentials up by the image's registry", () => {
    const lookup = registryAuthFrom({ "127.0.0.1:5000": { username: "u", password: "p" }, "index.docker.io": { username: "hub", password: "h" } });
    expect(lookup("127.0.0.1:5000/a:1")).toEqual({ username: "u", password: "p", serveraddress: "127.0.0.1:5000" });
    expect(lookup("nginx")?.username).toBe("hub");
    expect(lookup("other.example.com/a")).toBeUndefined();
  });

  test("a malformed file is one readable error naming the field", () => {
    const bad = join(dir, "bad.json");
    writeFileSync(bad, JSON.stringify({ "r.example.com": { username: "u" } }));
    expect(() => loadRegistryCredentials(bad)).toThrow(/r\.example\.com\.password/);
    const notJson = join(dir, "nojson.json");
    writeFileSync(notJson, "{");
    expect(() => loadRegistryCredentials(notJson)).toThrow(/cannot read registry credentials/);
    expect(() => loadRegistryCredentials(join(dir, "missing.json"))).toThrow(/cannot read/);
  });
});
