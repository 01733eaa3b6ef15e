import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { attributeMap } from "../../shared/instance-resources.ts";
import { join } from "node:path";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { CreateActivationCommand, SSMClient } from "@aws-sdk/client-ssm";
import { startTestControl, TEST_TOKEN, type TestControl } from "../helpers/control.ts";
import { docker, removeInstanceContainers, runningWithLabel } from "../helpers/docker.ts";
import { activation, waitTaskStatus } from "../helpers/fleet.ts";
import { waitFor } from "../helpers/wait.ts";
import { buildAgentInto, DEBIAN_IMAGE, ensureDebianImage, ROOT, run } from "./support.ts";

/**
 * install-agent.sh on a clean Debian root filesystem (debootstrap) run as a container with the
 * host's Docker socket and network: the agent it installs registers with a real control service
 * on 127.0.0.1 and runs a task in the host's engine. No systemd there, so the supervisor path runs.
 */
let tc: TestControl;
const host = `flotilla-install-test-${process.pid}`;
const prevDist = process.env.FLOTILLA_DIST_DIR;
const SCRIPT = "/install-agent.sh";
let act: { activationId: string; activationCode: string };
let instanceId = "";
/** Every instance the file registered: a later test registers another, and each may leave a task's container. */
const registered: string[] = [];

const exec = (args: string[], opts: { user?: string; env?: Record<string, string> } = {}) =>
  run([
    "docker", "exec",
    ...(opts.user ? ["-u", opts.user] : []),
    ...Object.entries(opts.env ?? {}).flatMap(([k, v]) => ["-e", `${k}=${v}`]),
    host, "bash", SCRIPT, ...args,
  ]);

/** How the code reaches the script: a flag, or kept out of argv (ps) in a file or the environment. */
const installArgs = (code: "flag" | "file" | "env" = "flag") => [
  "--control", tc.control.httpUrl,
  "--mqtt", tc.control.mqttUrl,
  "--activation-id", act.activationId,
  ...(code === "flag" ? ["--activation-code", act.activationCode] : code === "file" ? ["--activation-code-file", "/root/activation-code"] : []),
  "--cluster", "installed",
  "--attribute", "site=lab",
  "--image-pull-behavior", "prefer-cached",
  "--keepalive-seconds", "7",
  "--log-level", "debug",
  "--advertise-address", "192.0.2.44",
  "--release-public-key", "/root/release.pub",
  "--docker-install-source", "none",
];

beforeAll(async () => {
  await ensureDebianImage();
  process.env.FLOTILLA_DIST_DIR = await buildAgentInto("x64");
  tc = await startTestControl({ extra: { masterKey: randomBytes(32) } });
  act = await activation(tc, "installed", 2);
  await docker("run", "-d", "--rm", "--name", host, "--network", "host",
    "-v", "/var/run/docker.sock:/var/run/docker.sock",
    "-v", `${join(ROOT, "scripts/install-agent.sh")}:${SCRIPT}:ro`,
    DEBIAN_IMAGE, "sleep", "infinity");
  const releasePem = generateKeyPairSync("ed25519").publicKey.export({ type: "spki", format: "pem" }).toString();
  await run(["docker", "exec", host, "sh", "-c", `printf '%s' '${releasePem}' > /root/release.pub`]);
}, 240_000);

afterAll(async () => {
  await run(["docker", "rm", "-f", host]);
  for (const id of new Set([...registered, instanceId].filter(Boolean))) await removeInstanceContainers(id);
  await tc?.stop();
  if (prevDist === undefined) delete process.env.FLOTILLA_DIST_DIR;
  else process.env.FLOTILLA_DIST_DIR = prevDist;
});

describe("scripts/install-agent.sh on clean Debian", () => {
  test("refuses clearly: not root, unsupported architecture, no Docker with --docker-install-source none, bad flags", async () => {
    const notRoot = await exec(installArgs(), { user: "65534" });
    expect(notRoot.code).toBe(1);
    expect(notRoot.stderr).toContain("must run as root");

    const arm32 = await exec(installArgs(), { env: { FLOTILLA_INSTALL_MACHINE: "armv7l" } });
    expect(arm32.code).toBe(1);
    expect(arm32.stderr).toContain('unsupported architecture "armv7l"');

    // A second clean host without the Docker socket.
    const noDocker = await run(["docker", "run", "--rm", "--network", "host",
      "-v", `${join(ROOT, "scripts/install-agent.sh")}:${SCRIPT}:ro`, DEBIAN_IMAGE, "bash", SCRIPT, ...installArgs().filter((a, i, all) => a !== "--release-public-key" && all[i - 1] !== "--release-public-key")]);
    expect(noDocker.code).toBe(1);
    expect(noDocker.stderr).toContain("no usable Docker engine");

    const badFlag = await exec([...installArgs(), "--frobnicate"]);
    expect(badFlag.code).toBe(2);
    expect(badFlag.stderr).toContain('unknown option "--frobnicate"');

    const badKeepalive = await exec([...installArgs(), "--keepalive-seconds", "0"]);
    expect(badKeepalive.code).toBe(2);
    expect(badKeepalive.stderr).toContain('--keepalive-seconds must be a whole number of seconds from 1 to 65535, got "0"');

    const badLevel = await exec([...installArgs(), "--log-level", "loud"]);
    expect(badLevel.code).toBe(2);
    expect(badLevel.stderr).toContain('--log-level must be one of trace, debug, info, warn, error, fatal, silent, got "loud"');

    const badKey = await exec([...installArgs(), "--release-public-key", "/etc/hostname"]);
    expect(badKey.code).toBe(2);
    expect(badKey.stderr).toContain('--release-public-key must be a readable PEM public key file, got "/etc/hostname"');

    const gpu = await exec([...installArgs(), "--enable-gpu"]);
    expect(gpu.code).toBe(2);
    expect(gpu.stderr).toContain("--enable-gpu is not supported");

    const badRegion = await exec([...installArgs(), "--region", "US East"]);
    expect(badRegion.code).toBe(2);
    expect(badRegion.stderr).toContain('--region must be a region name such as us-east-1, got "US East"');

    const badAddress = await exec([...installArgs(), "--advertise-address", "http://x"]);
    expect(badAddress.code).toBe(2);
    expect(badAddress.stderr).toContain('--advertise-address must be an IP address or a DNS name, got "http://x"');
  });

  test("installs, registers within 60 s, prints the instance id, and a task runs", async () => {
    // The code from the environment: nothing secret on the installer's command line.
    const r = await exec(installArgs("env"), { env: { FLOTILLA_ACTIVATION_CODE: act.activationCode } });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("no systemd on this host");
    // Nor on the agent's: it reads the code from its 0600 settings file.
    const ps = await run(["docker", "exec", host, "sh", "-c", "cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\\0' ' '"]);
    expect(ps.stdout).toContain("flotilla-agent");
    expect(ps.stdout).not.toContain(act.activationCode);
    instanceId = r.stdout.trim().split("\n").at(-1)!;
    registered.push(instanceId);
    expect(instanceId).toMatch(/^[0-9a-f]{32}$/);

    const mode = await run(["docker", "exec", host, "stat", "-c", "%a", "/etc/flotilla/agent.env"]);
    expect(mode.stdout.trim()).toBe("600");
    const env = await run(["docker", "exec", host, "cat", "/etc/flotilla/agent.env"]);
    expect(env.stdout).toContain("FLOTILLA_KEEPALIVE_SECONDS=7");
    expect(env.stdout).toContain("FLOTILLA_LOG_LEVEL=debug");
    expect(env.stdout).toContain("FLOTILLA_ADVERTISE_ADDRESS=192.0.2.44");
    // The release key the agent checks upgrades against (it refuses to start on a bad one).
    expect(env.stdout).toContain("FLOTILLA_RELEASE_PUBLIC_KEY=/etc/flotilla/release.pub");
    expect((await run(["docker", "exec", host, "head", "-1", "/etc/flotilla/release.pub"])).stdout.trim()).toBe("-----BEGIN PUBLIC KEY-----");

    const inst = await waitFor("installed instance to connect", async () => {
      const i = (await tc.api("GET", `/v1/clusters/installed/container-instances/${instanceId}`)).body.containerInstance;
      return i?.agentConnected ? i : undefined;
    });
    expect(attributeMap(inst.attributes).site).toBe("lab");
    // --log-level reached the agent: its log file (no systemd: the supervisor's) has its debug lines, and no secret.
    const agentLog = await waitFor("the agent's debug lines in its log file", async () => {
      const out = (await run(["docker", "exec", host, "cat", "/var/log/flotilla-agent.log"])).stdout;
      return out.includes('"level":"debug",') && out.includes('"msg":"report sent"') ? out : undefined;
    });
    expect(agentLog).not.toContain(act.activationCode);

    await tc.api("POST", "/v1/task-definitions", {
      family: "installed-web",
      containerDefinitions: [{ name: "web", image: "flotilla/busybox:test", memory: 32, essential: true }],
    });
    const runRes = await tc.api("POST", "/v1/clusters/installed/tasks", { taskDefinition: "installed-web" });
    expect(runRes.status).toBe(201);
    const task = await waitTaskStatus(tc, "installed", runRes.body.tasks[0].taskId, "RUNNING", 30_000);
    expect(task.containerInstanceId).toBe(instanceId);
    expect((await runningWithLabel(`flotilla.instance-id=${instanceId}`)).length).toBe(1);
  }, 90_000);

  test("a second run on the registered host changes nothing and says so", async () => {
    await run(["docker", "exec", host, "sh", "-c", `umask 077; printf '%s\\n' '${act.activationCode}' > /root/activation-code`]);
    const r = await exec(installArgs("file"));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("agent binary up to date");
    expect(r.stdout).toContain(`already installed, running and registered as instance ${instanceId}: nothing changed`);
    const list = (await tc.api("GET", "/v1/clusters/installed/container-instances")).body.containerInstances;
    expect(list).toHaveLength(1);

    // Still a no-op once the activation is gone: the installed binary is kept.
    expect((await tc.api("DELETE", `/v1/clusters/installed/activations/${act.activationId}`)).status).toBe(200);
    const revoked = await exec(installArgs());
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toContain("keeping the installed one");
    expect(revoked.stdout).toContain("nothing changed");
  }, 60_000);

  test("an upgrade whose new binary never comes up as an agent: the supervisor puts the previous one back", async () => {
    const sh = (script: string) => run(["docker", "exec", host, "bash", "-c", script]);
    const original = (await sh("sha256sum /usr/local/bin/flotilla-agent | cut -c1-64")).stdout.trim();
    // What a self-upgrade leaves (agent/upgrade): .previous, the marker on trial long past its deadline,
    // and a new binary that is no agent at all (it exits at once, so its own guard never runs).
    const swap = await sh(`set -e
cp /usr/local/bin/flotilla-agent /usr/local/bin/flotilla-agent.previous
printf '{"status":"UPDATING","version":"9.9.9","previousVersion":"0.1.0","binary":"/usr/local/bin/flotilla-agent","startedAt":0,"deadlineMs":1000}' > /var/lib/flotilla/upgrade.json
printf '#!/bin/sh\nexit 1\n' > /usr/local/bin/flotilla-agent.new && chmod 0755 /usr/local/bin/flotilla-agent.new
mv -f /usr/local/bin/flotilla-agent.new /usr/local/bin/flotilla-agent
sup=$(cat /run/flotilla-agent-supervisor.pid)
for p in /proc/[0-9]*; do
  if [ "$(cut -d' ' -f4 "$p/stat" 2>/dev/null)" = "$sup" ] && tr '\\0' ' ' <"$p/cmdline" | grep -q '^/usr/local/bin/flotilla-agent'; then kill "\${p#/proc/}"; fi
done`);
    expect(swap.code).toBe(0);
    const inst = await waitFor("the restored agent to reconnect and report the upgrade FAILED", async () => {
      const i = (await tc.api("GET", `/v1/clusters/installed/container-instances/${instanceId}`)).body.containerInstance;
      return i?.agentConnected && i.agentUpdateStatus === "FAILED" ? i : undefined;
    }, { timeoutMs: 60_000 });
    expect(inst.agentUpdateReason).toBe("the new binary never came up as an agent; the supervisor put the previous one back");
    expect((await sh("sha256sum /usr/local/bin/flotilla-agent | cut -c1-64")).stdout.trim()).toBe(original);
    expect((await sh("cat /var/log/flotilla-agent.log")).stdout).toContain("[upgrade-guard] the new agent binary never came up; restored the previous one");
  }, 90_000);

  test("--uninstall --deregister stops the agent, removes its files and deregisters", async () => {
    const r = await exec(["--uninstall", "--deregister", "--control", tc.control.httpUrl, "--token", TEST_TOKEN]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`deregistered instance ${instanceId}`);
    const left = await run(["docker", "exec", host, "sh", "-c", "ls /etc/flotilla /var/lib/flotilla /usr/local/bin/flotilla-agent 2>/dev/null; pgrep -x flotilla-agent || true"]);
    expect(left.stdout.trim()).toBe("");
    const list = (await tc.api("GET", "/v1/clusters/installed/container-instances")).body.containerInstances as any[];
    expect(list.filter((i) => i.status !== "INACTIVE")).toHaveLength(0);
  }, 60_000);

  test("an activation made for another cluster is refused by name: the agent's --cluster is checked", async () => {
    const other = await activation(tc, "installed", 1);
    const r = await exec(["--control", tc.control.httpUrl, "--mqtt", tc.control.mqttUrl, "--activation-id", other.activationId,
      "--activation-code", other.activationCode, "--cluster", "elsewhere", "--docker-install-source", "none"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`registration refused: activation ${other.activationId} is for cluster "installed", not "elsewhere"`);
    // Leave a clean host for the next test (the supervisor keeps retrying the refused agent).
    expect((await exec(["--uninstall"])).code).toBe(0);
  }, 90_000);

  test("ECS Anywhere's runbook flags with an `aws ssm create-activation` activation register into --cluster", async () => {
    await tc.api("POST", "/v1/clusters", { clusterName: "anywhere" });
    const key = (await tc.api("POST", "/v1/access-keys", { name: "runbook", role: "operator" })).body;
    const ssm = new SSMClient({ endpoint: tc.control.httpUrl, region: "us-east-1", credentials: key, maxAttempts: 1 });
    const act = await ssm.send(new CreateActivationCommand({ IamRole: "ecsAnywhereRole", RegistrationLimit: 1 }));
    const r = await exec(["--region", "us-east-1", "--cluster", "anywhere", "--activation-id", act.ActivationId!, "--activation-code", act.ActivationCode!,
      // ECS Anywhere's installer spells these too: a runbook keeps them unchanged.
      "--ecs-endpoint", tc.control.httpUrl, "--mqtt", tc.control.mqttUrl, "--docker-install-source", "all", "--ecs-version", "latest"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("in cluster anywhere");
    instanceId = r.stdout.trim().split("\n").at(-1)!;
    registered.push(instanceId);
    const env = await run(["docker", "exec", host, "cat", "/etc/flotilla/agent.env"]);
    expect(env.stdout).toContain("FLOTILLA_CLUSTER=anywhere");
    await waitFor("the ECS Anywhere-style instance to connect", async () => {
      const i = (await tc.api("GET", `/v1/clusters/anywhere/container-instances/${instanceId}`)).body.containerInstance;
      return i?.agentConnected;
    });
    expect((await exec(["--uninstall", "--deregister", "--control", tc.control.httpUrl, "--token", TEST_TOKEN])).code).toBe(0);
  }, 90_000);
});
