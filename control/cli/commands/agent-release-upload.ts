import { existsSync, statSync } from "node:fs";
import { emit, expectArgs, type Command } from "../command.ts";
import { UsageError } from "../errors.ts";

/** The SHA-256 of a file, streamed (agent binaries are ~100 MiB). */
async function sha256Of(path: string): Promise<string> {
  const hasher = new Bun.CryptoHasher("sha256");
  for await (const chunk of Bun.file(path).stream()) hasher.update(chunk);
  return hasher.digest("hex");
}

/**
 * The signature: a file (what scripts/build-agent --sign writes beside the binary, or openssl's
 * base64 output), or the base64 text itself when no such file exists.
 */
async function signatureOf(value: string): Promise<string> {
  if (existsSync(value)) return (await Bun.file(value).text()).trim();
  if (/^[A-Za-z0-9+/]+={0,2}$/.test(value)) return value;
  throw new UsageError(`--signature: no file ${value}, and it is not a base64 signature either`);
}

/**
 * `flotilla agents upload-release`: the multipart POST /v1/agent-releases takes (admin token),
 * with the SHA-256 computed here so the operator only brings the binary and its signature; the
 * control checks both before it stores anything.
 */
export const uploadRelease: Command = {
  summary: "Upload a signed agent binary as a release (admin token); the CLI computes its SHA-256.",
  options: {
    version: { type: "string", valueName: "VERSION", description: "the version the binary reports (required)" },
    arch: { type: "string", valueName: "x86_64|arm64", description: "the architecture it runs on, as ecs.cpu-architecture (required)" },
    file: { type: "string", valueName: "BIN", description: "the agent binary (required)" },
    signature: { type: "string", valueName: "SIG", description: "its signature: a .sig file or the base64 text (required; agent-upgrades.md)" },
  },
  examples: ["flotilla agents upload-release --version 0.2.0 --arch x86_64 --file dist/flotilla-agent-linux-x64 --signature dist/flotilla-agent-linux-x64.sig"],
  async run(ctx, { positionals, values }) {
    expectArgs(positionals, []);
    for (const f of ["version", "arch", "file", "signature"]) if (!values[f]) throw new UsageError(`--${f} is required`);
    const file = String(values.file);
    if (!existsSync(file) || !statSync(file).isFile()) throw new UsageError(`--file: no such file ${file}`);
    const form = new FormData();
    form.set("version", String(values.version));
    form.set("architecture", String(values.arch));
    form.set("sha256", await sha256Of(file));
    form.set("signature", await signatureOf(String(values.signature)));
    form.set("file", Bun.file(file), "flotilla-agent");
    const body = await ctx.client.call("POST", "/v1/agent-releases", form);
    const r = body.agentRelease;
    emit(ctx, body, () => `agent release ${r.version} for ${r.architecture} uploaded: ${r.size} bytes, sha256 ${r.sha256}`);
  },
};
