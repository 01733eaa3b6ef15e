import type { FieldIssue } from "./issues.ts";

/**
 * Recognises a Windows task definition before it is checked field by field, so the user gets one
 * sentence ("Windows containers are not supported") instead of an error for every Windows-only
 * path. Works on the raw body; anything not shaped as expected is simply not a marker.
 */

export const WINDOWS_NOT_SUPPORTED = "Windows containers are not supported: Flotilla runs Linux containers only";

/**
 * Windows base images and the images built on them that ECS's own examples use. A tag such as
 * `ltsc2022`, `nanoserver` or `windowsservercore` marks a Windows variant of any repository.
 */
const WINDOWS_REPOSITORY =
  /^(?:mcr\.microsoft\.com\/(?:windows(?:\/[a-z0-9._-]+)*|dotnet\/framework\/[a-z0-9._-]+)|(?:docker\.io\/)?microsoft\/(?:windowsservercore|nanoserver|iis|dotnet-framework|aspnet|mssql-server-windows[a-z0-9-]*))$/i;
const WINDOWS_TAG = /(?:^|[-_.])(?:windowsservercore|servercore|nanoserver|ltsc20\d\d)(?:$|[-_.])/i;

function imageIsWindows(image: string): boolean {
  const noDigest = image.split("@")[0] ?? "";
  const slash = noDigest.lastIndexOf("/");
  const colon = noDigest.lastIndexOf(":");
  const [repo, tag] = colon > slash ? [noDigest.slice(0, colon), noDigest.slice(colon + 1)] : [noDigest, ""];
  return WINDOWS_REPOSITORY.test(repo) || WINDOWS_TAG.test(tag);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** The first sign that `body` is a Windows task definition, as one field issue, or null. */
export function windowsMarker(body: unknown): FieldIssue | null {
  if (!isObject(body)) return null;
  const os = isObject(body.runtimePlatform) ? body.runtimePlatform.operatingSystemFamily : undefined;
  if (typeof os === "string" && os.toUpperCase().startsWith("WINDOWS")) {
    return issue("runtimePlatform.operatingSystemFamily", `operatingSystemFamily is ${JSON.stringify(os)}`);
  }
  const volumes = Array.isArray(body.volumes) ? body.volumes : [];
  for (const [k, v] of volumes.entries()) {
    if (isObject(v) && v.fsxWindowsFileServerVolumeConfiguration != null) {
      return issue(`volumes[${k}].fsxWindowsFileServerVolumeConfiguration`, "it mounts an FSx for Windows File Server volume");
    }
  }
  const containers = Array.isArray(body.containerDefinitions) ? body.containerDefinitions : [];
  for (const [i, c] of containers.entries()) {
    if (!isObject(c)) continue;
    const options = Array.isArray(c.dockerSecurityOptions) ? c.dockerSecurityOptions : [];
    for (const [j, o] of options.entries()) {
      if (typeof o === "string" && o.startsWith("credentialspec:")) {
        return issue(`containerDefinitions[${i}].dockerSecurityOptions[${j}]`, "it uses a gMSA credential spec");
      }
    }
    if (typeof c.image === "string" && imageIsWindows(c.image)) {
      return issue(`containerDefinitions[${i}].image`, `${JSON.stringify(c.image)} is a Windows image`);
    }
  }
  return null;
}

function issue(path: string, why: string): FieldIssue {
  return { path, message: `${WINDOWS_NOT_SUPPORTED}, and this task definition is for Windows (${why}).` };
}
