import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startAgentProcess } from "../helpers/agent-process.ts";
import { startTestControl, type TestControl } from "../helpers/control.ts";
import { currentTestFile, leftBehindBy, releaseFileResources, trackInstance } from "../helpers/leftovers.ts";
import { waitFor } from "../helpers/wait.ts";
import { docker } from "../helpers/docker.ts";
import { QUICK_STOP_SERVER } from "../helpers/fixtures.ts";

/**
 * "Point your aws CLI at us": Debian's aws CLI (/usr/bin/aws, v2.9 — not a pyenv one on PATH)
 * signs with access keys against a real control service on 127.0.0.1, and a real agent registers
 * with an activation made by `aws ssm create-activation`. One control and one agent for the file.
 * v2.9 predates AWS_ENDPOINT_URL_<SERVICE>, so the endpoint goes in --endpoint-url.
 */
const AWS = "/usr/bin/aws";
const CLUSTER = "anywhere";
const file = currentTestFile();
let tc: TestControl;
let home: string;
let operator: { accessKeyId: string; secretAccessKey: string };
let readOnly: { accessKeyId: string; secretAccessKey: string };
let instanceId = "";
/** A second local tag of the test image: the CI deploy step's "new image", with no registry. */
const NEW_IMAGE = `flotilla/busybox:aws-cli-${process.pid}`;
const SERVER = QUICK_STOP_SERVER;

interface AwsResult {
  code: number;
  stdout: string;
  stderr: string;
  json(): any;
}

/** Runs /usr/bin/aws with nothing of this machine's AWS settings: HOME and config files are a temp dir. */
async function aws(args: string[], creds = operator): Promise<AwsResult> {
  const proc = Bun.spawn([AWS, ...args, "--endpoint-url", tc.control.httpUrl, "--output", "json"], {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    env: {
      PATH: "/usr/bin:/bin",
      HOME: home,
      AWS_CONFIG_FILE: join(home, "config"),
      AWS_SHARED_CREDENTIALS_FILE: join(home, "credentials"),
      AWS_ACCESS_KEY_ID: creds.accessKeyId,
      AWS_SECRET_ACCESS_KEY: creds.secretAccessKey,
      AWS_DEFAULT_REGION: "us-east-1",
      AWS_PAGER: "",
      AWS_MAX_ATTEMPTS: "1",
    },
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr, json: () => JSON.parse(stdout) };
}

async function awsOk(args: string[], creds = operator): Promise<any> {
  const r = await aws(args, creds);
  if (r.code !== 0) throw new Error(`aws ${args.join(" ")} failed (${r.code}): ${r.stderr}`);
  return r.stdout.trim() ? r.json() : {};
}

beforeAll(async () => {
  if (!existsSync(AWS)) throw new Error(`${AWS} is missing: run scripts/lib/ensure-tools.sh (it installs Debian's awscli)`);
  home = mkdtempSync(join(tmpdir(), "flotilla-aws-home-"));
  tc = await startTestControl({ extra: { masterKey: randomBytes(32) } });
  operator = (await tc.api("POST", "/v1/access-keys", { name: "cli", role: "operator" })).body;
  readOnly = (await tc.api("POST", "/v1/access-keys", { name: "viewer", role: "read-only" })).body;
  await docker("tag", "flotilla/busybox:test", NEW_IMAGE);
}, 30_000);

afterAll(async () => {
  await releaseFileResources(file);
  await docker("rmi", NEW_IMAGE).catch(() => undefined);
  if (home) rmSync(home, { recursive: true, force: true });
  const left = await leftBehindBy(file);
  if (left.length) throw new Error(`teardown left behind: ${left.join("; ")}`);
}, 60_000);

describe("the aws CLI against Flotilla", () => {
  test("aws ssm create-activation, then a real agent with --cluster registers with it", async () => {
    const cluster = await awsOk(["ecs", "create-cluster", "--cluster-name", CLUSTER]);
    expect(cluster.cluster.clusterName).toBe(CLUSTER);
    const act = await awsOk(["ssm", "create-activation", "--iam-role", "ecsAnywhereRole", "--registration-limit", "1", "--default-instance-name", "rack1"]);
    expect(act.ActivationId).toBeString();
    expect(act.ActivationCode).toBeString();

    const agent = startAgentProcess({
      control: tc.control.mqttUrl,
      activation: { activationId: act.ActivationId, activationCode: act.ActivationCode },
      args: ["--cluster", CLUSTER, "--image-pull-behavior", "prefer-cached"],
    });
    instanceId = await waitFor("the agent to register into the cluster it names", async () => {
      const list = (await tc.api("GET", `/v1/clusters/${CLUSTER}/container-instances`)).body.containerInstances as any[];
      return list.find((i) => i.agentConnected)?.containerInstanceId as string | undefined;
    }).catch((e: Error) => {
      throw new Error(`${e.message}; agent output:\n${agent.output().slice(-2000)}`);
    });
    trackInstance(instanceId);

    const described = await awsOk(["ecs", "describe-clusters", "--clusters", CLUSTER]);
    expect(described.clusters[0].registeredContainerInstancesCount).toBe(1);
    // The flow: the new host is listed by ECS's own call, an ARN the describe call takes.
    const listed = await awsOk(["ecs", "list-container-instances", "--cluster", CLUSTER]);
    expect(listed.containerInstanceArns).toHaveLength(1);
    expect(listed.containerInstanceArns[0]).toEndWith(`/${CLUSTER}/${instanceId}`);
    const instances = await awsOk(["ecs", "describe-container-instances", "--cluster", CLUSTER, "--container-instances", listed.containerInstanceArns[0]]);
    expect(instances.containerInstances[0]).toMatchObject({ containerInstanceArn: listed.containerInstanceArns[0], agentConnected: true, status: "ACTIVE" });
    const activations = await awsOk(["ssm", "describe-activations", "--filters", `FilterKey=ActivationIds,FilterValues=${act.ActivationId}`]);
    expect(activations.ActivationList[0]).toMatchObject({ RegistrationsCount: 1, RegistrationLimit: 1, IamRole: "ecsAnywhereRole", Expired: false });
    // The CLI parsed the epoch-second timestamps and printed them as ISO dates.
    expect(activations.ActivationList[0].ExpirationDate).toMatch(/^\d{4}-\d{2}-\d{2}T/);
  }, 60_000);

  test("an activation for any cluster registers an agent without --cluster into default; a saved identity in another cluster refuses to start", async () => {
    const act = await awsOk(["ssm", "create-activation", "--iam-role", "ecsAnywhereRole"]);
    const agent = startAgentProcess({
      control: tc.control.mqttUrl,
      activation: { activationId: act.ActivationId, activationCode: act.ActivationCode },
      args: ["--image-pull-behavior", "prefer-cached"],
    });
    const id = await waitFor("the agent to register into default", async () => {
      const list = (await tc.api("GET", "/v1/clusters/default/container-instances")).body.containerInstances as any[] | undefined;
      return list?.find((i) => i.agentConnected)?.containerInstanceId as string | undefined;
    }).catch((e: Error) => {
      throw new Error(`${e.message}; agent output:\n${agent.output().slice(-2000)}`);
    });
    trackInstance(id);
    await agent.stop();
    // As amazon-ecs-agent when ECS_CLUSTER changes under saved state.
    const moved = startAgentProcess({ control: tc.control.mqttUrl, dataDir: agent.dataDir, args: ["--cluster", CLUSTER] });
    expect(await moved.exited).toBe(2);
    expect(moved.output()).toContain(`this host is registered in cluster "default", not "${CLUSTER}" (--cluster)`);
  }, 60_000);

  test("register-task-definition --cli-input-json file://, describe, and a list paginated by the CLI (--page-size)", async () => {
    const path = join(home, "td.json");
    writeFileSync(path, JSON.stringify({ family: "aws-cli-web", containerDefinitions: [{ name: "web", image: "flotilla/busybox:test", memory: 32, essential: true }] }));
    for (let i = 1; i <= 3; i++) {
      const reg = await awsOk(["ecs", "register-task-definition", "--cli-input-json", `file://${path}`]);
      expect(reg.taskDefinition.revision).toBe(i);
    }
    const td = await awsOk(["ecs", "describe-task-definition", "--task-definition", "aws-cli-web"]);
    expect(td.taskDefinition.taskDefinitionArn).toContain("aws-cli-web:3");
    // --page-size 1: the CLI itself follows nextToken over three pages.
    const all = await awsOk(["ecs", "list-task-definitions", "--family-prefix", "aws-cli-web", "--page-size", "1"]);
    expect(all.taskDefinitionArns.map((a: string) => a.split(":").at(-1))).toEqual(["1", "2", "3"]);
    // --max-items stops early and hands back a token for the rest.
    const firstTwo = await awsOk(["ecs", "list-task-definitions", "--family-prefix", "aws-cli-web", "--page-size", "1", "--max-items", "2"]);
    expect(firstTwo.taskDefinitionArns).toHaveLength(2);
    expect(firstTwo.NextToken).toBeString();
  }, 60_000);

  test("refusals in AWS's words: wrong secret, unknown key, read-only key writing", async () => {
    const wrong = await aws(["ecs", "list-clusters"], { accessKeyId: operator.accessKeyId, secretAccessKey: "A".repeat(40) });
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toContain("(InvalidSignatureException)");

    const unknown = await aws(["ecs", "list-clusters"], { accessKeyId: "AKIAAAAAAAAAAAAAAAAA", secretAccessKey: operator.secretAccessKey });
    expect(unknown.stderr).toContain("(UnrecognizedClientException)");
    expect(unknown.stderr).toContain("The security token included in the request is invalid.");

    const readable = await awsOk(["ecs", "list-clusters"], readOnly);
    expect(readable.clusterArns.some((a: string) => a.endsWith(`:cluster/${CLUSTER}`))).toBe(true);
    const denied = await aws(["ecs", "create-cluster", "--cluster-name", "nope"], readOnly);
    expect(denied.stderr).toContain("(AccessDeniedException)");
    expect((await tc.api("GET", "/v1/clusters/nope")).status).toBe(404);
    const runDenied = await aws(["ecs", "run-task", "--cluster", CLUSTER, "--task-definition", "aws-cli-web"], readOnly);
    expect(runDenied.stderr).toContain("(AccessDeniedException)");
    expect((await tc.api("GET", `/v1/clusters/${CLUSTER}/tasks`)).body.tasks.filter((t: any) => t.group === "family:aws-cli-web")).toHaveLength(0);
  }, 60_000);

  test("run-task → wait tasks-running → describe-tasks → stop-task → wait tasks-stopped", async () => {
    const path = join(home, "server.json");
    writeFileSync(path, JSON.stringify({ family: "aws-cli-server", containerDefinitions: [SERVER] }));
    await awsOk(["ecs", "register-task-definition", "--cli-input-json", `file://${path}`]);
    const run = await awsOk(["ecs", "run-task", "--cluster", CLUSTER, "--task-definition", "aws-cli-server", "--launch-type", "EXTERNAL"]);
    expect(run.failures).toEqual([]);
    const taskArn = run.tasks[0].taskArn as string;
    const taskId = taskArn.split("/").at(-1)!;
    // The waiter polls every 6 s; once the task runs (seen over REST) its first poll succeeds.
    await waitFor("the task to run", async () => (await tc.api("GET", `/v1/clusters/${CLUSTER}/tasks/${taskId}`)).body.task?.lastStatus === "RUNNING", { timeoutMs: 30_000 });
    expect((await aws(["ecs", "wait", "tasks-running", "--cluster", CLUSTER, "--tasks", taskArn])).code).toBe(0);
    const described = await awsOk(["ecs", "describe-tasks", "--cluster", CLUSTER, "--tasks", taskArn]);
    expect(described.tasks[0]).toMatchObject({ lastStatus: "RUNNING", desiredStatus: "RUNNING", launchType: "EXTERNAL" });
    expect(described.tasks[0].containerInstanceArn).toContain(instanceId);

    const stopped = await awsOk(["ecs", "stop-task", "--cluster", CLUSTER, "--task", taskArn, "--reason", "done"]);
    expect(stopped.task.desiredStatus).toBe("STOPPED");
    await waitFor("the task to stop", async () => (await tc.api("GET", `/v1/clusters/${CLUSTER}/tasks/${taskId}`)).body.task?.lastStatus === "STOPPED", { timeoutMs: 30_000 });
    expect((await aws(["ecs", "wait", "tasks-stopped", "--cluster", CLUSTER, "--tasks", taskArn])).code).toBe(0);
    expect((await awsOk(["ecs", "describe-tasks", "--cluster", CLUSTER, "--tasks", taskArn])).tasks[0].stoppedReason).toBe("done");
  }, 90_000);

  test("create-service → services-stable, then the CI deploy step: a copy with a new image, update-service, services-stable", async () => {
    const stable = async (service: string, image: string) => {
      await waitFor(`service ${service} to be stable on ${image}`, async () => {
        // Polled over REST (an aws CLI start costs a second); the waiter then checks once.
        const s = (await tc.api("GET", `/v1/clusters/${CLUSTER}/services/${service}`)).body.service;
        if (s?.deployments?.length !== 1 || s.runningCount !== s.desiredCount) return false;
        const tasks = (await tc.api("GET", `/v1/clusters/${CLUSTER}/tasks`)).body.tasks as any[];
        return tasks.some((t) => t.group === `service:${service}` && t.lastStatus === "RUNNING" && t.containers[0].image === image);
      }, { timeoutMs: 60_000, intervalMs: 500 });
      expect((await aws(["ecs", "wait", "services-stable", "--cluster", CLUSTER, "--services", service])).code).toBe(0);
    };
    const created = await awsOk(["ecs", "create-service", "--cluster", CLUSTER, "--service-name", "cli-web", "--task-definition", "aws-cli-server", "--desired-count", "1", "--launch-type", "EXTERNAL"]);
    expect(created.service.serviceName).toBe("cli-web");
    await stable("cli-web", SERVER.image);

    // What a CI job does: take the running definition, swap the image, register, roll out.
    const current = (await awsOk(["ecs", "describe-task-definition", "--task-definition", "aws-cli-server"])).taskDefinition;
    const { taskDefinitionArn: _a, revision: _r, status: _s, requiresAttributes: _ra, compatibilities: _c, registeredAt: _at, registeredBy: _by, deregisteredAt: _d, ...copy } = current;
    copy.containerDefinitions[0].image = NEW_IMAGE;
    const path = join(home, "deploy.json");
    writeFileSync(path, JSON.stringify(copy));
    const next = (await awsOk(["ecs", "register-task-definition", "--cli-input-json", `file://${path}`])).taskDefinition;
    expect(next.revision).toBe(current.revision + 1);
    const updated = await awsOk(["ecs", "update-service", "--cluster", CLUSTER, "--service", "cli-web", "--task-definition", next.taskDefinitionArn]);
    expect(updated.service.taskDefinition).toBe(next.taskDefinitionArn);
    await stable("cli-web", NEW_IMAGE);

    await awsOk(["ecs", "update-service", "--cluster", CLUSTER, "--service", "cli-web", "--desired-count", "0"]);
    await awsOk(["ecs", "delete-service", "--cluster", CLUSTER, "--service", "cli-web"]);
  }, 150_000);
});
