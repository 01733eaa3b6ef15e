import { waitForServicesInactive, waitForServicesStable } from "@aws-sdk/client-ecs";
import { serviceActions } from "../../../control/ecs-api/actions/services.ts";
import type { TestOps } from "../../helpers/ops.ts";
import { call } from "./call.ts";

/**
 * One evaluation of an ECS waiter's acceptors (the AWS SDK's, generated from botocore's
 * waiters-2.json — the same JMESPath `aws ecs wait` evaluates) on DescribeServices output as the
 * action returns it now. SUCCESS or FAILURE is the waiter's verdict; RETRY means it would poll
 * again. The waiter is stopped after its first look by a signal that reads "aborted" once it has
 * asked, so nothing here sleeps.
 */
export async function waiterVerdict(
  t: TestOps,
  waiter: "services-stable" | "services-inactive",
  input: { cluster: string; services: string[] },
): Promise<"SUCCESS" | "FAILURE" | "RETRY"> {
  let asked = 0;
  const client = {
    send: async (command: { input: Record<string, unknown> }) => {
      asked++;
      return call(t, serviceActions, "DescribeServices", command.input);
    },
  };
  const abortSignal = { get aborted() { return asked > 0; }, addEventListener() {}, removeEventListener() {}, onabort: null };
  const wait = waiter === "services-stable" ? waitForServicesStable : waitForServicesInactive;
  const r = await wait({ client: client as never, maxWaitTime: 60, minDelay: 1, maxDelay: 1, abortSignal: abortSignal as never }, input);
  if (asked !== 1) throw new Error(`the waiter asked ${asked} times`);
  if (r.state === "SUCCESS" || r.state === "FAILURE") return r.state;
  if (r.state === "ABORTED") return "RETRY";
  throw new Error(`unexpected waiter state ${r.state}`);
}
