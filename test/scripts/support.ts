import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const ROOT = join(import.meta.dir, "..", "..");
export const DEBIAN_IMAGE = "flotilla/debian-test:bookworm";

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export async function run(cmd: string[], opts: { env?: Record<string, string | undefined>; cwd?: string } = {}): Promise<Run> {
  const proc = Bun.spawn(cmd, { cwd: opts.cwd ?? ROOT, stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, ...opts.env } });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

async function must(cmd: string[]): Promise<Run> {
  const r = await run(cmd);
  if (r.code !== 0) throw new Error(`${cmd.join(" ")} failed (${r.code}): ${r.stderr.slice(-2000)}`);
  return r;
}

/** Compiles the agent for one architecture into a fresh directory laid out like dist/. */
export async function buildAgentInto(arch: "x64" | "arm64"): Promise<string> {
  const out = mkdtempSync(join(tmpdir(), "flotilla-dist-"));
  await must([join(ROOT, "scripts/build-agent"), "--arch", arch, "--agent-only", "--out", out]);
  if (!existsSync(join(out, `flotilla-agent-linux-${arch}`))) throw new Error(`build-agent made no ${arch} binary in ${out}`);
  return out;
}

/** The clean Debian image (debootstrap; built once, then cached by Docker). */
export async function ensureDebianImage(): Promise<void> {
  await must([join(ROOT, "scripts/fleet/build-debian-test-image")]);
}

/** Which of these commands are missing, so a test can name the Debian packages to install. */
export function missingTools(tools: string[]): string[] {
  return tools.filter((t) => Bun.which(t) === null);
}
