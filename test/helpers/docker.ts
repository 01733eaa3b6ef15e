import { readdirSync, readFileSync, rmdirSync } from "node:fs";
import { join } from "node:path";
import { parseCgroupMounts, TASK_CGROUP_ROOT } from "../../agent/runtime/task-cgroups.ts";

/** Small `docker` CLI helpers: tests look at the engine the way an operator would. */
export async function docker(...args: string[]): Promise<string> {
  const p = Bun.spawn(["docker", ...args], { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`docker ${args.join(" ")} failed: ${err.trim()}`);
  return out.trim();
}

/** Ids of running containers carrying a label (KEY=VALUE). */
export async function runningWithLabel(label: string): Promise<string[]> {
  const out = await docker("ps", "-q", "--no-trunc", "--filter", `label=${label}`);
  return out ? out.split("\n") : [];
}

/** Removes every container of a Flotilla instance (test clean-up). */
export async function removeInstanceContainers(instanceId: string): Promise<void> {
  const out = await docker("ps", "-aq", "--filter", `label=flotilla.instance-id=${instanceId}`);
  if (!out) return;
  await docker("rm", "-f", ...out.split("\n"));
  await removeOrphanTaskCgroups();
}

/**
 * The agent removes a task's cgroup at task cleanup; containers removed behind its back (as above)
 * leave it behind, empty. Removes the task cgroups no container of any task still uses.
 */
async function removeOrphanTaskCgroups(): Promise<void> {
  const all = await docker("ps", "-a", "--format", '{{.Label "flotilla.task-id"}}');
  const live = new Set(all.split("\n").filter(Boolean));
  for (const mount of parseCgroupMounts(readFileSync("/proc/self/mountinfo", "utf8"))) {
    const root = join(mount.mountPoint, TASK_CGROUP_ROOT);
    let taskIds: string[] = [];
    try {
      taskIds = readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
    } catch {
      continue;
    }
    for (const taskId of taskIds) {
      if (live.has(taskId)) continue;
      try {
        rmdirSync(join(root, taskId));
      } catch {
        // Still has processes or a child: a container is on its way out; the next sweep takes it.
      }
    }
  }
}

/** Removes one task's cgroups (for a task whose containers were removed behind the agent's back). */
export function removeTaskCgroup(taskId: string): void {
  for (const mount of parseCgroupMounts(readFileSync("/proc/self/mountinfo", "utf8"))) {
    try {
      rmdirSync(join(mount.mountPoint, TASK_CGROUP_ROOT, taskId));
    } catch {
      // Not there (this controller or host has none), or gone already.
    }
  }
}
