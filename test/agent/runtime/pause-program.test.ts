import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pauseMachineCode, pauseProgram, type PauseArch } from "../../../agent/runtime/pause-image/pause-program.ts";
import { waitFor } from "../../helpers/wait.ts";

/**
 * The pause program the agent carries, as bytes: they are what its assembly source assembles to,
 * and the executables built from them wait for signals and exit 0 on SIGTERM and SIGINT (x86_64
 * natively, arm64 under qemu-aarch64-static).
 */
const SRC = join(import.meta.dir, "../../../agent/runtime/pause-image");
const dir = mkdtempSync(join(tmpdir(), "flotilla-pause-"));
const ARCHES: PauseArch[] = ["x86_64", "aarch64"];
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function needs(tool: string): void {
  if (!Bun.which(tool)) throw new Error(`needs ${tool} (Debian: apt-get install -y ${tool.startsWith("qemu") ? "qemu-user-static" : "llvm"})`);
}

async function must(cmd: string[]): Promise<void> {
  const p = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe" });
  if ((await p.exited) !== 0) throw new Error(`${cmd.join(" ")}: ${await new Response(p.stderr).text()}`);
}

const written = new Map<PauseArch, string>();
function executable(arch: PauseArch): string {
  let file = written.get(arch);
  if (file) return file;
  file = join(dir, `pause-${arch}`);
  writeFileSync(file, pauseProgram(arch));
  chmodSync(file, 0o755);
  written.set(arch, file);
  return file;
}

describe("pause program", () => {
  for (const arch of ARCHES) {
    test(`${arch}: the carried bytes are pause-${arch}.s assembled (llvm-mc)`, async () => {
      needs("llvm-mc");
      needs("llvm-objcopy");
      const obj = join(dir, `${arch}.o`);
      const bin = join(dir, `${arch}.bin`);
      await must(["llvm-mc", `-triple=${arch}-linux-gnu`, "-filetype=obj", join(SRC, `pause-${arch}.s`), "-o", obj]);
      await must(["llvm-objcopy", "-O", "binary", "-j", ".text", obj, bin]);
      expect(Buffer.from(pauseMachineCode(arch)).toString("hex")).toBe(Buffer.from(await Bun.file(bin).arrayBuffer()).toString("hex"));
      expect(pauseProgram(arch).length).toBeLessThan(512);
    });
  }

  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    test(`x86_64 runs natively, waits for signals and exits 0 on ${signal}`, async () => {
      const proc = Bun.spawn([executable("x86_64")], { stdout: "ignore", stderr: "pipe" });
      // The signal is sent once it waits in rt_sigtimedwait (x86_64 system call 128).
      await waitFor("the pause program to wait for signals", async () => (await Bun.file(`/proc/${proc.pid}/syscall`).text()).startsWith("128 "));
      expect(proc.exitCode).toBeNull();
      proc.kill(signal);
      expect(await proc.exited).toBe(0);
      expect(proc.signalCode).toBeNull();
    });
  }

  test("aarch64 runs under qemu-aarch64-static and exits 0 on SIGTERM", async () => {
    needs("qemu-aarch64-static");
    // -strace prints the guest's system calls: the signal is sent once it waits in rt_sigtimedwait.
    const proc = Bun.spawn(["qemu-aarch64-static", "-strace", executable("aarch64")], { stdout: "ignore", stderr: "pipe" });
    let trace = "";
    void (async () => {
      for await (const c of proc.stderr) trace += new TextDecoder().decode(c);
    })();
    await waitFor("the arm64 pause program to wait for signals", () => trace.includes("rt_sigtimedwait"));
    expect(trace).toContain("rt_sigprocmask(SIG_BLOCK");
    expect(proc.exitCode).toBeNull();
    proc.kill("SIGTERM");
    expect(await proc.exited).toBe(0);
    expect(proc.signalCode).toBeNull();
  });
});
