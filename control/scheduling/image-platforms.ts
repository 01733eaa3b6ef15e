/**
 * Which CPU architectures an image runs on, read from its registry, for task definitions without
 * runtimePlatform.cpuArchitecture. Only images named with an explicit registry host
 * (`127.0.0.1:5000/app:1`, `registry.example/app`) are looked up: Docker Hub would need network
 * access and token auth the control service does not assume. Anything that fails (no answer,
 * 401, unknown manifest) means "no restriction", never a placement error.
 */
export type CpuArchitecture = "X86_64" | "ARM64";

export interface ImagePlatformsOptions {
  /** Credentials for a registry host, when the control has them. */
  credentials?: (host: string) => { username: string; password: string } | undefined;
  fetch?: typeof fetch;
  /** How long an answer (including "unknown") is reused. */
  ttlMs?: number;
  timeoutMs?: number;
  now?: () => number;
  /** Registry scheme: loopback registries speak plain HTTP, others HTTPS (as Docker assumes). */
  scheme?: (host: string) => "http" | "https";
}

const ACCEPT = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
].join(", ");

const ECS_ARCH: Record<string, CpuArchitecture> = { amd64: "X86_64", arm64: "ARM64" };

interface ImageRef {
  host: string;
  name: string;
  reference: string;
}

/** Splits `host[:port]/name[:tag|@digest]`; undefined when the first part is not a registry host. */
export function parseImageRef(image: string): ImageRef | undefined {
  const slash = image.indexOf("/");
  if (slash < 0) return undefined;
  const host = image.slice(0, slash);
  // Docker's rule: the first component is a registry host if it has a dot or a port, or is localhost.
  if (!(host.includes(".") || host.includes(":") || host === "localhost")) return undefined;
  let rest = image.slice(slash + 1);
  let reference = "latest";
  const at = rest.indexOf("@");
  if (at >= 0) {
    reference = rest.slice(at + 1);
    rest = rest.slice(0, at);
  } else {
    const colon = rest.lastIndexOf(":");
    if (colon > rest.lastIndexOf("/")) {
      reference = rest.slice(colon + 1);
      rest = rest.slice(0, colon);
    }
  }
  return rest ? { host, name: rest, reference } : undefined;
}

export class ImagePlatforms {
  private cache = new Map<string, { at: number; archs: Promise<Set<CpuArchitecture> | undefined> }>();
  private opts: Required<Omit<ImagePlatformsOptions, "credentials">> & Pick<ImagePlatformsOptions, "credentials">;

  constructor(options: ImagePlatformsOptions = {}) {
    this.opts = {
      credentials: options.credentials,
      fetch: options.fetch ?? fetch,
      ttlMs: options.ttlMs ?? 5 * 60_000,
      timeoutMs: options.timeoutMs ?? 2_000,
      now: options.now ?? Date.now,
      scheme: options.scheme ?? ((h) => (/^(127\.|localhost(:|$)|\[::1\])/.test(h) ? "http" : "https")),
    };
  }

  /**
   * The single architecture every image of a task runs on, or undefined (no restriction) when any
   * image is unknown or the images together allow both.
   */
  async cpuArchitectureFor(images: string[]): Promise<CpuArchitecture | undefined> {
    let allowed: Set<CpuArchitecture> | undefined;
    for (const image of images) {
      const archs = await this.architectures(image);
      if (!archs) continue;
      allowed = allowed ? new Set([...allowed].filter((a) => archs.has(a))) : archs;
    }
    return allowed?.size === 1 ? [...allowed][0] : undefined;
  }

  /** The ECS architectures the image's manifest offers; undefined when not known. */
  architectures(image: string): Promise<Set<CpuArchitecture> | undefined> {
    const ref = parseImageRef(image);
    if (!ref) return Promise.resolve(undefined);
    const hit = this.cache.get(image);
    if (hit && this.opts.now() - hit.at < this.opts.ttlMs) return hit.archs;
    const archs = this.lookup(ref).catch(() => undefined);
    this.cache.set(image, { at: this.opts.now(), archs });
    return archs;
  }

  private async lookup(ref: ImageRef): Promise<Set<CpuArchitecture> | undefined> {
    const manifest = (await this.get(ref, `manifests/${ref.reference}`, ACCEPT)) as {
      manifests?: { platform?: { architecture?: string; os?: string } }[];
      config?: { digest?: string };
    };
    let names: string[];
    if (Array.isArray(manifest.manifests)) {
      // Attestation entries carry platform unknown/unknown; they are not runnable images.
      names = manifest.manifests.map((m) => m.platform?.architecture ?? "").filter((a) => a && a !== "unknown");
    } else if (manifest.config?.digest) {
      const config = (await this.get(ref, `blobs/${manifest.config.digest}`, "*/*")) as { architecture?: string };
      names = config.architecture ? [config.architecture] : [];
    } else return undefined;
    if (names.length === 0 || names.some((n) => !ECS_ARCH[n])) return undefined;
    return new Set(names.map((n) => ECS_ARCH[n]!));
  }

  private async get(ref: ImageRef, path: string, accept: string): Promise<unknown> {
    const headers: Record<string, string> = { accept };
    const cred = this.opts.credentials?.(ref.host);
    if (cred) headers.authorization = `Basic ${btoa(`${cred.username}:${cred.password}`)}`;
    const res = await this.opts.fetch(`${this.opts.scheme(ref.host)}://${ref.host}/v2/${ref.name}/${path}`, {
      headers,
      signal: AbortSignal.timeout(this.opts.timeoutMs),
    });
    if (!res.ok) throw new Error(`registry answered ${res.status}`);
    return res.json();
  }
}
