import { expect, test } from "bun:test";
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "..", "..");

/**
 * Runs a setup script with dpkg saying nothing is installed and apt-get, docker, dockerd and bun
 * replaced by stubs that log, so what it would install is seen without installing anything.
 */
async function aptInstallsOf(script: string): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), "flotilla-ensure-"));
  const log = join(dir, "apt.log");
  const stub = (name: string, body: string) => {
    writeFileSync(join(dir, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(dir, name), 0o755);
  };
  stub("dpkg", "exit 1");
  stub("apt-get", `[ "$1" = install ] && echo "$@" >> ${log}; exit 0`);
  stub("docker", "exit 0");
  stub("dockerd", "exit 0");
  stub("bun", "exit 0");
  stub("npm", "exit 0");
  const proc = Bun.spawn(["bash", join(ROOT, script)], {
    env: { PATH: `${dir}:/usr/bin:/bin`, HOME: dir },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [code, stderr] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
  expect({ code, stderr }).toMatchObject({ code: 0 });
  return readFileSync(log, "utf8").split(/\s+/).filter((w) => w && !w.startsWith("-") && w !== "install");
}

const TEST_ONLY = ["docker-registry", "apache2-utils", "mosquitto", "debootstrap", "llvm", "awscli"];

test("the quickstart's setup installs only what running Flotilla needs; the test setup adds the test-only packages", async () => {
  const run = await aptInstallsOf("scripts/lib/ensure-tools.sh");
  expect(run).toContain("busybox-static");
  for (const p of TEST_ONLY) expect(run).not.toContain(p);
  const tests = await aptInstallsOf("scripts/lib/ensure-test-tools.sh");
  for (const p of [...TEST_ONLY, "busybox-static"]) expect(tests).toContain(p);
  expect(readFileSync(join(ROOT, "scripts/quickstart"), "utf8")).toContain("scripts/lib/ensure-tools.sh");
  expect(readFileSync(join(ROOT, "scripts/test"), "utf8")).toContain("scripts/lib/ensure-test-tools.sh");
});
