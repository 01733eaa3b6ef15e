/**
 * A service's chosen DNS names (docs/discovery.md, Chosen names), stored on the service row
 * (`services.discovery`). `name` replaces the label derived from the service's name; each alias is
 * one more label under the cluster's zone answering the same tasks. An alias given through
 * ECS's serviceConnectConfiguration keeps the clientAliases port it came with, so DescribeServices
 * shows it where it was given.
 */
export interface ServiceNaming {
  name?: string;
  aliases?: { name: string; port?: number }[];
}

/** At most this many aliases per service (each is a record set on every host of the cluster). */
export const MAX_ALIASES = 16;
