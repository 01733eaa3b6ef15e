import pkg from "../../package.json" with { type: "json" };

/** The CLI's version is the release's (package.json), the same number the agent reports. */
export const CLI_VERSION: string = pkg.version;
