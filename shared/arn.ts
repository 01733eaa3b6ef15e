/** ECS-shaped ARNs. Flotilla has no AWS account, so the partition says whose they are. */
const PREFIX = "arn:flotilla:ecs:local:000000000000";

export const arn = {
  cluster: (name: string) => `${PREFIX}:cluster/${name}`,
  containerInstance: (cluster: string, id: string) => `${PREFIX}:container-instance/${cluster}/${id}`,
  task: (cluster: string, id: string) => `${PREFIX}:task/${cluster}/${id}`,
  taskDefinition: (family: string, revision: number) => `${PREFIX}:task-definition/${family}:${revision}`,
  service: (cluster: string, name: string) => `${PREFIX}:service/${cluster}/${name}`,
};

/** Accepts a plain name or an ARN of the given kind, returns the last path segment. */
export function nameFromArnOrName(value: string): string {
  if (!value.startsWith("arn:")) return value;
  const slash = value.lastIndexOf("/");
  return slash >= 0 ? value.slice(slash + 1) : value;
}

export const AGENT_VERSION = "0.1.0";
