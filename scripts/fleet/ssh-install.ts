import type { InventoryHost } from "./inventory.ts";

export interface InstallOptions {
  /** install-agent.sh's text, piped to the host over SSH (hosts need nothing but bash). */
  script: string;
  controlUrl: string;
  mqttUrl?: string;
  activation: { activationId: string; activationCode: string };
  cluster: string;
  extraArgs: string[];
  sshOptions: string[];
  knownHostsFile: string;
  connectTimeoutSeconds: number;
  /** Whole-install deadline per host. */
  timeoutSeconds: number;
  onProgress(line: string): void;
}

export type InstallResult = { ok: true; instanceId: string } | { ok: false; error: string };

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** The ssh command line for one host; BatchMode so a missing key fails instead of prompting. */
export function sshCommand(h: InventoryHost, o: Pick<InstallOptions, "sshOptions" | "knownHostsFile" | "connectTimeoutSeconds">, remote: string): string[] {
  return [
    "ssh",
    "-p", String(h.port),
    ...(h.key ? ["-i", h.key, "-o", "IdentitiesOnly=yes"] : []),
    "-o", "BatchMode=yes",
    "-o", "StrictHostKeyChecking=accept-new",
    "-o", `UserKnownHostsFile=${o.knownHostsFile}`,
    "-o", `ConnectTimeout=${o.connectTimeoutSeconds}`,
    "-o", "ServerAliveInterval=10",
    "-o", "LogLevel=ERROR",
    ...o.sshOptions,
    `${h.user}@${h.host}`,
    remote,
  ];
}

/** Installs and registers the agent on one host; the script's last stdout line is the instance id. */
export async function installOverSsh(h: InventoryHost, o: InstallOptions): Promise<InstallResult> {
  const args = [
    "--control", o.controlUrl,
    ...(o.mqttUrl ? ["--mqtt", o.mqttUrl] : []),
    "--activation-id", o.activation.activationId,
    "--activation-code", o.activation.activationCode,
    "--cluster", o.cluster,
    ...Object.entries(h.attributes).flatMap(([k, v]) => ["--attribute", `${k}=${v}`]),
    ...o.extraArgs,
  ];
  // Non-root users need passwordless sudo, as with ECS Anywhere's SSM-driven installs.
  const runner = h.user === "root" ? "bash" : "sudo -n bash";
  const remote = `${runner} -s -- ${args.map(shellQuote).join(" ")}`;
  o.onProgress("connecting and installing");
  const proc = Bun.spawn(sshCommand(h, o, remote), { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  proc.stdin.write(o.script);
  await proc.stdin.end();
  const timer = setTimeout(() => proc.kill("SIGKILL"), o.timeoutSeconds * 1000);
  let stdout = "";
  const pumpOut = (async () => {
    const dec = new TextDecoder();
    let buf = "";
    for await (const chunk of proc.stdout) {
      const text = dec.decode(chunk, { stream: true });
      stdout += text;
      buf += text;
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        // The installer's own progress lines, shown per host.
        if (line.startsWith("[flotilla-install] ")) o.onProgress(line.slice(19));
      }
    }
  })();
  const stderrP = new Response(proc.stderr).text();
  const code = await proc.exited;
  clearTimeout(timer);
  await pumpOut;
  const stderr = await stderrP;
  if (code === 0) {
    const id = stdout.trim().split("\n").at(-1)?.trim() ?? "";
    if (/^[0-9a-f]{32}$/.test(id)) return { ok: true, instanceId: id };
    return { ok: false, error: `installer succeeded but printed no instance id (last line: "${id}")` };
  }
  if (proc.signalCode === "SIGKILL") return { ok: false, error: `timed out after ${o.timeoutSeconds}s` };
  const lines = stderr.split("\n").map((l) => l.trim()).filter(Boolean);
  const installerLine = lines.findLast((l) => l.startsWith("flotilla-install: "));
  const last = installerLine ?? lines.at(-1) ?? `exit code ${code}`;
  // ssh itself exits 255 on connection problems; everything else came from the installer.
  return { ok: false, error: code === 255 && !installerLine ? `ssh: ${last.replace(/^ssh: /, "")}` : last.replace(/^flotilla-install: /, "") };
}
