import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TaskEngine } from "../../../agent/engine/task-engine.ts";
import { HollowRuntime } from "../../../agent/runtime/hollow.ts";
import { memoryStateStore } from "../../../agent/store/state-file.ts";
import { LABELS } from "../../../shared/labels.ts";
import type { DesiredState } from "../../../shared/messages.ts";
import { waitFor } from "../../helpers/wait.ts";
import { buildContainerSpec, type FirelensPlacement, type TaskIdentity } from "../../../agent/engine/container-spec.ts";
import { DefinitionCache } from "../../../agent/engine/definition-cache.ts";
import { firelensConfig, firelensPaths, firelensSecretEnv, FirelensConfigError } from "../../../agent/engine/firelens-config.ts";
import { containerStartOrder, parseTaskDefinition, type TaskDefinitionSpec } from "../../../shared/task-definition/index.ts";

/** FireLens as amazon-ecs-agent generates it: the router's config file and the containers' create bodies. */
const T: TaskIdentity = { taskId: "0123456789abcdef0123", clusterName: "edge", instanceId: "i-1", family: "shop", revision: 4 };
const ARN = `arn:aws:ecs:local:000000000000:task/edge/${T.taskId}`;

function parsed(body: Record<string, unknown>): TaskDefinitionSpec {
  const r = parseTaskDefinition({ family: "shop", ...body });
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.value;
}

const router = (type: "fluentbit" | "fluentd", options?: Record<string, string>) => ({
  name: "log_router",
  image: "fluent/fluent-bit",
  memoryReservation: 50,
  essential: true,
  firelensConfiguration: { type, ...(options ? { options } : {}) },
});
const app = {
  name: "app",
  image: "nginx",
  memory: 64,
  logConfiguration: {
    logDriver: "awsfirelens",
    options: { Name: "cloudwatch", region: "eu-west-1", log_group_name: "/ecs/shop", "exclude-pattern": "^health", "log-driver-buffer-limit": "2097152" },
    secretOptions: [{ name: "apikey", valueFrom: "logs/key" }],
  },
};
const conf = (td: TaskDefinitionSpec) => firelensConfig({ td, taskArn: ARN, clusterName: "edge", revision: 4 });

describe("the router's generated config", () => {
  test("fluentbit on bridge: socket and TCP forward inputs, health check, ECS metadata, a grep filter and the app's output", () => {
    expect(conf(parsed({ networkMode: "bridge", containerDefinitions: [router("fluentbit"), app] }))).toBe(
      [
        "[INPUT]\n    Name forward\n    Mem_Buf_Limit 25MB\n    unix_path /var/run/fluent.sock\n",
        "[INPUT]\n    Name forward\n    Listen 0.0.0.0\n    Port 24224\n",
        "[INPUT]\n    Name tcp\n    Tag firelens-healthcheck\n    Listen 127.0.0.1\n    Port 8877\n",
        "[FILTER]\n    Name grep\n    Match app-firelens*\n    Exclude log ^health\n",
        `[FILTER]\n    Name record_modifier\n    Match *\n    Record ecs_cluster edge\n    Record ecs_task_arn ${ARN}\n    Record ecs_task_definition shop:4\n`,
        "[OUTPUT]\n    Name null\n    Match firelens-healthcheck\n",
        "[OUTPUT]\n    Name cloudwatch\n    Match app-firelens*\n    apikey ${apikey_1}\n    log_group_name /ecs/shop\n    region eu-west-1\n",
      ].join("\n"),
    );
  });

  test("fluentd on host networking: the unix input only, no metadata when disabled, an included external file, ENV placeholders", () => {
    const td = parsed({
      networkMode: "host",
      containerDefinitions: [router("fluentd", { "enable-ecs-log-metadata": "false", "config-file-type": "file", "config-file-value": "/extra.conf" }), { ...app, logConfiguration: { ...app.logConfiguration, options: { "@type": "stdout", "include-pattern": "ERROR" } } }],
    });
    expect(conf(td)).toBe(
      [
        "<source>\n    @type unix\n    path /var/run/fluent.sock\n</source>\n",
        "<filter app-firelens**>\n    @type  grep\n    <regexp>\n        key log\n        pattern ERROR\n    </regexp>\n</filter>\n",
        "@include /extra.conf\n",
        "<match app-firelens**>\n    @type stdout\n    apikey \"#{ENV['apikey_1']}\"\n</match>\n",
      ].join("\n"),
    );
  });

  test("output options without the plugin name, and config-file-type s3, are refused with the reason", () => {
    const noName = parsed({ containerDefinitions: [router("fluentbit"), { ...app, logConfiguration: { logDriver: "awsfirelens", options: { region: "x" } } }] });
    expect(() => conf(noName)).toThrow(new FirelensConfigError('container "app": awsfirelens options need "Name", the fluentbit output plugin'));
    const s3 = parsed({ containerDefinitions: [router("fluentbit", { "config-file-type": "s3", "config-file-value": "arn:aws:s3:::b/k" }), app] });
    expect(() => conf(s3)).toThrow(/Amazon S3/);
  });

  test("the router is started first: awsfirelens containers get ECS's START dependency on it", () => {
    const cache = new DefinitionCache();
    const r = cache.get("arn:td", { family: "shop", containerDefinitions: [app, router("fluentbit")] });
    if (!r.ok) throw new Error(r.why);
    expect(r.spec.containerDefinitions.find((c) => c.name === "app")!.dependsOn).toEqual([{ containerName: "log_router", condition: "START" }]);
    expect(containerStartOrder(r.spec)).toEqual(["log_router", "app"]);
  });
});

describe("create bodies", () => {
  const td = parsed({ networkMode: "bridge", containerDefinitions: [router("fluentbit"), app] });
  const paths = firelensPaths("/var/lib/flotilla/firelens", T.taskId);

  test("the router mounts its config where Fluent Bit reads it and the socket dir at /var/run/, with secret options as env", () => {
    const routerEnv = firelensSecretEnv(td, { app: { apikey: "k3y" } });
    expect(routerEnv).toEqual({ apikey_1: "k3y" });
    const spec = buildContainerSpec(T, td, td.containerDefinitions[0]!, {}, undefined, undefined, { firelens: { paths, routerEnv } });
    expect(spec.mounts).toEqual([
      { source: `/var/lib/flotilla/firelens/${T.taskId}/config/fluent.conf`, target: "/fluent-bit/etc/fluent-bit.conf", readOnly: false },
      { source: `/var/lib/flotilla/firelens/${T.taskId}/socket/`, target: "/var/run/", readOnly: false },
    ]);
    expect(spec.env).toEqual({ apikey_1: "k3y" });
  });

  test("an app container logs through Docker's fluentd driver to the router, tagged as ECS tags it", () => {
    const fl: FirelensPlacement = { paths, address: "tcp://172.17.0.5:24224", routerHost: "172.17.0.5" };
    const spec = buildContainerSpec(T, td, td.containerDefinitions[1]!, {}, undefined, undefined, { firelens: fl, secretOptions: { apikey: "k3y" } });
    expect(spec.logConfig).toEqual({
      type: "fluentd",
      options: {
        tag: `app-firelens-${T.taskId}`,
        "fluentd-address": "tcp://172.17.0.5:24224",
        "fluentd-async": "true",
        "fluentd-sub-second-precision": "true",
        "fluentd-buffer-limit": "2097152",
      },
    });
    // The secret reaches the router's env only; the app's create body carries neither it nor the config.
    expect(JSON.stringify(spec)).not.toContain("k3y");
    expect(spec.env).toEqual({ FLUENT_HOST: "172.17.0.5", FLUENT_PORT: "24224" });
  });

  test("with no network address the app sends to the unix socket in the task's host dir", () => {
    const spec = buildContainerSpec(T, td, td.containerDefinitions[1]!, {}, undefined, undefined, { firelens: { paths, address: `unix://${paths.socketFile}` } });
    expect(spec.logConfig?.options?.["fluentd-address"]).toBe(`unix:///var/lib/flotilla/firelens/${T.taskId}/socket/fluent.sock`);
    expect(spec.env).toBeUndefined();
  });
});

describe("FireLens in the engine (in-memory runtime)", () => {
  const fast = { pullLatencyMs: 1, createLatencyMs: 1, startLatencyMs: 1, stopLatencyMs: 1, removeLatencyMs: 1 };
  let engine: TaskEngine | undefined;
  const root = mkdtempSync(join(tmpdir(), "flotilla-firelens-test-"));
  afterEach(async () => {
    await engine?.stop();
    engine = undefined;
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));
  const desired = (definition: object, generation = 1, desiredStatus: "RUNNING" | "STOPPED" = "RUNNING"): DesiredState => ({
    instanceId: "i-fl",
    clusterName: "edge",
    generation,
    tasks: [{ taskId: "t1", taskArn: "arn:t1", family: "shop", revision: 2, taskDefinitionArn: "arn:shop:2", desiredStatus, definition, logSecretOptions: { app: { apikey: "k3y" } } }],
  });
  const start = () => {
    const rt = new HollowRuntime({ timings: fast, cachedImages: ["nginx", "fluent/fluent-bit"] });
    engine = new TaskEngine({ runtime: rt, store: memoryStateStore(), instanceId: "i-fl", clusterName: "edge", relistIntervalMs: 20, cleanupWaitMs: 0, firelensRoot: root });
    engine.start();
    return { rt, e: engine };
  };
  const specOf = async (rt: HollowRuntime, name: string) => rt.specOf((await rt.list({ [LABELS.containerName]: name }))[0]!.id)!;

  test("the config is written to the task's host dir before the router starts, apps send to its socket, and cleanup removes the dir", async () => {
    const { rt, e } = start();
    const def = { family: "shop", networkMode: "host", containerDefinitions: [app, router("fluentbit")] };
    e.applyDesired(desired(def));
    await waitFor("RUNNING", () => e.state.tasks.t1?.knownStatus === "RUNNING");
    const file = join(root, "t1", "config", "fluent.conf");
    expect(readFileSync(file, "utf8")).toContain("Record ecs_task_definition shop:2");
    expect((await specOf(rt, "app")).logConfig?.options?.["fluentd-address"]).toBe(`unix://${join(root, "t1", "socket", "fluent.sock")}`);
    // app is container 0 here: its secret option is config variable apikey_0.
    expect((await specOf(rt, "log_router")).env).toEqual({ apikey_0: "k3y" });
    expect(readFileSync(file, "utf8")).toContain("apikey ${apikey_0}");
    e.applyDesired(desired(def, 2, "STOPPED"));
    await waitFor("the task's FireLens dir removed at cleanup", () => !existsSync(join(root, "t1")));
  });

  test("a router config that cannot be made fails the task at start with the reason", async () => {
    const { e } = start();
    e.applyDesired(desired({ family: "shop", containerDefinitions: [app, router("fluentbit", { "config-file-type": "s3", "config-file-value": "arn:aws:s3:::b/k" })] }));
    await waitFor("STOPPED", () => e.state.tasks.t1?.knownStatus === "STOPPED");
    expect(e.state.tasks.t1!.stoppedReason).toContain("Amazon S3");
  });
});
