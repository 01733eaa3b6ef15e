import { LABELS } from "../../shared/labels.ts";
import { networkModeOf, type TaskDefinitionSpec } from "../../shared/task-definition/index.ts";
import type { HolderImage } from "../runtime/pause-image/pause-image.ts";
import type { ContainerSpec, PortBinding } from "../runtime/types.ts";
import { containerLabels, type TaskIdentity } from "./container-spec.ts";

/**
 * awsvpc on an edge host: the task gets one network namespace of its own, held by a small hidden
 * container on the Flotilla bridge network. The task's containers join it (`container:` mode), so
 * they reach each other on localhost like a Kubernetes pod, and the task has its own address.
 * The same holder (ECS's pause container) carries the task's shared PID and IPC namespaces for
 * `pidMode: "task"` / `ipcMode: "task"`, in every network mode.
 */

/** The Docker bridge network awsvpc tasks get their addresses on (created once, idempotently). */
export const TASK_NETWORK = "flotilla";

/** Container-name label of the namespace holder; "~" cannot occur in an ECS container name. */
export const NAMESPACE_OWNER_LABEL = "~netns";

/** Docker name of a task's namespace holder ("." cannot occur in an ECS container name either). */
export function namespaceOwnerName(taskId: string): string {
  return `flotilla-${taskId}.netns`;
}

export function isNamespaceOwner(labels: Record<string, string>): boolean {
  return labels[LABELS.containerName] === NAMESPACE_OWNER_LABEL;
}

/** Whether the task has namespaces of its own that a hidden holder container must keep alive. */
export function needsNamespaceHolder(td: TaskDefinitionSpec): boolean {
  return networkModeOf(td) === "awsvpc" || td.pidMode === "task" || td.ipcMode === "task";
}

/** Why the task stops when its holder dies (its containers lose their network or PID 1). */
export function holderExitReason(td: TaskDefinitionSpec | null): string {
  if (!td || networkModeOf(td) === "awsvpc") return "Task network namespace holder exited (networkMode awsvpc)";
  return `Task namespace holder exited (${[td.pidMode === "task" && 'pidMode "task"', td.ipcMode === "task" && 'ipcMode "task"'].filter(Boolean).join(", ")})`;
}

/** Every port mapping of the task, published on the host at hostPort = containerPort. */
export function taskPortBindings(td: TaskDefinitionSpec): PortBinding[] {
  const seen = new Set<string>();
  const out: PortBinding[] = [];
  for (const c of td.containerDefinitions) {
    for (const p of c.portMappings ?? []) {
      const key = `${p.containerPort}/${p.protocol}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ containerPort: p.containerPort, hostPort: p.containerPort, protocol: p.protocol });
    }
  }
  return out;
}

function largest(values: (number | undefined)[]): number | undefined {
  const set = values.filter((v): v is number => v !== undefined);
  return set.length ? Math.max(...set) : undefined;
}

function union(lists: (readonly string[] | undefined)[]): string[] | undefined {
  const all = [...new Set(lists.flatMap((l) => l ?? []))];
  return all.length ? all : undefined;
}

/**
 * The namespace holder (the image and what it runs: runtime/pause-image): waits until stopped and
 * exits 0 on SIGTERM. With pidMode "task" it is the PID 1 of the task's processes (reaping
 * orphans); with ipcMode "task" its IPC namespace is made shareable. Outside awsvpc it has no
 * network of its own ("none").
 */
export function namespaceOwnerSpec(t: TaskIdentity, td: TaskDefinitionSpec, holder: HolderImage, cgroupParent?: string): ContainerSpec {
  const cs = td.containerDefinitions;
  const common = {
    name: namespaceOwnerName(t.taskId),
    image: holder.image,
    labels: containerLabels(t, NAMESPACE_OWNER_LABEL),
    entryPoint: holder.entryPoint,
    command: [],
    stopTimeoutSeconds: 5,
    memoryMiB: 16,
    ipcMode: td.ipcMode === "task" ? "shareable" : undefined,
    // The task's /dev/shm is the holder's: as large as the largest sharedMemorySize asked for.
    shmSizeMiB: td.ipcMode === "task" ? largest(cs.map((c) => c.linuxParameters?.sharedMemorySize)) : undefined,
    cgroupParent,
  };
  if (networkModeOf(td) !== "awsvpc") return { ...common, networkMode: "none", portBindings: [] };
  return {
    ...common,
    networkMode: "bridge",
    networkName: TASK_NETWORK,
    portBindings: taskPortBindings(td),
    // DNS and /etc/hosts belong to the namespace, so the task's containers' settings go here.
    dnsServers: union(cs.map((c) => c.dnsServers)),
    dnsSearchDomains: union(cs.map((c) => c.dnsSearchDomains)),
    extraHosts: union(cs.map((c) => c.extraHosts?.map((h) => `${h.hostname}:${h.ipAddress}`))),
  };
}
