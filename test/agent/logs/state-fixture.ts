import type { AgentState } from "../../../agent/store/state-file.ts";

/** An agent state with one RUNNING task t1 whose container "app" is Docker container c1. */
export const STATE: AgentState = {
  version: 1,
  generation: 1,
  lastEpoch: 1,
  tasks: {
    t1: {
      taskId: "t1", taskArn: "arn:t1", family: "f", revision: 1, taskDefinitionArn: "arn:f:1", definition: {},
      desiredStatus: "RUNNING", knownStatus: "RUNNING",
      containers: [{ name: "app", image: "x", essential: true, knownStatus: "RUNNING", runtimeId: "c1" }],
    },
  },
} as AgentState;
