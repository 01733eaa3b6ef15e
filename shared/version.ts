import pkg from "../package.json" with { type: "json" };

/** Replaced at compile time by `scripts/build/compile.ts --version` (Bun's `define`); unset in source runs. */
declare const FLOTILLA_BUILD_VERSION: string | undefined;

/**
 * This process's own Flotilla version: the one a compiled binary was built as, else the release's
 * (package.json) when run from source. The agent reports it (versionInfo.agentVersion); the
 * control judges agents' version skew against its own (shared/agent-version-skew.ts).
 */
export const FLOTILLA_VERSION: string = typeof FLOTILLA_BUILD_VERSION === "string" ? FLOTILLA_BUILD_VERSION : pkg.version;
