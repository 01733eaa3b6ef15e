/**
 * Secret values the control service sent for this instance's tasks, kept in memory only (never in
 * state.json, never logged). The container spec builder reads them when it creates a container.
 */
const byTask = new Map<string, Record<string, Record<string, string>>>();

export function rememberTaskSecrets(taskId: string, secrets: Record<string, Record<string, string>> | undefined): void {
  if (secrets && Object.keys(secrets).length) byTask.set(taskId, secrets);
}

export function forgetTaskSecrets(taskId: string): void {
  byTask.delete(taskId);
}

/** Environment variables from secrets for one container of a task (empty when none). */
export function secretEnv(taskId: string, containerName: string): Record<string, string> {
  return byTask.get(taskId)?.[containerName] ?? {};
}
