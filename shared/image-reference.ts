/**
 * Docker image references (`registry:5000/team/app:1.2@sha256:…`), parsed in one place for the
 * task definition schema, the control's registry look-ups and the agent's registry credentials.
 * Grammar: github.com/distribution/reference; which first component is a registry host follows
 * Docker's own rule (it has a dot or a port, is `localhost`, or has upper-case letters).
 */

const PATH_COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[0-9a-fA-F:]+\\])(?::[0-9]+)?`;
const NAME = `(?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*`;
const TAG = "[\\w][\\w.-]{0,127}";
const DIGEST = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}";
const REFERENCE = new RegExp(`^(${NAME})(?::(${TAG}))?(?:@(${DIGEST}))?$`);

/** Where Docker pulls names without a registry host from. */
export const DEFAULT_REGISTRY = "docker.io";

export interface ImageReference {
  /** The registry host as written (`127.0.0.1:5000`), undefined for Docker Hub names. */
  domain?: string;
  /** The registry pulled from: `domain`, else docker.io. */
  registry: string;
  /** Repository path inside the registry (`team/app`; `nginx` stays `nginx`). */
  repository: string;
  tag?: string;
  digest?: string;
}

/** Parses a reference; undefined when it is not one (the schema's error says so to the user). */
export function parseImageReference(image: string): ImageReference | undefined {
  const m = REFERENCE.exec(image);
  if (!m || m[1]!.length > 255) return undefined;
  const name = m[1]!;
  const domain = domainOf(name);
  // Without a registry host the name is a repository path, whose grammar has no upper case.
  if (!domain && name !== name.toLowerCase()) return undefined;
  return {
    domain,
    registry: domain ?? DEFAULT_REGISTRY,
    repository: domain ? name.slice(domain.length + 1) : name,
    tag: m[2],
    digest: m[3],
  };
}

/** Docker's rule for the first path component: a registry host if it has a dot or a port, is localhost, or has upper case. */
function domainOf(name: string): string | undefined {
  const slash = name.indexOf("/");
  if (slash <= 0) return undefined;
  const first = name.slice(0, slash);
  return /[.:]/.test(first) || first === "localhost" || first !== first.toLowerCase() ? first : undefined;
}

/**
 * The registry an image is pulled from: docker.io for Hub names. A reference that does not parse
 * (the agent may hold one from before a validation rule) still gets Docker's host rule.
 */
export function registryOf(image: string): string {
  return parseImageReference(image)?.registry ?? domainOf(image) ?? DEFAULT_REGISTRY;
}
