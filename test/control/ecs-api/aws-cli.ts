import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface AwsCliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The real aws CLI (Debian's /usr/bin/aws, botocore's model) pointed at a front door served on
 * 127.0.0.1, with a throwaway HOME and config so nothing of the machine's own profile is read.
 * `close` removes that HOME.
 */
export function awsCli(port: () => number) {
  const home = mkdtempSync(join(tmpdir(), "flotilla-aws-cli-"));
  writeFileSync(join(home, "config"), "");
  async function aws(...args: string[]): Promise<AwsCliResult> {
    // Debian's aws CLI, which the setup installs: an `aws` earlier on PATH (a pyenv aws-cli 1.x here)
    // would test another client than the one the docs name.
    const bin = "/usr/bin/aws";
    if (!existsSync(bin)) throw new Error(`${bin} is missing: run scripts/lib/ensure-test-tools.sh (it installs Debian's awscli)`);
    const p = Bun.spawn([bin, "--endpoint-url", `http://127.0.0.1:${port()}`, "--region", "eu-west-1", "--output", "json", ...args], {
      stdout: "pipe",
      stderr: "pipe",
      env: {
        PATH: process.env.PATH ?? "",
        HOME: home,
        AWS_CONFIG_FILE: join(home, "config"),
        AWS_SHARED_CREDENTIALS_FILE: join(home, "credentials"),
        AWS_ACCESS_KEY_ID: "AKIDEXAMPLE",
        AWS_SECRET_ACCESS_KEY: "not-checked-here",
        AWS_EC2_METADATA_DISABLED: "true",
        AWS_MAX_ATTEMPTS: "1",
      },
    });
    const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    return { code, stdout, stderr };
  }
  return { aws, close: () => rmSync(home, { recursive: true, force: true }) };
}
