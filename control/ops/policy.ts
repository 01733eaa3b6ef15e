import { eq } from "drizzle-orm";
import { z } from "zod";
import { isNoNewPrivileges, type FieldIssue, type TaskDefinitionSpec } from "../../shared/task-definition/index.ts";
import { clusterPolicies } from "../db/schema.ts";
import { requireCluster } from "./clusters.ts";
import type { OpsContext } from "./context.ts";
import { invalid } from "./errors.ts";
import { parseInput } from "./validate.ts";

/**
 * Host-level powers a cluster grants its tasks. Everything is refused unless granted: a task that
 * can reach the host (privileged, host network, host paths, devices, extra capabilities) can take
 * the whole edge host, so the cluster owner opts in knowingly.
 */
export const clusterPolicySchema = z.strictObject({
  allowPrivileged: z.boolean().default(false),
  allowHostNetwork: z.boolean().default(false),
  /** pidMode "host" and ipcMode "host": the task sees and signals the host's processes. */
  allowHostNamespaces: z.boolean().default(false),
  /** Absolute path prefixes host bind mounts (volumes[].host.sourcePath) may use; "/" allows all. */
  allowedHostPaths: z.array(z.string().regex(/^\/[^\u0000]*$/, "must be an absolute path").max(4096)).max(100).default([]),
  allowDevices: z.boolean().default(false),
  /** Capability names linuxParameters.capabilities.add may use; "ALL" allows any. */
  allowedCapabilities: z.array(z.string().regex(/^[A-Z_]{1,64}$/, "must be a capability name such as NET_ADMIN")).max(64).default([]),
  /**
   * dockerSecurityOptions that change the host's confinement of the container (apparmor:, seccomp:,
   * label:); "apparmor:unconfined" or "seccomp:unconfined" lift it. no-new-privileges needs no grant.
   */
  allowSecurityOptions: z.boolean().default(false),
  /**
   * Whether operators may exec into the cluster's task containers (ECS Exec). Allowed unless
   * refused: exec is an operator's tool, not a power a task gains (ECS asks for it per task with
   * enableExecuteCommand; here the cluster owner turns it off for the whole cluster).
   */
  allowExec: z.boolean().default(true),
  /** Service ingress listen ports below 1024 on the hosts (docs/ingress.md): binding them needs root there. */
  allowPrivilegedIngressPorts: z.boolean().default(false),
});
export type ClusterPolicy = z.output<typeof clusterPolicySchema>;

export const DEFAULT_POLICY: ClusterPolicy = clusterPolicySchema.parse({});

export async function getClusterPolicy(ctx: OpsContext, cluster: string): Promise<ClusterPolicy> {
  const c = await requireCluster(ctx, cluster);
  const row = await ctx.db.select().from(clusterPolicies).where(eq(clusterPolicies.clusterName, c.name)).get();
  if (!row) return DEFAULT_POLICY;
  const parsed = clusterPolicySchema.safeParse(row.policy);
  return parsed.success ? parsed.data : DEFAULT_POLICY;
}

/** Replaces the cluster's policy as a whole (PUT semantics: absent fields fall back to their defaults: "refused", except allowExec). */
export async function putClusterPolicy(ctx: OpsContext, cluster: string, input: unknown): Promise<ClusterPolicy> {
  const policy = parseInput(clusterPolicySchema, input);
  const c = await requireCluster(ctx, cluster);
  const now = ctx.clock.now();
  await ctx.serialize(() =>
    ctx.db
      .insert(clusterPolicies)
      .values({ clusterName: c.name, policy, updatedAt: now })
      .onConflictDoUpdate({ target: clusterPolicies.clusterName, set: { policy, updatedAt: now } }),
  );
  return policy;
}

function normalise(p: string): string {
  const parts: string[] = [];
  for (const seg of p.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") parts.pop();
    else parts.push(seg);
  }
  return "/" + parts.join("/");
}

/** True when `path` is `prefix` or below it (segment-wise: /data does not cover /database). */
export function underPrefix(path: string, prefix: string): boolean {
  const p = normalise(path);
  const pre = normalise(prefix);
  return pre === "/" || p === pre || p.startsWith(pre + "/");
}

/** The task definition's uses of host-level power the policy does not grant, as field issues. */
export function policyViolations(policy: ClusterPolicy, td: TaskDefinitionSpec): FieldIssue[] {
  const out: FieldIssue[] = [];
  if (td.networkMode === "host" && !policy.allowHostNetwork) {
    out.push({ path: "networkMode", message: 'networkMode "host" is not allowed by the cluster policy (allowHostNetwork)' });
  }
  if (td.pidMode === "host" && !policy.allowHostNamespaces) {
    out.push({ path: "pidMode", message: 'pidMode "host" is not allowed by the cluster policy (allowHostNamespaces)' });
  }
  if (td.ipcMode === "host" && !policy.allowHostNamespaces) {
    out.push({ path: "ipcMode", message: 'ipcMode "host" is not allowed by the cluster policy (allowHostNamespaces)' });
  }
  (td.volumes ?? []).forEach((v, i) => {
    const src = v.host?.sourcePath;
    if (src !== undefined && !policy.allowedHostPaths.some((pre) => underPrefix(src, pre))) {
      out.push({ path: `volumes[${i}].host.sourcePath`, message: `host path "${src}" is not under an allowed host path of the cluster policy (allowedHostPaths)` });
    }
  });
  td.containerDefinitions.forEach((c, i) => {
    const here = `containerDefinitions[${i}]`;
    if (c.privileged && !policy.allowPrivileged) {
      out.push({ path: `${here}.privileged`, message: "privileged containers are not allowed by the cluster policy (allowPrivileged)" });
    }
    if ((c.linuxParameters?.devices?.length ?? 0) > 0 && !policy.allowDevices) {
      out.push({ path: `${here}.linuxParameters.devices`, message: "host devices are not allowed by the cluster policy (allowDevices)" });
    }
    (c.dockerSecurityOptions ?? []).forEach((opt, j) => {
      if (!isNoNewPrivileges(opt) && !policy.allowSecurityOptions) {
        out.push({ path: `${here}.dockerSecurityOptions[${j}]`, message: `security option "${opt}" is not allowed by the cluster policy (allowSecurityOptions)` });
      }
    });
    const allowAll = policy.allowedCapabilities.includes("ALL");
    (c.linuxParameters?.capabilities?.add ?? []).forEach((cap, j) => {
      if (!allowAll && !policy.allowedCapabilities.includes(cap)) {
        out.push({ path: `${here}.linuxParameters.capabilities.add[${j}]`, message: `capability ${cap} is not allowed by the cluster policy (allowedCapabilities)` });
      }
    });
  });
  return out;
}

/** Throws a 400 naming every refused field when the cluster does not grant what the task needs. */
export async function enforceClusterPolicy(ctx: OpsContext, cluster: string, td: TaskDefinitionSpec): Promise<void> {
  const issues = policyViolations(await getClusterPolicy(ctx, cluster), td);
  if (issues.length) {
    throw invalid(`refused by the policy of cluster "${cluster}": ${issues.map((f) => `${f.path}: ${f.message}`).join("; ")}`, issues);
  }
}
