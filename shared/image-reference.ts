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
  const slash = name.indexOf("/");
  const first = slash < 0 ? "" : name.slice(0, slash);
  const isDomain = first !== "" && (/[.:]/.test(first) || first === "localhost" || first !== first.toLowerCase());
  const repository = isDomain ? name.slice(slash + 1) : name;
  // Without a registry host the name is a repository path, whose grammar has no upper case.
  if (!isDomain && name !== name.toLowerCase()) return undefined;
  return {
    domain: isDomain ? first : undefined,
    registry: isDomain ? first : DEFAULT_REGISTRY,
    repository,
    tag: m[2],
    digest: m[3],
  };
}

/** The registry an image is pulled from (docker.io for Hub names and anything unparseable). */
export function registryOf(image: string): string {
  return parseImageReference(image)?.registry ?? DEFAULT_REGISTRY;
}
