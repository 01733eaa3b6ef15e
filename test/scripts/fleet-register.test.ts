import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { attributeMap } from "../../shared/instance-resources.ts";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startTestControl, TEST_TOKEN, type TestControl } from "../helpers/control.ts";
import { docker, removeInstanceContainers } from "../helpers/docker.ts";
import { waitFor } from "../helpers/wait.ts";
import { buildAgentInto, DEBIAN_IMAGE, ensureDebianImage, ROOT, run } from "./support.ts";
import { freePort } from "../../scripts/bench/lib/free-port.ts";

/**
 * scripts/fleet-register against three SSH hosts on this machine: containers from the clean Debian
 * image running sshd on distinct 127.0.0.1 ports (host network, host Docker socket). The third
 * host is unreachable on the first run (nothing listens on its port); the re-run finishes only it.
 */
let tc: TestControl;
const dir = mkdtempSync(join(tmpdir(), "flotilla-fleet-"));
const containers: string[] = [];
const prevDist = process.env.FLOTILLA_DIST_DIR;
let ports: number[] = [];

async function startSshHost(port: number) {
  const name = `flotilla-fleet-${process.pid}-${port}`;
  containers.push(name);
  await docker("run", "-d", "--rm", "--name", name, "--network", "host",
    "-v", "/var/run/docker.sock:/var/run/docker.sock",
    "-v", `${join(dir, "key.pub")}:/root/.ssh/authorized_keys:ro`,
    DEBIAN_IMAGE, "bash", "-c", `ssh-keygen -A >/dev/null && exec /usr/sbin/sshd -D -e -p ${port} -o ListenAddress=127.0.0.1`);
  await waitFor(`sshd on ${port} to answer`, async () => (await run(["docker", "logs", name])).stderr.includes("Server listening"), { timeoutMs: 30_000 });
}

const register = (extra: string[] = []) =>
  run([join(ROOT, "scripts/fleet-register"), "-i", join(dir, "hosts.csv"), "-c", "fleet", "--mqtt", tc.control.mqttUrl,
    "--docker-install-source", "none", "--image-pull-behavior", "prefer-cached", "--connect-timeout", "3", "--concurrency", "2", ...extra], {
    env: { FLOTILLA_API_URL: tc.control.httpUrl, FLOTILLA_TOKEN: TEST_TOKEN, FLOTILLA_CONFIG: "/nonexistent" },
  });

beforeAll(async () => {
  await ensureDebianImage();
  process.env.FLOTILLA_DIST_DIR = await buildAgentInto("x64");
  tc = await startTestControl();
  await tc.api("POST", "/v1/clusters", { clusterName: "fleet" });
  const kg = await run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", join(dir, "key")]);
  if (kg.code !== 0) throw new Error(`ssh-keygen failed: ${kg.stderr}`);
  ports = [await freePort(), await freePort(), await freePort()];
  writeFileSync(join(dir, "hosts.csv"), ["host,user,port,key,attributes", ...ports.map((p, i) => `127.0.0.1,root,${p},key,rack=r${i};site=lab`)].join("\n") + "\n");
  await Promise.all([startSshHost(ports[0]!), startSshHost(ports[1]!)]);
}, 240_000);

afterAll(async () => {
  const list = ((await tc?.api("GET", "/v1/clusters/fleet/container-instances"))?.body.containerInstances ?? []) as any[];
  for (const c of containers) await run(["docker", "rm", "-f", c]);
  for (const i of list) await removeInstanceContainers(i.containerInstanceId);
  await tc?.stop();
  if (prevDist === undefined) delete process.env.FLOTILLA_DIST_DIR;
  else process.env.FLOTILLA_DIST_DIR = prevDist;
});

const instances = async () => ((await tc.api("GET", "/v1/clusters/fleet/container-instances")).body.containerInstances as any[]);

describe("scripts/fleet-register", () => {
  test("registers the reachable hosts in parallel, reports the unreachable one and exits 1", async () => {
    const r = await register();
    expect(r.code).toBe(1);
    const [header, ...rows] = r.stdout.trim().split("\n");
    expect(header).toMatch(/^HOST\s+INSTANCE ID\s+STATUS\s+ERROR$/);
    expect(rows[0]).toMatch(new RegExp(`^root@127\\.0\\.0\\.1:${ports[0]}\\s+[0-9a-f]{32}\\s+registered\\s+-$`));
    expect(rows[1]).toMatch(new RegExp(`^root@127\\.0\\.0\\.1:${ports[1]}\\s+[0-9a-f]{32}\\s+registered\\s+-$`));
    expect(rows[2]).toMatch(new RegExp(`^root@127\\.0\\.0\\.1:${ports[2]}\\s+-\\s+failed\\s+ssh: connect to host 127\\.0\\.0\\.1 port ${ports[2]}: Connection refused$`));
    expect(r.stderr).toContain("for 3 host(s)");
    expect(r.stderr).toContain(`[root@127.0.0.1:${ports[0]}] registered as`);
    expect(r.stderr).toContain("1 of 3 host(s) failed");

    const connected = await waitFor("two fleet instances connected", async () => {
      const l = await instances();
      return l.filter((i) => i.agentConnected).length === 2 ? l : undefined;
    });
    expect(connected.map((i) => attributeMap(i.attributes).rack).sort()).toEqual(["r0", "r1"]);
    const state = JSON.parse(readFileSync(join(dir, "hosts.csv.state.json"), "utf8"));
    expect(state.hosts[`root@127.0.0.1:${ports[2]}`].status).toBe("failed");
  }, 120_000);

  test("a re-run installs only on the host that failed, with an activation sized to it", async () => {
    await startSshHost(ports[2]!);
    const r = await register(["-o", "json"]);
    expect(r.stderr).toContain("for 1 host(s) (2 already registered)");
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary.hosts.map((h: any) => h.status)).toEqual(["registered (earlier run)", "registered (earlier run)", "registered"]);
    const l = await waitFor("three fleet instances connected", async () => {
      const all = await instances();
      return all.filter((i) => i.agentConnected).length === 3 ? all : undefined;
    });
    expect(l).toHaveLength(3);
    expect(new Set(summary.hosts.map((h: any) => h.instanceId))).toEqual(new Set(l.map((i) => i.containerInstanceId)));

    const again = await register();
    expect(again.code).toBe(0);
    expect(again.stderr).toContain("all 3 host(s) already registered");
  }, 120_000);

  test("bad input exits 2 with one line", async () => {
    writeFileSync(join(dir, "bad.yaml"), "- host: a\n  port: nope\n");
    const r = await run([join(ROOT, "scripts/fleet-register"), "-i", join(dir, "bad.yaml"), "-c", "fleet"], { env: { FLOTILLA_CONFIG: "/nonexistent" } });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain("bad.yaml: [0].port:");
  });
});
