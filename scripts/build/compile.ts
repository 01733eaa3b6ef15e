/**
 * Compiles one single-file binary with `Bun.build({ compile })` — what scripts/build-agent runs per
 * binary. The agent gets the build settings that keep its memory small (docs/benchmarks.md, agent
 * footprint): the stubs of scripts/build/agent-stubs.ts, and a JIT tier-up policy that keeps its
 * mostly idle code in JavaScriptCore's interpreter. The CLI is built plainly.
 *
 *   bun scripts/build/compile.ts agent|cli --target bun-linux-x64|bun-linux-arm64 --outfile PATH [--version V]
 */
import { join } from "node:path";
import { agentStubsPlugin } from "./agent-stubs.ts";

const ROOT = join(import.meta.dir, "..", "..");

/**
 * Tier-up thresholds × this: the agent's code runs a few times a second at most, so it never earns
 * the JIT's compile time and memory (measured: −5 MiB idle RSS; CPU in docs/benchmarks.md). Hot
 * loops still reach the baseline JIT eventually, so nothing is ever stuck in the interpreter.
 */
export const AGENT_JIT_POLICY = 1_000_000;

export type BinaryKind = "agent" | "cli";
export const ENTRY: Record<BinaryKind, string> = {
  agent: join(ROOT, "agent/main.ts"),
  cli: join(ROOT, "control/cli/main.ts"),
};

export interface CompileOptions {
  /** Entry file; for the benchmark's layer programs, a path under the repo served from `files`. */
  entry: string;
  outfile: string;
  /** bun-linux-x64, bun-linux-arm64, ... (default: this machine). */
  target?: string;
  /** Agent build settings (stubs, JIT policy). */
  agentSettings: boolean;
  /** In-memory sources by path (Bun.build `files`). */
  files?: Record<string, string>;
  /** Overrides AGENT_JIT_POLICY (the footprint benchmark compares policies). */
  jitPolicy?: number;
  /** The version the binary says it is (AGENT_VERSION in shared/arn.ts); default: the source's. */
  version?: string;
}

export async function compileBinary(opts: CompileOptions): Promise<void> {
  const result = await Bun.build({
    entrypoints: [opts.entry],
    files: opts.files,
    minify: true,
    sourcemap: "none",
    plugins: opts.agentSettings ? [agentStubsPlugin()] : [],
    ...(opts.version ? { define: { FLOTILLA_BUILD_VERSION: JSON.stringify(opts.version) } } : {}),
    compile: {
      outfile: opts.outfile,
      ...(opts.target ? { target: opts.target as Bun.Build.CompileTarget } : {}),
      ...(opts.agentSettings ? { jitPolicy: opts.jitPolicy ?? AGENT_JIT_POLICY } : {}),
    },
  });
  if (!result.success) throw new Error(`compiling ${opts.entry} failed:\n${result.logs.map(String).join("\n")}`);
}

if (import.meta.main) {
  const [kind, ...rest] = process.argv.slice(2);
  const flag = (name: string) => {
    const i = rest.indexOf(`--${name}`);
    return i >= 0 ? rest[i + 1] : undefined;
  };
  if (kind !== "agent" && kind !== "cli") {
    console.error(`compile: first argument must be agent or cli, got "${kind ?? ""}"`);
    process.exit(2);
  }
  const outfile = flag("outfile");
  if (!outfile) {
    console.error("compile: --outfile PATH is required");
    process.exit(2);
  }
  try {
    await compileBinary({ entry: ENTRY[kind], outfile, target: flag("target"), agentSettings: kind === "agent", version: flag("version") });
  } catch (e) {
    console.error(`compile: ${(e as Error).message}`);
    process.exit(1);
  }
}
