/**
 * Services benchmark (issue 5), on one host with the real Docker engine and one real agent
 * process against an in-process control service: a service of 10 → all RUNNING; scale 10 → 50
 * (compared with 40 `docker run -d` of the same image, 8 at a time, measured in the same run);
 * a rolling update of 50 with minimumHealthyPercent 90 / maximumPercent 110; one container removed
 * with `docker rm -f` → replaced. Prints one JSON object.
 *
 *   bun scripts/bench/services.ts [--image flotilla/busybox:test]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createControl } from "../../control/control.ts";
import { openDatabase } from "../../control/db/open.ts";
import { benchArgs, target } from "./lib/args.ts";

const args = benchArgs();
const IMAGE = args.str("image", "flotilla/busybox:test");
const CLUSTER = "svc-bench";
const TOKEN = "bench-token";
const ROOT = join(import.meta.dir, "../..");
const TARGETS = { scaleVsDockerRatio: 1.2, rollingUpdate50Ms: 15_000, killedReplacedMs: 1000 };
const log = (line: string) => process.stderr.write(`[services] ${line}\n`);

async function sh(...cmd: string[]): Promise<string> {
  const p = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`${cmd.join(" ")}: ${err.trim()}`);
  return out.trim();
}

async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 120_000, intervalMs = 25): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v as T;
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(intervalMs);
  }
}

const dir = mkdtempSync(join(tmpdir(), "flotilla-svc-bench-"));
const db = await openDatabase(`file:${join(dir, "flotilla.db")}`);
const control = await createControl({ db, broker: { host: "127.0.0.1", port: 0 }, http: { host: "127.0.0.1", port: 0 }, adminToken: TOKEN, log: () => {} });
async function api(method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(control.httpUrl + path, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return text ? JSON.parse(text) : undefined;
}

await api("POST", "/v1/clusters", { clusterName: CLUSTER });
const act = await api("POST", `/v1/clusters/${CLUSTER}/activations`, { registrationLimit: 1 });
const agentDir = mkdtempSync(join(tmpdir(), "flotilla-svc-bench-agent-"));
const agent = Bun.spawn(
  [
    "bun", join(ROOT, "agent/main.ts"), "--control", control.mqttUrl, "--data-dir", agentDir, "--introspection-port", "0",
    "--image-pull-behavior", "prefer-cached",
    "--activation-id", act.activationId, "--activation-code", act.activationCode,
  ],
  { stdout: "ignore", stderr: "ignore", cwd: ROOT },
);
const instanceId: string = await until("agent to connect", async () => {
  const list = (await api("GET", `/v1/clusters/${CLUSTER}/container-instances`)).containerInstances as any[];
  return list.find((i) => i.agentConnected)?.containerInstanceId;
}, 30_000, 100);

const td = (rev: string) => ({
  family: "bench-web",
  containerDefinitions: [{ name: "web", image: IMAGE, memory: 16, cpu: 10, essential: true, stopTimeout: 2, environment: [{ name: "REV", value: rev }] }],
});
await api("POST", "/v1/task-definitions", td("1"));
await api("POST", "/v1/task-definitions", td("2"));

const svcPath = `/v1/clusters/${CLUSTER}/services/web`;
const describe = async () => (await api("GET", svcPath)).service;
const steady = (n: number, rev?: string) =>
  until(`service steady at ${n}`, async () => {
    const s = await describe();
    const d = s.deployments?.[0];
    return s.deployments.length === 1 && s.runningCount === n && s.pendingCount === 0 && (!rev || d.taskDefinition.endsWith(rev)) && s;
  });
const runningTasks = async () =>
  ((await api("GET", `/v1/clusters/${CLUSTER}/tasks`)).tasks as any[]).filter((t) => t.group === "service:web" && t.lastStatus === "RUNNING");

const result: Record<string, unknown> = { host: { cpus: navigator.hardwareConcurrency }, image: IMAGE };
try {
  // 1. A service of 10.
  let t0 = performance.now();
  await api("POST", `/v1/clusters/${CLUSTER}/services`, {
    serviceName: "web",
    taskDefinition: "bench-web:1",
    desiredCount: 10,
    deploymentConfiguration: { minimumHealthyPercent: 90, maximumPercent: 110 },
  });
  await steady(10);
  result.service10ToRunningMs = Math.round(performance.now() - t0);
  log(`10 running in ${result.service10ToRunningMs} ms`);

  // 2. Scale 10 → 50.
  t0 = performance.now();
  await api("PATCH", svcPath, { desiredCount: 50 });
  await steady(50);
  const scaleMs = performance.now() - t0;
  log(`scaled to 50 in ${Math.round(scaleMs)} ms`);

  // 3. Baseline: 40 `docker run -d` of the same image, 8 at a time.
  const names = Array.from({ length: 40 }, (_, i) => `flotilla-svc-bench-${process.pid}-${i}`);
  t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < names.length) {
        const name = names[next++]!;
        await sh("docker", "run", "-d", "--name", name, "-m", "16m", IMAGE);
      }
    }),
  );
  const dockerMs = performance.now() - t0;
  await sh("docker", "rm", "-f", ...names);
  log(`40 docker run -d (8 at a time) in ${Math.round(dockerMs)} ms`);
  result.scale10To50 = { ms: Math.round(scaleMs), dockerRun40Ms: Math.round(dockerMs), ratio: +(scaleMs / dockerMs).toFixed(2), target: target(scaleMs / dockerMs, TARGETS.scaleVsDockerRatio) };

  // 4. Rolling update of 50 with 90/110: sample how many stay RUNNING.
  let minRunning = Infinity;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      minRunning = Math.min(minRunning, (await runningTasks()).length);
      await Bun.sleep(50);
    }
  })();
  t0 = performance.now();
  await api("PATCH", svcPath, { taskDefinition: "bench-web:2" });
  await steady(50, "bench-web:2");
  const rollMs = performance.now() - t0;
  sampling = false;
  await sampler;
  result.rollingUpdate50 = { ms: Math.round(rollMs), minRunningDuringRollout: minRunning, minimumHealthy: 45, target: target(rollMs, TARGETS.rollingUpdate50Ms) };
  log(`rolling update of 50 in ${Math.round(rollMs)} ms (min running ${minRunning})`);

  // 5. One container removed with docker rm -f → a replacement RUNNING.
  await Bun.sleep(6000); // past the launch throttle's short-lived window: a long-running task dies
  const before = await runningTasks();
  const victim = before[0];
  const known = new Set(before.map((t) => t.taskId));
  t0 = performance.now();
  await sh("docker", "rm", "-f", victim.containers[0].runtimeId);
  await until("replacement RUNNING", async () => (await runningTasks()).some((t) => !known.has(t.taskId)), 30_000, 10);
  const replacedMs = performance.now() - t0;
  result.killedContainerReplacedMs = { ms: Math.round(replacedMs), target: target(replacedMs, TARGETS.killedReplacedMs) };
  log(`killed container replaced in ${Math.round(replacedMs)} ms`);
} finally {
  await api("DELETE", `${svcPath}?force=true`).catch(() => undefined);
  await until("service tasks stopped", async () => (await runningTasks()).length === 0, 60_000, 200).catch(() => undefined);
  agent.kill("SIGTERM");
  await agent.exited;
  const left = await sh("docker", "ps", "-aq", "--filter", `label=flotilla.instance-id=${instanceId}`);
  if (left) await sh("docker", "rm", "-f", ...left.split("\n"));
  await control.stop();
  db.close();
  rmSync(dir, { recursive: true, force: true });
  rmSync(agentDir, { recursive: true, force: true });
}
console.log(JSON.stringify(result, null, 2));
process.exit(0);
