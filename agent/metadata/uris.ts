/** ECS's environment variables for the task metadata endpoint (v3 and v4 share the container's id). */
export const METADATA_URI_V3 = "ECS_CONTAINER_METADATA_URI";
export const METADATA_URI_V4 = "ECS_CONTAINER_METADATA_URI_V4";

/**
 * The variables a task container gets so it can read its own metadata: `${base}/v3/${id}` and
 * `${base}/v4/${id}`, as ECS sets them (its base is http://169.254.170.2). Nothing when the agent
 * serves no endpoint or the container has no id (a task saved by an agent that predates them).
 */
export function metadataEnv(baseUrl: string | undefined, metadataId: string | undefined): Record<string, string> {
  if (!baseUrl || !metadataId) return {};
  return { [METADATA_URI_V3]: `${baseUrl}/v3/${metadataId}`, [METADATA_URI_V4]: `${baseUrl}/v4/${metadataId}` };
}

/** The endpoint's base URL for a listen address and port (an IPv6 address in brackets). */
export function metadataBaseUrl(address: string, port: number): string {
  return `http://${address.includes(":") ? `[${address}]` : address}:${port}`;
}
