import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  CreateClusterCommand,
  CreateServiceCommand,
  DeleteServiceCommand,
  DescribeContainerInstancesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ECSClient,
  ListContainerInstancesCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  StopTaskCommand,
  UpdateServiceCommand,
  paginateListTaskDefinitions,
  waitUntilServicesStable,
  waitUntilTasksRunning,
  waitUntilTasksStopped,
  type RegisterTaskDefinitionCommandInput,
} from "@aws-sdk/client-ecs";
import { CreateActivationCommand, SSMClient } from "@aws-sdk/client-ssm";
import { randomBytes } from "node:crypto";
import { startAgentProcess } from "../helpers/agent-process.ts";
import { startTestControl, type TestControl } from "../helpers/control.ts";
import { docker } from "../helpers/docker.ts";
import { QUICK_STOP_SERVER } from "../helpers/fixtures.ts";
import { currentTestFile, leftBehindBy, releaseFileResources, trackInstance } from "../helpers/leftovers.ts";
import { waitFor } from "../helpers/wait.ts";

/**
 * The flow with the AWS SDK for JavaScript v3 (@aws-sdk/client-ecs and client-ssm), as a
 * deploy script would write it: SSM activation → a real agent registers → register a task
 * definition → RunTask → the SDK's own tasksRunning waiter → DescribeTasks → StopTask →
 * tasksStopped; CreateService → servicesStable; the CI deploy step (describe, register a copy
 * with a new image, UpdateService, servicesStable); a list paginated by the SDK's paginator. The
 * SDK signs with SigV4 using an access key the control issued. One control and one agent.
 */
const CLUSTER = "sdk";
const file = currentTestFile();
let tc: TestControl;
let ecs: ECSClient;
let ssm: SSMClient;
let instanceArn = "";
const NEW_IMAGE = `flotilla/busybox:aws-sdk-${process.pid}`;
const SERVER = QUICK_STOP_SERVER;
/** The SDK waiters poll every 6 s by default; 1–2 s keeps the file short and changes nothing else. */
const waiter = () => ({ client: ecs, maxWaitTime: 60, minDelay: 1, maxDelay: 2 });

beforeAll(async () => {
  tc = await startTestControl({ extra: { masterKey: randomBytes(32) } });
  const key = (await tc.api("POST", "/v1/access-keys", { name: "sdk", role: "operator" })).body;
  const options = {
    endpoint: tc.control.httpUrl,
    region: "eu-west-1",
    credentials: { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey },
    maxAttempts: 1,
  };
  ecs = new ECSClient(options);
  ssm = new SSMClient(options);
  await docker("tag", "flotilla/busybox:test", NEW_IMAGE);
}, 30_000);

afterAll(async () => {
  ecs?.destroy();
  ssm?.destroy();
  await releaseFileResources(file);
  await docker("rmi", NEW_IMAGE).catch(() => undefined);
  const left = await leftBehindBy(file);
  if (left.length) throw new Error(`teardown left behind: ${left.join("; ")}`);
}, 60_000);

describe("the AWS SDK for JavaScript against Flotilla", () => {
  test("CreateActivation (SSM), then a real agent registers; ListContainerInstances and DescribeContainerInstances show it", async () => {
    await ecs.send(new CreateClusterCommand({ clusterName: CLUSTER }));
    const act = await ssm.send(new CreateActivationCommand({ IamRole: "ecsAnywhereRole", RegistrationLimit: 1 }));
    expect(act.ActivationId).toBeString();
    const agent = startAgentProcess({
      control: tc.control.mqttUrl,
      activation: { activationId: act.ActivationId!, activationCode: act.ActivationCode! },
      args: ["--cluster", CLUSTER, "--image-pull-behavior", "prefer-cached"],
    });
    instanceArn = await waitFor("the agent to show in ListContainerInstances", async () => {
      const list = await ecs.send(new ListContainerInstancesCommand({ cluster: CLUSTER, status: "ACTIVE" }));
      return list.containerInstanceArns?.[0];
    }).catch((e: Error) => {
      throw new Error(`${e.message}; agent output:\n${agent.output().slice(-2000)}`);
    });
    trackInstance(instanceArn.split("/").at(-1)!);
    const described = await ecs.send(new DescribeContainerInstancesCommand({ cluster: CLUSTER, containerInstances: [instanceArn] }));
    expect(described.failures).toEqual([]);
    const ci = described.containerInstances![0]!;
    expect(ci.containerInstanceArn).toBe(instanceArn);
    // The SDK parsed the epoch-second timestamp into a Date.
    expect(ci.registeredAt).toBeInstanceOf(Date);
    await waitFor("the agent connected", async () => {
      const d = await ecs.send(new DescribeContainerInstancesCommand({ cluster: CLUSTER, containerInstances: [instanceArn] }));
      return d.containerInstances?.[0]?.agentConnected === true;
    });
  }, 60_000);

  test("RegisterTaskDefinition, RunTask, waitUntilTasksRunning, DescribeTasks, StopTask, waitUntilTasksStopped", async () => {
    const input: RegisterTaskDefinitionCommandInput = { family: "sdk-server", containerDefinitions: [SERVER] };
    const reg = await ecs.send(new RegisterTaskDefinitionCommand(input));
    expect(reg.taskDefinition?.revision).toBe(1);
    const run = await ecs.send(new RunTaskCommand({ cluster: CLUSTER, taskDefinition: "sdk-server", launchType: "EXTERNAL", count: 1 }));
    expect(run.failures).toEqual([]);
    const taskArn = run.tasks![0]!.taskArn!;
    const running = await waitUntilTasksRunning(waiter(), { cluster: CLUSTER, tasks: [taskArn] });
    expect(String(running.state)).toBe("SUCCESS");
    const described = await ecs.send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: [taskArn] }));
    expect(described.tasks![0]).toMatchObject({ lastStatus: "RUNNING", desiredStatus: "RUNNING", launchType: "EXTERNAL", containerInstanceArn: instanceArn });
    expect(described.tasks![0]!.startedAt).toBeInstanceOf(Date);

    const stopped = await ecs.send(new StopTaskCommand({ cluster: CLUSTER, task: taskArn, reason: "done" }));
    expect(stopped.task?.desiredStatus).toBe("STOPPED");
    expect(String((await waitUntilTasksStopped(waiter(), { cluster: CLUSTER, tasks: [taskArn] })).state)).toBe("SUCCESS");
    const after = await ecs.send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: [taskArn] }));
    expect(after.tasks![0]).toMatchObject({ lastStatus: "STOPPED", stoppedReason: "done" });
  }, 90_000);

  test("CreateService → waitUntilServicesStable; the CI deploy step with a new image; paginateListTaskDefinitions over several pages", async () => {
    await ecs.send(new CreateServiceCommand({ cluster: CLUSTER, serviceName: "sdk-web", taskDefinition: "sdk-server", desiredCount: 1, launchType: "EXTERNAL" }));
    expect(String((await waitUntilServicesStable(waiter(), { cluster: CLUSTER, services: ["sdk-web"] })).state)).toBe("SUCCESS");

    // What a deploy job does: take the running definition, swap the image, register, roll out.
    const current = (await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: "sdk-server" }))).taskDefinition!;
    const { taskDefinitionArn: _a, revision: _r, status: _s, requiresAttributes: _ra, compatibilities: _c, registeredAt: _at, registeredBy: _by, deregisteredAt: _d, ...copy } = current;
    copy.containerDefinitions![0]!.image = NEW_IMAGE;
    const next = (await ecs.send(new RegisterTaskDefinitionCommand(copy as RegisterTaskDefinitionCommandInput))).taskDefinition!;
    expect(next.revision).toBe(current.revision! + 1);
    const updated = await ecs.send(new UpdateServiceCommand({ cluster: CLUSTER, service: "sdk-web", taskDefinition: next.taskDefinitionArn }));
    expect(updated.service?.taskDefinition).toBe(next.taskDefinitionArn);
    expect(String((await waitUntilServicesStable(waiter(), { cluster: CLUSTER, services: ["sdk-web"] })).state)).toBe("SUCCESS");
    // Stable means the new revision runs: the one task left is on the new image.
    const tasks = (await tc.api("GET", `/v1/clusters/${CLUSTER}/tasks`)).body.tasks as any[];
    const running = tasks.filter((t) => t.group === "service:sdk-web" && t.lastStatus === "RUNNING");
    expect(running.map((t) => t.containers[0].image)).toEqual([NEW_IMAGE]);

    // The SDK's paginator follows nextToken: one ARN a page, every revision once, in order.
    const pages: string[][] = [];
    for await (const page of paginateListTaskDefinitions({ client: ecs, pageSize: 1 }, { familyPrefix: "sdk-server" })) pages.push(page.taskDefinitionArns ?? []);
    expect(pages.length).toBeGreaterThanOrEqual(2);
    expect(pages.flat().map((a) => a.split(":").at(-1))).toEqual(["1", "2"]);

    await ecs.send(new UpdateServiceCommand({ cluster: CLUSTER, service: "sdk-web", desiredCount: 0 }));
    await ecs.send(new DeleteServiceCommand({ cluster: CLUSTER, service: "sdk-web" }));
  }, 150_000);
});
