import { randomUUID } from "node:crypto";
import { LABELS } from "../../shared/labels.ts";
import { metadataEnv } from "../metadata/uris.ts";
import { containerStartOrder, networkModeOf, type ContainerDefinition, type TaskDefinitionSpec } from "../../shared/task-definition/index.ts";
import { describePull } from "../runtime/pull-progress.ts";
import type { RuntimeContainer } from "../runtime/types.ts";
import type { AgentContainer } from "../store/state-file.ts";
import { buildContainerSpec, withDiscoveryDns } from "./container-spec.ts";
import { dependencyFailureReason, dependencyVerdict } from "./dependencies.ts";
import { refreshContainer } from "./runner-observe.ts";
import { NAMESPACE_OWNER_LABEL, TASK_NETWORK, namespaceOwnerSpec, needsNamespaceHolder } from "./task-network.ts";
import { STOP_CODES, event, hasHealthCheck, identityOf, progressEvent, requestStop, update, type TaskWork } from "./task-work.ts";
import { taskVolumes } from "./task-volumes.ts";
import { firelensPlacement, prepareFirelens } from "./task-firelens.ts";
import { nextUpward, transitions } from "./transitions.ts";

/** How long a container waits for its dependsOn conditions when it has no startTimeout (seconds). */
export const DEFAULT_DEPENDENCY_TIMEOUT_SECONDS = 300;

/** What one step on the way up did: "blocked" waits for the next hint (a dependency not met yet). */
export type UpResult = "progressed" | "blocked";

/** The container the task works on next (start order), or null when every container is up. */
export function nextToStart(w: TaskWork): { c: AgentContainer; def: ContainerDefinition } | null {
  if (!w.def) return null;
  for (const name of containerStartOrder(w.def)) {
    const c = w.task.containers.find((x) => x.name === name);
    const def = w.def.containerDefinitions.find((d) => d.name === name);
    if (c && def && nextUpward(c.knownStatus)) return { c, def };
  }
  return null;
}

/**
 * One step towards RUNNING: the task-wide resources first, then one transition of the next
 * container once its dependencies are met. Small steps, so the runner sees a stop between them.
 */
export async function startStep(w: TaskWork, c: AgentContainer, def: ContainerDefinition): Promise<UpResult> {
  const td = w.def!;
  if (!w.prepared) {
    await prepareTask(w, td);
    w.prepared = true;
    return "progressed";
  }
  const deps = await dependenciesMet(w, def);
  if (deps !== "met") return deps === "waiting" ? "blocked" : "progressed";
  const next = nextUpward(c.knownStatus)!;
  const task = w.task;
  // A task saved by an agent that predates metadata ids gets one before its container is made.
  if (next === "CREATED") c.metadataId ??= randomUUID();
  const addedEnv = { ...w.secrets.env[c.name], ...metadataEnv(w.ctx.taskMetadataUrl, c.metadataId) };
  const spec = withDiscoveryDns(
    buildContainerSpec(identityOf(w), td, def, addedEnv, w.cgroupParent, c.gpuIds, {
      secretOptions: w.secrets.logOptions[c.name],
      firelens: await firelensPlacement(w, td, def, next === "CREATED"),
    }),
    w.ctx.containerDns,
  );
  if (next === "PULLED") task.pullStartedAt ??= w.ctx.now();
  await transitions[next]!({
    runtime: w.ctx.runtime,
    container: c,
    spec,
    imagePullBehavior: w.ctx.imagePullBehavior,
    credentials: w.secrets.registry[c.name],
    onPullProgress: (p) => progressEvent(w, `${c.name}: ${describePull(spec.image, p)}`),
    onPulled: (image) => w.ctx.recordPull(image),
  });
  c.knownStatus = next;
  if (next === "PULLED") task.pullStoppedAt = w.ctx.now();
  event(w, transitionMessage(c, next, spec.image));
  if (next === "RUNNING") {
    c.startedAt = w.ctx.now();
    if (hasHealthCheck(def)) c.healthStatus = "UNKNOWN";
    await recordNetwork(w, td, c, def);
  }
  update(w);
  return "progressed";
}

/**
 * Task-wide resources before any container: Docker volumes, the task cgroup (task-level cpu and
 * memory), and the namespace holder (awsvpc, pidMode/ipcMode "task").
 */
async function prepareTask(w: TaskWork, td: TaskDefinitionSpec): Promise<void> {
  const { runtime } = w.ctx;
  for (const v of taskVolumes(w.task.taskId, td)) await runtime.ensureVolume?.(v.spec, v.create);
  prepareFirelens(w, td);
  await prepareCgroup(w, td);
  if (!needsNamespaceHolder(td)) return;
  const existing = await namespaceOwner(w);
  if (existing?.state === "running") return;
  if (networkModeOf(td) === "awsvpc") await runtime.ensureNetwork?.(TASK_NETWORK);
  const holder = await w.ctx.pauseImage.ensure();
  const spec = withDiscoveryDns(namespaceOwnerSpec(identityOf(w), td, holder, w.cgroupParent), w.ctx.containerDns);
  await runtime.start(existing?.id ?? (await runtime.create(spec)));
}

/**
 * Task-level cpu/memory become a cgroup the task's containers are created under (as the ECS agent
 * does). A host that cannot have one (cgroup v2, not root, systemd driver) runs the task without it,
 * saying so once: the limits are then only reserved by placement, not enforced.
 */
async function prepareCgroup(w: TaskWork, td: TaskDefinitionSpec): Promise<void> {
  const { runtime, host } = w.ctx;
  if ((td.cpu === undefined && td.memory === undefined) || !runtime.ensureTaskCgroup || host.cgroupsUnavailable) return;
  const got = await runtime.ensureTaskCgroup(w.task.taskId, { cpuUnits: td.cpu, memoryMiB: td.memory });
  if ("cgroupParent" in got) {
    w.cgroupParent = got.cgroupParent;
    return;
  }
  if (host.cgroupsUnavailable) return; // another task found out at the same time
  host.cgroupsUnavailable = got.unavailable;
  w.ctx.log.warn({ taskId: w.task.taskId }, `task-level cpu and memory are not enforced on this host (no task cgroups): ${got.unavailable}`);
}

export async function namespaceOwner(w: TaskWork): Promise<RuntimeContainer | undefined> {
  const { runtime, instanceId } = w.ctx;
  const found = await runtime.list({ [LABELS.instanceId]: instanceId, [LABELS.taskId]: w.task.taskId, [LABELS.containerName]: NAMESPACE_OWNER_LABEL });
  return found[0];
}

/**
 * Judges `def`'s dependsOn conditions on fresh facts. A condition that can no longer be met, or the
 * container's startTimeout, stops the task with a reason naming both containers and the condition.
 */
async function dependenciesMet(w: TaskWork, def: ContainerDefinition): Promise<"met" | "waiting" | "failed"> {
  const deps = def.dependsOn ?? [];
  if (!deps.length) return "met";
  const task = w.task;
  const timeoutS = def.startTimeout ?? DEFAULT_DEPENDENCY_TIMEOUT_SECONDS;
  let since = w.depWaitSince.get(def.name);
  if (since === undefined) w.depWaitSince.set(def.name, (since = w.ctx.now()));
  const fail = (reason: string) => {
    w.ctx.log.warn({ taskId: task.taskId }, `task ${task.taskId}: ${reason}`);
    requestStop(task, reason, STOP_CODES.failedToStart);
    update(w);
    return "failed" as const;
  };
  const waiting: string[] = [];
  for (const d of deps) {
    const dep = task.containers.find((x) => x.name === d.containerName);
    if (!dep) continue;
    await refreshContainer(w, dep);
    const v = dependencyVerdict(d.condition, dep);
    if (v.state === "failed") return fail(dependencyFailureReason(def.name, dep.name, d.condition, v.why));
    if (v.state === "waiting") waiting.push(`${dep.name} ${d.condition}`);
  }
  if (!waiting.length) return "met";
  if (task.desiredStatus !== "RUNNING") return "failed";
  if (w.ctx.now() > since + timeoutS * 1000) {
    return fail(`DependencyConditionTimeout: container ${def.name} waited ${timeoutS} s (startTimeout) for ${waiting.join(", ")}`);
  }
  return "waiting";
}

/** Records the host ports a started container actually got (ECS networkBindings) and its address. */
async function recordNetwork(w: TaskWork, td: TaskDefinitionSpec, c: AgentContainer, def: ContainerDefinition): Promise<void> {
  const { runtime } = w.ctx;
  const mode = networkModeOf(td);
  const mappings = def.portMappings ?? [];
  if (mode === "host") {
    c.networkBindings = mappings.map((p) => ({ bindIP: "0.0.0.0", containerPort: p.containerPort, hostPort: p.containerPort, protocol: p.protocol }));
  } else if (mode === "bridge" && mappings.length) {
    const rc = await runtime.inspect(c.runtimeId!);
    c.networkBindings = (rc?.ports ?? []).map((p) => ({ bindIP: p.hostIp ?? "0.0.0.0", containerPort: p.containerPort, hostPort: p.hostPort, protocol: p.protocol }));
  } else if (mode === "awsvpc") {
    const owner = await namespaceOwner(w);
    const seen = owner ? await runtime.inspect(owner.id) : null;
    const mine = new Set(mappings.map((p) => `${p.containerPort}/${p.protocol}`));
    c.networkBindings = (seen?.ports ?? [])
      .filter((p) => mine.has(`${p.containerPort}/${p.protocol}`))
      .map((p) => ({ bindIP: p.hostIp ?? "0.0.0.0", containerPort: p.containerPort, hostPort: p.hostPort, protocol: p.protocol }));
    c.privateIpv4Address = seen?.ipAddresses?.[TASK_NETWORK];
  }
}

function transitionMessage(c: AgentContainer, status: string, image: string): string {
  if (status === "PULLED") return `${c.name}: image ${image} ready`;
  if (status === "CREATED") return `${c.name}: container created (${c.runtimeId?.slice(0, 12)})`;
  return `${c.name}: container started`;
}
