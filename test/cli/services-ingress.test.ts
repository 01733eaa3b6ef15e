import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startTestControl, TEST_TOKEN, type TestControl } from "../helpers/control.ts";
import { cli } from "./run-cli.ts";

/**
 * `flotilla services create/update --ingress --discovery-name --dns-alias` (and the same through
 * `-f`), and `services describe` showing the ingress ports and DNS names: the real CLI as a
 * subprocess against a real control service over HTTP.
 */
const C = "cli-ing";
let tc: TestControl;
let env: Record<string, string>;
let dir: string;

beforeAll(async () => {
  tc = await startTestControl();
  env = { FLOTILLA_API_URL: tc.control.httpUrl, FLOTILLA_TOKEN: TEST_TOKEN, FLOTILLA_CLUSTER: C };
  await tc.api("POST", "/v1/clusters", { clusterName: C });
  const td = await tc.api("POST", "/v1/task-definitions", {
    family: "web",
    containerDefinitions: [{ name: "web", image: "busybox", memory: 16, portMappings: [{ containerPort: 80, name: "http" }, { containerPort: 9090 }] }],
  });
  expect(td.status).toBe(201);
  dir = mkdtempSync(join(tmpdir(), "flotilla-cli-ingress-"));
});
afterAll(async () => {
  await tc.stop();
  rmSync(dir, { recursive: true, force: true });
});

test("services create --ingress --dns-alias; describe shows the ports and DNS names; update changes and clears them", async () => {
  const created = await cli(["services", "create", "web", "--task-definition", "web", "--desired-count", "0", "--ingress", "8080:80", "--ingress", "9091:9090", "--dns-alias", "www"], env);
  expect(created.stderr).toBe("");
  expect(created.code).toBe(0);
  expect(created.stdout).toContain("created service web (ACTIVE)");
  expect(created.stdout).toContain(`DNS name: web.${C}.flotilla`);

  const described = await cli(["services", "describe", "web"], env);
  expect(described.code).toBe(0);
  expect(described.stdout).toMatch(new RegExp(`DNS name:\\s+web\\.${C}\\.flotilla\\n`));
  expect(described.stdout).toMatch(new RegExp(`Aliases:\\s+www\\.${C}\\.flotilla`));
  expect(described.stdout).toMatch(new RegExp(`SRV:\\s+_http\\._tcp\\.web\\.${C}\\.flotilla`));
  expect(described.stdout).toMatch(/INGRESS PORT\s+CONTAINER PORT\s+PROTOCOL\n8080\s+80\s+tcp\n9091\s+9090\s+tcp/);

  const renamed = await cli(["services", "update", "web", "--discovery-name", "front", "--ingress", "8081:80", "-o", "json"], env);
  expect(renamed.code).toBe(0);
  const svc = renamed.json().service;
  expect(svc.ingress).toEqual([{ containerPort: 80, listenPort: 8081, protocol: "tcp" }]);
  // The alias given at create stays: no flag named it.
  expect(svc.discovery).toMatchObject({ dnsName: `front.${C}.flotilla`, chosen: true, aliases: [`www.${C}.flotilla`] });

  const cleared = await cli(["services", "update", "web", "--no-ingress", "--no-discovery-name", "--no-dns-aliases"], env);
  expect(cleared.code).toBe(0);
  const after = (await tc.api("GET", `/v1/clusters/${C}/services/web`)).body.service;
  expect(after.ingress).toBeUndefined();
  expect(after.discovery).toMatchObject({ dnsName: `web.${C}.flotilla`, aliases: [] });
  expect((await cli(["services", "describe", "web"], env)).stdout).not.toContain("INGRESS PORT");
});

test("the JSON input file takes ingress, discovery and ECS's serviceConnectConfiguration; bad input is a non-zero exit with one line naming the field", async () => {
  const file = join(dir, "svc.json");
  writeFileSync(file, JSON.stringify({ taskDefinition: "web", desiredCount: 0, serviceConnectConfiguration: { enabled: true, services: [{ portName: "http", discoveryName: "shop", clientAliases: [{ port: 7070 }] }] } }));
  const created = await cli(["services", "create", "shop-svc", "-f", file], env);
  expect(created.code).toBe(0);
  expect(created.stdout).toContain(`DNS name: shop.${C}.flotilla (chosen)`);
  expect(created.stdout).toMatch(/7070\s+80\s+tcp/);

  const badFlag = await cli(["services", "create", "x", "--task-definition", "web", "--desired-count", "0", "--ingress", "8080"], env);
  expect(badFlag.code).not.toBe(0);
  expect(badFlag.stderr.trim().split("\n")).toHaveLength(1);
  expect(badFlag.stderr).toContain("--ingress must be LISTEN:CONTAINER");

  const taken = await cli(["services", "create", "x", "--task-definition", "web", "--desired-count", "0", "--ingress", "7070:80"], env);
  expect(taken.code).not.toBe(0);
  expect(taken.stderr.trim().split("\n")).toHaveLength(1);
  expect(taken.stderr).toContain('ingress[0].listenPort: port 7070 is already the ingress of service "shop-svc"');

  const badName = await cli(["services", "update", "shop-svc", "--dns-alias", "not_a_label!"], env);
  expect(badName.code).not.toBe(0);
  expect(badName.stderr).toContain("discovery.aliases[0]");
  expect((await tc.api("GET", `/v1/clusters/${C}/services/x`)).status).toBe(404);
});
