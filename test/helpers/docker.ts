/** Small `docker` CLI helpers: tests look at the engine the way an operator would. */
export async function docker(...args: string[]): Promise<string> {
  const p = Bun.spawn(["docker", ...args], { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`docker ${args.join(" ")} failed: ${err.trim()}`);
  return out.trim();
}

/** Ids of running containers carrying a label (KEY=VALUE). */
export async function runningWithLabel(label: string): Promise<string[]> {
  const out = await docker("ps", "-q", "--no-trunc", "--filter", `label=${label}`);
  return out ? out.split("\n") : [];
}

/** Removes every container of a Flotilla instance (test clean-up). */
export async function removeInstanceContainers(instanceId: string): Promise<void> {
  const out = await docker("ps", "-aq", "--filter", `label=flotilla.instance-id=${instanceId}`);
  if (out) await docker("rm", "-f", ...out.split("\n"));
}
