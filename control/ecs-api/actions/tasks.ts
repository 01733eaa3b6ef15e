import type { AwsJsonActions } from "../action.ts";

export const taskActions: AwsJsonActions = {};
