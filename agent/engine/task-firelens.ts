import { mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { networkModeOf, type ContainerDefinition, type TaskDefinitionSpec } from "../../shared/task-definition/index.ts";
import type { FirelensPlacement } from "./container-spec.ts";
import { FIRELENS_FORWARD_PORT, firelensConfig, firelensPaths, firelensRouter, firelensSecretEnv, usesFirelens } from "./firelens-config.ts";
import type { TaskWork } from "./task-work.ts";

/**
 * A FireLens task's files on the host, in `{firelensRoot}/{taskId}`: the generated config (written
 * whole, then renamed into place, so the router never reads half a file) and the socket dir the
 * router listens in. Made with the task's other resources, removed at cleanup.
 */
export function prepareFirelens(w: TaskWork, td: TaskDefinitionSpec): void {
  if (!firelensRouter(td)) return;
  const p = firelensPaths(w.ctx.firelensRoot, w.task.taskId);
  mkdirSync(p.configDir, { recursive: true });
  mkdirSync(p.socketDir, { recursive: true });
  const text = firelensConfig({ td, taskArn: w.task.taskArn, clusterName: w.ctx.clusterName, revision: w.task.revision });
  const tmp = `${p.configFile}.tmp`;
  writeFileSync(tmp, text, { mode: 0o644 });
  renameSync(tmp, p.configFile);
}

export function removeFirelensFiles(w: TaskWork): void {
  if (!w.def || !firelensRouter(w.def)) return;
  rmSync(firelensPaths(w.ctx.firelensRoot, w.task.taskId).dir, { recursive: true, force: true });
}

/**
 * Where container `c` stands towards the task's router. For an app container about to be created
 * (`creating`), the address its fluentd driver sends to: on a bridge network the router's address
 * there (Docker's driver runs on the host, which reaches the bridge), else the unix socket.
 */
export async function firelensPlacement(w: TaskWork, td: TaskDefinitionSpec, c: ContainerDefinition, creating: boolean): Promise<FirelensPlacement | undefined> {
  const router = firelensRouter(td);
  if (!router) return undefined;
  const paths = firelensPaths(w.ctx.firelensRoot, w.task.taskId);
  if (c.name === router.name) return { paths, routerEnv: firelensSecretEnv(td, w.secrets.logOptions) };
  if (!usesFirelens(c) || !creating) return { paths };
  if (networkModeOf(td) !== "bridge") return { paths, address: `unix://${paths.socketFile}` };
  const id = w.task.containers.find((x) => x.name === router.name)?.runtimeId;
  const ip = id ? (await w.ctx.runtime.inspect(id))?.ipAddresses?.bridge : undefined;
  if (!ip) throw new Error(`FireLens router "${router.name}" has no address on the bridge network to send "${c.name}"'s log to`);
  return { paths, address: `tcp://${ip}:${FIRELENS_FORWARD_PORT}`, routerHost: ip };
}
