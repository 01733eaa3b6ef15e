/**
 * Agent binaries benchmark (issue 7): builds the single-file binaries with scripts/build-agent,
 * then for each architecture starts the agent against a test control service, waits until it is
 * registered and connected, lets it idle, and samples its RSS. arm64 runs under qemu-user-static,
 * so its RSS includes the emulator and its translation cache (an upper bound for a real Pi).
 * Also measures the compiled CLI's peak RSS for one `clusters list`. Prints one JSON object.
 *
 *   bun scripts/bench/agent-binaries.ts [--idle-seconds S]
 */
import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startTestControl, TEST_TOKEN } from "../../test/helpers/control.ts";
import { activation } from "../../test/helpers/fleet.ts";
import { waitFor } from "../../test/helpers/wait.ts";

const ROOT = join(import.meta.dir, "..", "..");
const idleArg = process.argv.indexOf("--idle-seconds");
const IDLE_SECONDS = idleArg > 0 ? Number(process.argv[idleArg + 1]) : 15;
const MiB = (kb: number) => Math.round((kb / 1024) * 10) / 10;

const out = mkdtempSync(join(tmpdir(), "flotilla-bench-dist-"));
const t0 = performance.now();
const build = Bun.spawnSync([join(ROOT, "scripts/build-agent"), "--out", out], { stderr: "pipe", stdout: "pipe" });
if (build.exitCode !== 0) throw new Error(`build-agent failed: ${build.stderr.toString()}`);
const buildSeconds = Math.round((performance.now() - t0) / 100) / 10;

const rssKb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]);

const tc = await startTestControl();
const results: Record<string, unknown> = {};
try {
  for (const arch of ["x64", "arm64"] as const) {
    const bin = join(out, `flotilla-agent-linux-${arch}`);
    const cluster = `bench-${arch}`;
    const act = await activation(tc, cluster, 1);
    // "--flag=value": an activation code may start with "-", which the flag parser reads as a flag.
    const args = ["--control", tc.control.mqttUrl, "--activation-id", act.activationId, `--activation-code=${act.activationCode}`,
      "--data-dir", mkdtempSync(join(tmpdir(), "flotilla-bench-agent-")), "--introspection-port", "off"];
    const cmd = arch === "arm64" ? ["qemu-aarch64-static", "-L", "/usr/aarch64-linux-gnu", bin, ...args] : [bin, ...args];
    const started = performance.now();
    const proc = Bun.spawn(cmd, { stdout: "ignore", stderr: "ignore" });
    try {
      await waitFor(`${arch} agent to connect`, async () => {
        const l = (await tc.api("GET", `/v1/clusters/${cluster}/container-instances`)).body.containerInstances as any[];
        return l.some((i) => i.agentConnected);
      }, { timeoutMs: 120_000 });
      const connectSeconds = Math.round((performance.now() - started) / 100) / 10;
      await Bun.sleep(IDLE_SECONDS * 1000);
      const samples: number[] = [];
      for (let i = 0; i < 5; i++) {
        samples.push(rssKb(proc.pid));
        await Bun.sleep(1000);
      }
      results[`agent-linux-${arch}`] = {
        sizeMiB: MiB(statSync(bin).size / 1024),
        startToConnectedSeconds: connectSeconds,
        idleRssMiB: MiB(samples.reduce((a, b) => a + b, 0) / samples.length),
        emulated: arch === "arm64" ? "qemu-aarch64-static" : undefined,
      };
    } finally {
      proc.kill("SIGTERM");
      await proc.exited;
    }
  }
  for (const arch of ["x64", "arm64"] as const) {
    const bin = join(out, `flotilla-linux-${arch}`);
    const cmd = [...(arch === "arm64" ? ["qemu-aarch64-static", "-L", "/usr/aarch64-linux-gnu"] : []), bin, "clusters", "list", "-o", "json"];
    // Async spawn: the control service runs in this process and must keep answering.
    const p = Bun.spawn(cmd, { stdout: "ignore", stderr: "pipe", env: { FLOTILLA_API_URL: tc.control.httpUrl, FLOTILLA_TOKEN: TEST_TOKEN, FLOTILLA_CONFIG: "/nonexistent" } });
    if ((await p.exited) !== 0) throw new Error(`cli ${arch} failed: ${await new Response(p.stderr).text()}`);
    results[`cli-linux-${arch}`] = { sizeMiB: MiB(statSync(bin).size / 1024), peakRssMiB: MiB(p.resourceUsage()!.maxRSS / 1024) };
  }
} finally {
  await tc.stop();
}
console.log(JSON.stringify({ bench: "agent-binaries", bun: Bun.version, buildSeconds, idleSeconds: IDLE_SECONDS, results }, null, 2));
