import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Docker from "dockerode";
import { dockerExec, type HostKill } from "../../../agent/runtime/docker-exec.ts";
import { docker } from "../../helpers/docker.ts";
import { waitFor } from "../../helpers/wait.ts";

const LABEL = `flotilla.test.docker-exec=${process.pid}-${Date.now()}`;
let id: string;

beforeAll(async () => {
  id = await docker("run", "-d", "--label", LABEL, "flotilla/busybox:test", "sleep", "600");
});

afterAll(async () => {
  const left = await docker("ps", "-aq", "--filter", `label=${LABEL}`);
  if (left) await docker("rm", "-f", ...left.split("\n"));
});

/** An agent that may not signal the container's processes (not root, or another user's). */
const refused: HostKill = () => {
  throw Object.assign(new Error("kill EPERM"), { code: "EPERM" });
};

const processes = () => docker("top", id, "-o", "pid,args");

describe("killing a Docker exec (Docker has no exec kill)", () => {
  for (const tty of [false, true]) {
    test(`without permission on the host pid, a kill inside the container ends it (tty ${tty})`, async () => {
      const marker = tty ? "4546" : "4545";
      const proc = await dockerExec(new Docker(), id, { command: ["sleep", marker], tty, stdin: tty }, refused);
      await waitFor(`sleep ${marker} to run`, async () => (await processes()).includes(`sleep ${marker}`));
      await proc.kill();
      await waitFor(`sleep ${marker} to be gone`, async () => !(await processes()).includes(`sleep ${marker}`));
      for await (const _ of proc.output); // the output ends too
    });
  }

  test("the exit code comes from exec inspect", async () => {
    const proc = await dockerExec(new Docker(), id, { command: ["sh", "-c", "echo hi; exit 9"], tty: false, stdin: false });
    let out = "";
    for await (const c of proc.output) out += Buffer.from(c.data).toString();
    expect(out).toBe("hi\n");
    expect(await proc.exitCode()).toBe(9);
  });
});
