
/**
 * The CloudWatch Logs group and stream ECS would give an awslogs container: with
 * `awslogs-stream-prefix`, `prefix/container-name/task-id`; without one, Docker's awslogs default,
 * the container's Docker id (known once the container exists). Flotilla keeps the log on the host
 * and serves it under that name, so a name copied from ECS habits finds the container.
 */
export function awslogsStream(
  c: { readonly name: string; readonly logConfiguration?: { readonly logDriver: string; readonly options?: Readonly<Record<string, string>> } },
  taskId: string,
  runtimeId?: string,
): { group?: string; stream?: string } | undefined {
  const lc = c.logConfiguration;
  if (lc?.logDriver !== "awslogs") return undefined;
  const prefix = lc.options?.["awslogs-stream-prefix"];
  return { group: lc.options?.["awslogs-group"], stream: prefix ? `${prefix}/${c.name}/${taskId}` : runtimeId };
}
