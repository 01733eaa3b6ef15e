import { awsJson } from "../../helpers/aws-json.ts";
import type { TestOps } from "../../helpers/ops.ts";

/**
 * ECS calls through the AWS JSON front door (`POST /` with X-Amz-Target, in process through the
 * Hono app, with the admin token): what the aws CLI and SDKs send. `call` returns the body of a
 * 200; `refusal` the error as the protocol writes it.
 */
type App = TestOps["app"];

export async function call(app: App, action: string, input: Record<string, unknown> = {}): Promise<any> {
  const r = await awsJson(app, action, input);
  if (r.status !== 200) throw new Error(`${action} answered ${r.status}: ${JSON.stringify(r.body)}`);
  return r.body;
}

export interface Refusal {
  status: number;
  /** `__type`: ECS's exception name. */
  code: string;
  message: string;
  /** The field paths the message names: operations write `path: message; path: message`. */
  paths: string[];
}

export async function refusal(app: App, action: string, input: Record<string, unknown> = {}): Promise<Refusal> {
  const r = await awsJson(app, action, input);
  if (r.status === 200) throw new Error(`expected ${action} to be refused, but it answered ${JSON.stringify(r.body)}`);
  const message = String(r.body.message);
  const paths = message
    .split("; ")
    .map((part) => /^([A-Za-z][\w.[\]]*): /.exec(part)?.[1])
    .filter((p): p is string => p !== undefined);
  return { status: r.status, code: r.body.__type, message, paths };
}
