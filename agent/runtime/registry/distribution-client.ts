import { createHash } from "node:crypto";
import { parseImageReference } from "../../../shared/image-reference.ts";

/**
 * The agent's own client of the registry HTTP API v2 (the OCI distribution spec), for pulls the
 * agent makes itself instead of dockerd: under a bandwidth cap, resumable, or from a peer. It
 * does only what a pull needs: the auth challenge (Basic, or Bearer tokens from the realm the
 * registry names, with the task's or the agent's credentials), manifests (an index or manifest
 * list resolved to the host's platform), and blob GETs from a byte offset (Range). npm's registry
 * clients (@snyk/docker-registry-v2-client, docker-registry-client) buffer a whole blob in
 * memory and cannot resume one, so this is written here.
 */

export const MANIFEST_ACCEPT = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
].join(", ");

const INDEX_TYPES = new Set(["application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json"]);

export interface Descriptor {
  mediaType?: string;
  digest: string;
  size: number;
  platform?: { os?: string; architecture?: string; variant?: string };
}

export interface ImageManifest {
  schemaVersion: number;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
}

/** What a pull needs from the manifest: the digest the image is known by, and its blobs. */
export interface ResolvedManifest {
  /** Digest of the manifest (the repo digest `repo@sha256:…` names). */
  digest: string;
  manifest: ImageManifest;
}

export interface Platform {
  os: string;
  /** Go's names, as manifests use them: amd64, arm64, arm. */
  architecture: string;
  variant?: string;
}

export interface RegistryLocation {
  host: string;
  /** The repository inside the registry (`library/nginx` on Docker Hub). */
  repository: string;
  /** Tag or digest. */
  reference: string;
}

export class RegistryError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** Where an image reference is pulled from; undefined when it does not parse. */
export function registryLocation(image: string): RegistryLocation | undefined {
  const ref = parseImageReference(image);
  if (!ref) return undefined;
  const hub = ref.registry === "docker.io";
  return {
    host: hub ? "registry-1.docker.io" : ref.registry,
    repository: hub && !ref.repository.includes("/") ? `library/${ref.repository}` : ref.repository,
    reference: ref.digest ?? ref.tag ?? "latest",
  };
}

/** Node's architecture names as the OCI platform has them. */
export function hostPlatform(arch: string = process.arch): Platform {
  const architecture = { x64: "amd64", arm64: "arm64", arm: "arm", ia32: "386", ppc64: "ppc64le", s390x: "s390x" }[arch] ?? arch;
  return { os: "linux", architecture, ...(architecture === "arm64" ? { variant: "v8" } : {}) };
}

export interface DistributionClientOptions {
  /** Credentials for the image's registry (the task's, else the agent's file). */
  credentials?: { username: string; password: string };
  fetch?: typeof fetch;
  /** Loopback registries speak plain HTTP, others HTTPS, as Docker assumes. */
  scheme?: (host: string) => "http" | "https";
  timeoutMs?: number;
}

/** One client per pull (one repository): it keeps the repository's Bearer token between requests. */
export class DistributionClient {
  private authorization: string | undefined;
  private readonly fetch: typeof fetch;
  private readonly base: string;

  constructor(
    readonly location: RegistryLocation,
    private readonly opts: DistributionClientOptions = {},
  ) {
    this.fetch = opts.fetch ?? fetch;
    const scheme = (opts.scheme ?? defaultScheme)(location.host);
    this.base = `${scheme}://${location.host}/v2/${location.repository}`;
  }

  /** The image's manifest for `platform`, following an index or manifest list to it. */
  async resolve(platform: Platform): Promise<ResolvedManifest> {
    let { body, digest, mediaType } = await this.manifest(this.location.reference);
    let parsed = JSON.parse(body.toString("utf8")) as { mediaType?: string; manifests?: Descriptor[] } & Partial<ImageManifest>;
    if (INDEX_TYPES.has(mediaType) || INDEX_TYPES.has(parsed.mediaType ?? "") || Array.isArray(parsed.manifests)) {
      const chosen = choosePlatform(parsed.manifests ?? [], platform);
      if (!chosen) throw new RegistryError(`no manifest for ${platform.os}/${platform.architecture} in the manifest list`);
      ({ body, digest } = await this.manifest(chosen.digest));
      parsed = JSON.parse(body.toString("utf8"));
    }
    if (parsed.schemaVersion !== 2 || !parsed.config?.digest || !Array.isArray(parsed.layers)) {
      throw new RegistryError(`unsupported manifest (schemaVersion ${parsed.schemaVersion ?? "?"}, ${parsed.mediaType ?? mediaType})`);
    }
    return { digest, manifest: parsed as ImageManifest };
  }

  /** GET of a blob from `offset` on (a Range request when offset > 0). The caller checks `status`: 206 resumes, 200 starts over. */
  async blob(digest: string, offset = 0, signal?: AbortSignal): Promise<Response> {
    const res = await this.request(`${this.base}/blobs/${digest}`, offset > 0 ? { range: `bytes=${offset}-` } : {}, signal);
    if (res.status !== 200 && res.status !== 206) {
      await res.body?.cancel();
      throw new RegistryError(`blob ${digest}: ${res.status} ${await errorText(res)}`, res.status);
    }
    return res;
  }

  private async manifest(reference: string): Promise<{ body: Buffer; digest: string; mediaType: string }> {
    const res = await this.request(`${this.base}/manifests/${reference}`, { accept: MANIFEST_ACCEPT });
    if (res.status !== 200) throw new RegistryError(`manifest ${this.location.repository}:${reference}: ${res.status} ${await errorText(res)}`, res.status);
    const body = Buffer.from(await res.arrayBuffer());
    const digest = `sha256:${createHash("sha256").update(body).digest("hex")}`;
    // A manifest asked for by digest must be the one named: the registry is not trusted for it.
    if (reference.startsWith("sha256:") && reference !== digest) throw new RegistryError(`manifest ${reference}: the registry sent ${digest}`);
    return { body, digest, mediaType: (res.headers.get("content-type") ?? "").split(";")[0]!.trim() };
  }

  /** A request with the repository's authorization; a 401 answers the registry's challenge once and tries again. */
  private async request(url: string, headers: Record<string, string>, signal?: AbortSignal): Promise<Response> {
    const send = () =>
      this.fetch(url, {
        headers: { ...headers, ...(this.authorization ? { authorization: this.authorization } : {}) },
        signal: signal ?? (this.opts.timeoutMs ? AbortSignal.timeout(this.opts.timeoutMs) : undefined),
      });
    let res = await send();
    if (res.status !== 401) return res;
    const challenge = res.headers.get("www-authenticate") ?? "";
    await res.body?.cancel();
    this.authorization = await this.answer(challenge);
    res = await send();
    return res;
  }

  private async answer(challenge: string): Promise<string> {
    const creds = this.opts.credentials;
    const basic = creds ? `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString("base64")}` : undefined;
    const scheme = challenge.split(" ")[0]!.toLowerCase();
    if (scheme === "basic") {
      if (!basic) throw new RegistryError(`${this.location.host} asks for credentials and the agent has none for it`, 401);
      return basic;
    }
    if (scheme !== "bearer") throw new RegistryError(`${this.location.host}: unsupported auth challenge "${challenge}"`, 401);
    const params = parseChallenge(challenge.slice(challenge.indexOf(" ") + 1));
    if (!params.realm) throw new RegistryError(`${this.location.host}: Bearer challenge without a realm`, 401);
    const url = new URL(params.realm);
    if (params.service) url.searchParams.set("service", params.service);
    url.searchParams.set("scope", params.scope ?? `repository:${this.location.repository}:pull`);
    const res = await this.fetch(url, { headers: basic ? { authorization: basic } : {}, signal: this.opts.timeoutMs ? AbortSignal.timeout(this.opts.timeoutMs) : undefined });
    if (res.status !== 200) throw new RegistryError(`token from ${url.host}: ${res.status} ${await errorText(res)}`, res.status);
    const body = (await res.json()) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (!token) throw new RegistryError(`token from ${url.host}: no token in the answer`);
    return `Bearer ${token}`;
  }
}

function defaultScheme(host: string): "http" | "https" {
  return /^(127\.|localhost(:|$)|\[::1\])/.test(host) ? "http" : "https";
}

/** `realm="https://auth.docker.io/token",service="registry.docker.io",scope="…"` → its parameters. */
export function parseChallenge(params: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of params.matchAll(/(\w+)="([^"]*)"/g)) out[m[1]!.toLowerCase()] = m[2]!;
  return out;
}

/** The index entry for the platform: os and architecture must match; a variant is preferred when named. */
export function choosePlatform(manifests: Descriptor[], platform: Platform): Descriptor | undefined {
  const fits = manifests.filter((m) => m.platform?.os === platform.os && m.platform?.architecture === platform.architecture);
  return fits.find((m) => platform.variant && m.platform?.variant === platform.variant) ?? fits.find((m) => !m.platform?.variant) ?? fits[0];
}

async function errorText(res: Response): Promise<string> {
  const text = await res.text().catch(() => "");
  try {
    const errors = (JSON.parse(text) as { errors?: { code?: string; message?: string }[] }).errors;
    if (errors?.length) return errors.map((e) => `${e.code ?? ""}: ${e.message ?? ""}`.trim()).join("; ");
  } catch {
    // not the registry's JSON error
  }
  return text.slice(0, 200) || res.statusText;
}
