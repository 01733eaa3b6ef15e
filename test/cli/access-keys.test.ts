import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startTestControl, TEST_TOKEN, type TestControl } from "../helpers/control.ts";
import { cli } from "./run-cli.ts";

let tc: TestControl;
let env: Record<string, string>;
const ROOT = join(import.meta.dir, "..", "..");

beforeAll(async () => {
  tc = await startTestControl({ extra: { masterKey: randomBytes(32) } });
  env = { FLOTILLA_API_URL: tc.control.httpUrl, FLOTILLA_TOKEN: TEST_TOKEN };
});
afterAll(async () => {
  await tc?.stop();
});

/** Runs a shell that evals `flotilla aws-env`, then an SDK client configured by nothing but that environment. */
async function sdkWithAwsEnv(awsEnvArgs: string[]) {
  const dir = mkdtempSync(join(tmpdir(), "flotilla-aws-env-"));
  const probe = join(dir, "probe.ts");
  writeFileSync(
    probe,
    `import { SSMClient, DescribeActivationsCommand } from ${JSON.stringify(join(ROOT, "node_modules/@aws-sdk/client-ssm/dist-cjs/index.js"))};
     const out = await new SSMClient({ maxAttempts: 1 }).send(new DescribeActivationsCommand({}));
     console.log(JSON.stringify({ ok: Array.isArray(out.ActivationList), key: process.env.AWS_ACCESS_KEY_ID }));`,
  );
  const script = `set -e; eval "$(bun ${join(ROOT, "control/cli/main.ts")} aws-env ${awsEnvArgs.join(" ")})"; bun ${probe}`;
  const proc = Bun.spawn(["bash", "-c", script], {
    cwd: dir,
    stdout: "pipe",
    stderr: "pipe",
    // HOME and AWS_CONFIG_FILE point at nothing, so no profile or credentials of this machine leak in.
    env: { PATH: process.env.PATH, HOME: dir, AWS_CONFIG_FILE: join(dir, "none"), AWS_SHARED_CREDENTIALS_FILE: join(dir, "none"), FLOTILLA_CONFIG: "/nonexistent", ...env },
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  rmSync(dir, { recursive: true, force: true });
  return { stdout, stderr, code };
}

describe("flotilla access-keys and aws-env", () => {
  test("access-keys create shows the secret once; list shows the key without it; revoke", async () => {
    const created = await cli(["access-keys", "create", "--role", "read-only", "--name", "dashboards", "-o", "json"], env);
    expect(created.code).toBe(0);
    const k = created.json();
    expect(k.accessKeyId).toMatch(/^AKIA/);
    expect(k.secretAccessKey).toHaveLength(40);

    const human = await cli(["access-keys", "create", "--role", "operator", "--name", "ci"], env);
    expect(human.stdout).toContain("Secret access key:");
    expect(human.stdout).toContain("shown only now");

    const list = await cli(["access-keys", "list"], env);
    expect(list.code).toBe(0);
    expect(list.stdout.split("\n")[0]).toMatch(/^ACCESS KEY ID\s+NAME\s+ROLE\s+STATUS\s+CREATED$/);
    expect(list.stdout).toMatch(new RegExp(`${k.accessKeyId}\\s+dashboards\\s+read-only\\s+Active`));
    expect(list.stdout).not.toContain(k.secretAccessKey);

    const revoked = await cli(["access-keys", "revoke", k.accessKeyId], env);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toContain(`access key ${k.accessKeyId} Inactive`);
  });

  test("bad usage exits 2 naming the flag", async () => {
    const noRole = await cli(["access-keys", "create", "--name", "x"], env);
    expect(noRole.code).toBe(2);
    expect(noRole.stderr).toContain("--role must be one of admin, operator, read-only");
    const half = await cli(["aws-env", "--access-key-id", "AKIAAAAAAAAAAAAAAAAA"], env);
    expect(half.code).toBe(2);
    expect(half.stderr).toContain("--access-key-id and --secret-access-key go together");
    const help = await cli(["aws-env", "--help"], env);
    expect(help.code).toBe(0);
    expect(help.stdout).toStartWith("Usage: flotilla aws-env [options]");
  });

  test("aws-env creates a key and prints export lines that an SDK with no other settings works with", async () => {
    const printed = await cli(["aws-env", "--region", "eu-central-1"], env);
    expect(printed.code).toBe(0);
    const lines = printed.stdout.trim().split("\n");
    expect(lines.map((l) => l.split("=")[0])).toEqual([
      "export AWS_ENDPOINT_URL_ECS", "export AWS_ENDPOINT_URL_SSM", "export AWS_ACCESS_KEY_ID",
      "export AWS_SECRET_ACCESS_KEY", "export AWS_REGION", "export AWS_DEFAULT_REGION",
    ]);
    expect(lines[0]).toBe(`export AWS_ENDPOINT_URL_ECS=${tc.control.httpUrl}`);
    expect(lines[4]).toBe("export AWS_REGION=eu-central-1");
    expect(printed.stderr).toContain("created access key AKIA");
    const id = lines[2]!.split("=")[1]!;
    const keys = (await tc.api("GET", "/v1/access-keys")).body.accessKeys;
    expect(keys.find((x: any) => x.accessKeyId === id)).toMatchObject({ role: "operator", name: "aws-env" });

    const r = await sdkWithAwsEnv([]);
    expect(r.stderr).not.toContain("Error");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout.trim().split("\n").at(-1)!).ok).toBe(true);
  });

  test("aws-env with a given key prints it (quoted for the shell) and creates none", async () => {
    const before = (await tc.api("GET", "/v1/access-keys")).body.accessKeys.length;
    const k = (await tc.api("POST", "/v1/access-keys", { name: "given", role: "read-only" })).body;
    const printed = await cli(["aws-env", "--access-key-id", k.accessKeyId, "--secret-access-key", k.secretAccessKey], env);
    expect(printed.code).toBe(0);
    expect(printed.stderr).toBe("");
    expect(printed.stdout).toContain(`export AWS_ACCESS_KEY_ID=${k.accessKeyId}`);
    expect((await tc.api("GET", "/v1/access-keys")).body.accessKeys.length).toBe(before + 1);
    const quoted = await cli(["aws-env", "--access-key-id", "AKIAAAAAAAAAAAAAAAAA", "--secret-access-key", "a'b $(x)"], env);
    expect(quoted.stdout).toContain(`export AWS_SECRET_ACCESS_KEY='a'\\''b $(x)'`);

    const r = await sdkWithAwsEnv(["--access-key-id", k.accessKeyId, "--secret-access-key", `'${k.secretAccessKey}'`]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout.trim().split("\n").at(-1)!)).toEqual({ ok: true, key: k.accessKeyId });
  });
});
