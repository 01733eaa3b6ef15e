/**
 * Secret values the control service sent for this instance's tasks, kept in memory only (never in
 * state.json, never logged). The container spec builder reads them when it creates a container.
 */
const byTask = new Map<string, Record<string, Record<string, string>>>();
/** repositoryCredentials by task and container name, from the secret credentialsParameter names. */
const registryByTask = new Map<string, Record<string, { username: string; password: string }>>();

export function rememberTaskSecrets(
  taskId: string,
  secrets: Record<string, Record<string, string>> | undefined,
  registry?: Record<string, { username: string; password: string }>,
): void {
  if (secrets && Object.keys(secrets).length) byTask.set(taskId, secrets);
  if (registry && Object.keys(registry).length) registryByTask.set(taskId, registry);
}

export function forgetTaskSecrets(taskId: string): void {
  byTask.delete(taskId);
  registryByTask.delete(taskId);
}

/** The registry credentials the control resolved for one container's image pull, if any. */
export function registryCredentialsFor(taskId: string, containerName: string): { username: string; password: string } | undefined {
  return registryByTask.get(taskId)?.[containerName];
}

/** Environment variables from secrets for one container of a task (empty when none). */
export function secretEnv(taskId: string, containerName: string): Record<string, string> {
  return byTask.get(taskId)?.[containerName] ?? {};
}
