import { FLOTILLA_VERSION } from "../../shared/version.ts";

/** The CLI's version is the release's (package.json), the same number the agent reports. */
export const CLI_VERSION: string = FLOTILLA_VERSION;
