import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startTestControl, TEST_TOKEN, type TestControl } from "../helpers/control.ts";
import { WEBSERVER } from "../helpers/fixtures.ts";
import { cli } from "./run-cli.ts";

let tc: TestControl;
let env: Record<string, string>;
const dir = mkdtempSync(join(tmpdir(), "flotilla-cli-"));

beforeAll(async () => {
  tc = await startTestControl();
  env = { FLOTILLA_API_URL: tc.control.httpUrl, FLOTILLA_TOKEN: TEST_TOKEN };
});
afterAll(async () => {
  await tc.stop();
});

describe("flotilla CLI against a real control service", () => {
  test("clusters create, list (table and json), describe, delete", async () => {
    const created = await cli(["clusters", "create", "cli-a"], env);
    expect(created.code).toBe(0);
    expect(created.stdout).toContain("cluster cli-a ACTIVE");

    const table = await cli(["clusters", "list"], env);
    expect(table.code).toBe(0);
    expect(table.stdout.split("\n")[0]).toMatch(/^NAME\s+STATUS\s+INSTANCES\s+RUNNING\s+PENDING$/);
    expect(table.stdout).toMatch(/cli-a\s+ACTIVE\s+0\s+0\s+0/);

    const json = await cli(["clusters", "list", "--output", "json"], env);
    expect(json.code).toBe(0);
    expect(json.json().clusters.map((c: any) => c.clusterName)).toContain("cli-a");

    const desc = await cli(["clusters", "describe", "cli-a", "-o", "json"], env);
    expect(desc.json().cluster.clusterArn).toContain("cluster/cli-a");

    const del = await cli(["clusters", "delete", "cli-a"], env);
    expect(del.code).toBe(0);
    expect(del.stdout).toContain("INACTIVE");
  });

  test("API errors are one line on stderr with the API's message and exit 1", async () => {
    const r = await cli(["clusters", "describe", "no-such-cluster"], env);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/^flotilla: \S+: .*no-such-cluster/);
  });

  test("validation errors carry the field paths", async () => {
    await cli(["clusters", "create", "cli-v"], env);
    const file = join(dir, "bad.json");
    writeFileSync(file, JSON.stringify({ family: "bad", containerDefinitions: [{ name: "x", memory: -5 }] }));
    const r = await cli(["task-definitions", "register", "-f", file], env);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain("containerDefinitions[0].memory");
  });

  test("a wrong token is an API error; a missing server is a connection error", async () => {
    const bad = await cli(["clusters", "list"], { ...env, FLOTILLA_TOKEN: "nope" });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("UnauthorizedException");
    const down = await cli(["clusters", "list", "--api", "http://127.0.0.1:1"], env);
    expect(down.code).toBe(1);
    expect(down.stderr).toContain("cannot reach the API at http://127.0.0.1:1");
  });

  test("bad flags and arguments exit 2 with one line", async () => {
    for (const args of [
      ["clusters", "list", "--bogus"],
      ["clusters", "describe"],
      ["nonsense"],
      ["clusters", "frobnicate"],
      ["tasks", "run", "web", "--count", "11"],
      ["clusters", "list", "--output", "xml"],
      ["task-definitions", "register"],
      ["attributes", "put", "site=x"],
    ]) {
      const r = await cli(args, env);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toStartWith("flotilla: ");
    }
  });

  test("--help works at every level", async () => {
    const top = await cli(["--help"]);
    expect(top.code).toBe(0);
    expect(top.stdout).toContain("services");
    const res = await cli(["tasks", "--help"]);
    expect(res.stdout).toContain("logs");
    for (const [r, v] of [["clusters", "create"], ["tasks", "logs"], ["services", "wait-stable"], ["instances", "drain"], ["attributes", "put"]]) {
      const h = await cli([r!, v!, "--help"]);
      expect(h.code).toBe(0);
      expect(h.stdout).toStartWith(`Usage: flotilla ${r} ${v}`);
    }
  });

  test("settings come from the config file when flags and env are absent", async () => {
    const cfg = join(dir, "config.json");
    writeFileSync(cfg, JSON.stringify({ api: tc.control.httpUrl, token: TEST_TOKEN, cluster: "from-config" }));
    await cli(["clusters", "create", "from-config"], env);
    const r = await cli(["activations", "create", "-o", "json"], { FLOTILLA_CONFIG: cfg });
    expect(r.code).toBe(0);
    expect(r.json().activationCode).toBeString();
    writeFileSync(cfg, "{not json");
    const broken = await cli(["clusters", "list"], { FLOTILLA_CONFIG: cfg });
    expect(broken.code).toBe(2);
    expect(broken.stderr).toContain("is not valid JSON");
  });

  test("task definitions: register from a file, list, describe, deregister", async () => {
    const file = join(dir, "web.json");
    writeFileSync(file, JSON.stringify({ ...WEBSERVER, family: "cli-web" }));
    const reg = await cli(["task-definitions", "register", "-f", file, "-o", "json"], env);
    expect(reg.code).toBe(0);
    expect(reg.json().taskDefinition.revision).toBe(1);
    const list = await cli(["task-definitions", "list", "--family-prefix", "cli-"], env);
    expect(list.stdout).toContain("task-definition/cli-web:1");
    const desc = await cli(["task-definitions", "describe", "cli-web"], env);
    expect(desc.stdout).toMatch(/Revision:\s+1/);
    const dereg = await cli(["task-definitions", "deregister", "cli-web:1"], env);
    expect(dereg.code).toBe(0);
    expect(dereg.stdout).toContain("INACTIVE");
  });

  test("instance status changes and deregistration print the API's answer", async () => {
    await cli(["clusters", "create", "cli-i"], env);
    for (const verb of ["drain", "activate", "deregister"]) {
      const r = await cli(["instances", verb, "no-such-instance", "-c", "cli-i"], env);
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toStartWith("flotilla: ");
    }
  });
});
