import { parseImageReference } from "../../shared/image-reference.ts";

/**
 * Which CPU architectures an image runs on, read from its registry, for task definitions without
 * runtimePlatform.cpuArchitecture. Only images named with an explicit registry host
 * (`127.0.0.1:5000/app:1`, `registry.example/app`) are looked up: Docker Hub would need network
 * access and token auth the control service does not assume. A registry that asks for credentials
 * the control was not given is treated the same way: not checkable, so nothing is required and
 * nothing is said (every RunTask would say it otherwise, with nothing the caller could do but set
 * runtimePlatform).
 *
 * The look-up is kept off RunTask's path: it starts when a task definition is registered (and
 * for every ACTIVE one when the control starts), answers are cached per image and refreshed in
 * the background once stale while the old answer keeps serving, and a RunTask that finds no
 * answer yet waits at most `waitMs` for one. A task whose platform could not be checked (no
 * answer in time, registry unreachable, refused, unknown manifest) is placed without the
 * architecture constraint — an unknown platform never blocks a launch — and the caller is told
 * (RunTask failures[], a service event).
 */
export type CpuArchitecture = "X86_64" | "ARM64";

export interface ImagePlatformsOptions {
  /** Credentials for a registry host, when the control has them. */
  credentials?: (host: string) => { username: string; password: string } | undefined;
  fetch?: typeof fetch;
  /** How long an answer is fresh; after that it is refreshed in the background while still used. */
  ttlMs?: number;
  /** How soon a look-up that failed is tried again. */
  retryMs?: number;
  /** Per registry request (in the background: RunTask never waits this long). */
  timeoutMs?: number;
  /** The longest a RunTask waits for a look-up still in flight. */
  waitMs?: number;
  now?: () => number;
  /** Registry scheme: loopback registries speak plain HTTP, others HTTPS (as Docker assumes). */
  scheme?: (host: string) => "http" | "https";
}

/** What the look-up found: the image's ECS architectures (undefined: no restriction), or why it could not tell. */
type Answer = { ok: true; archs: Set<CpuArchitecture> | undefined } | { ok: false; why: string };

interface Entry {
  /** When `answer` was obtained. */
  at: number;
  answer?: Answer;
  pending?: Promise<Answer>;
}

/** The outcome for one task: the architecture to require, and the images that could not be checked. */
export interface PlatformCheck {
  cpuArchitecture?: CpuArchitecture;
  unchecked: { image: string; why: string }[];
}

const ACCEPT = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
].join(", ");

const ECS_ARCH: Record<string, CpuArchitecture> = { amd64: "X86_64", arm64: "ARM64" };

interface RegistryRef {
  host: string;
  name: string;
  reference: string;
}

/** The registry, repository and tag or digest to ask for; undefined for Docker Hub names. */
function registryRef(image: string): RegistryRef | undefined {
  const ref = parseImageReference(image);
  if (!ref?.domain) return undefined;
  return { host: ref.domain, name: ref.repository, reference: ref.digest ?? ref.tag ?? "latest" };
}

class RegistryError extends Error {}
/** The registry wants credentials the control does not have: like a Docker Hub name, not checkable. */
class NeedsCredentials extends Error {}

export class ImagePlatforms {
  private cache = new Map<string, Entry>();
  /** Parsed references, so a RunTask of a known image does not run the reference grammar again. */
  private refs = new Map<string, RegistryRef | null>();
  private opts: Required<Omit<ImagePlatformsOptions, "credentials">> & Pick<ImagePlatformsOptions, "credentials">;

  constructor(options: ImagePlatformsOptions = {}) {
    this.opts = {
      credentials: options.credentials,
      fetch: options.fetch ?? fetch,
      ttlMs: options.ttlMs ?? 5 * 60_000,
      retryMs: options.retryMs ?? 30_000,
      timeoutMs: options.timeoutMs ?? 10_000,
      waitMs: options.waitMs ?? 200,
      now: options.now ?? Date.now,
      scheme: options.scheme ?? ((h) => (/^(127\.|localhost(:|$)|\[::1\])/.test(h) ? "http" : "https")),
    };
  }

  /** Starts look-ups for images not known yet (or stale); returns at once. */
  prefetch(images: string[]): void {
    for (const image of images) {
      const ref = this.refOf(image);
      if (ref) this.entry(image, ref);
    }
  }

  /**
   * The single architecture every image of a task runs on (undefined when the images allow both
   * or any is unknown), waiting at most `waitMs` altogether for look-ups still in flight.
   */
  async check(images: string[]): Promise<PlatformCheck> {
    const unchecked: PlatformCheck["unchecked"] = [];
    let allowed: Set<CpuArchitecture> | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let deadline: Promise<undefined> | undefined;
    try {
      for (const image of new Set(images)) {
        const ref = this.refOf(image);
        if (!ref) continue;
        const e = this.entry(image, ref);
        let answer = e.answer;
        if ((!answer || !answer.ok) && e.pending) {
          deadline ??= new Promise((resolve) => {
            timer = setTimeout(() => resolve(undefined), this.opts.waitMs);
          });
          answer = (await Promise.race([e.pending, deadline])) ?? answer;
          answer ??= { ok: false, why: `registry ${ref.host} did not answer within ${this.opts.waitMs} ms (still asking)` };
        }
        if (!answer) continue;
        if (!answer.ok) {
          unchecked.push({ image, why: answer.why });
          continue;
        }
        const archs = answer.archs;
        if (!archs) continue;
        allowed = allowed ? new Set([...allowed].filter((a) => archs.has(a))) : archs;
      }
    } finally {
      if (timer) clearTimeout(timer);
    }
    // Architecture of an image that could not be checked is unknown: requiring the others' alone
    // could still place it where it cannot run, so nothing is required then.
    const cpuArchitecture = unchecked.length === 0 && allowed?.size === 1 ? [...allowed][0] : undefined;
    return { cpuArchitecture, unchecked };
  }

  private refOf(image: string): RegistryRef | null {
    let ref = this.refs.get(image);
    if (ref === undefined) {
      ref = registryRef(image) ?? null;
      this.refs.set(image, ref);
    }
    return ref;
  }

  /** The cache entry for an image, starting a look-up when there is no answer or it is stale. */
  private entry(image: string, ref: RegistryRef): Entry {
    let e = this.cache.get(image);
    if (!e) {
      e = { at: 0 };
      this.cache.set(image, e);
    }
    const age = this.opts.now() - e.at;
    const stale = !e.answer || age >= (e.answer.ok ? this.opts.ttlMs : this.opts.retryMs);
    if (stale && !e.pending) {
      const entry = e;
      entry.pending = this.lookup(ref).then((answer) => {
        entry.answer = answer;
        entry.at = this.opts.now();
        entry.pending = undefined;
        return answer;
      });
    }
    return e;
  }

  private async lookup(ref: RegistryRef): Promise<Answer> {
    try {
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
      } else return { ok: false, why: `registry ${ref.host} sent a manifest without platforms` };
      // An architecture ECS has no name for (s390x, …): checked, but nothing to require.
      if (names.length === 0 || names.some((n) => !ECS_ARCH[n])) return { ok: true, archs: undefined };
      return { ok: true, archs: new Set(names.map((n) => ECS_ARCH[n]!)) };
    } catch (e) {
      if (e instanceof NeedsCredentials) return { ok: true, archs: undefined };
      if (e instanceof RegistryError) return { ok: false, why: e.message };
      const err = e as Error;
      const why = err.name === "TimeoutError" ? `did not answer within ${this.opts.timeoutMs} ms` : `could not be reached (${err.message})`;
      return { ok: false, why: `registry ${ref.host} ${why}` };
    }
  }

  private async get(ref: RegistryRef, path: string, accept: string): Promise<unknown> {
    const headers: Record<string, string> = { accept };
    const cred = this.opts.credentials?.(ref.host);
    if (cred) headers.authorization = `Basic ${btoa(`${cred.username}:${cred.password}`)}`;
    const res = await this.opts.fetch(`${this.opts.scheme(ref.host)}://${ref.host}/v2/${ref.name}/${path}`, {
      headers,
      signal: AbortSignal.timeout(this.opts.timeoutMs),
    });
    if (!res.ok) {
      await res.body?.cancel();
      if ((res.status === 401 || res.status === 403) && !cred) throw new NeedsCredentials();
      const hint = res.status === 404 ? " (no such image)" : "";
      throw new RegistryError(`registry ${ref.host} answered ${res.status} for ${ref.name}:${ref.reference}${hint}`);
    }
    return res.json();
  }
}
