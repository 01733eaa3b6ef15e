import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import type { Subprocess } from "bun";
import { waitFor } from "./wait.ts";

/**
 * A second, empty Docker engine for one test: its own data root, exec root (containerd, network
 * namespaces), pid file and unix socket under a temp dir, so it shares nothing with the host's
 * engine. It must not disturb that engine either:
 *  - its default bridge is a bridge interface of its own, made here (`--bridge=none` would not do:
 *    dockerd then deletes the host's docker0, which belongs to the main engine);
 *  - `--iptables=false --ip-masq=false --ip-forward=false`: it never touches the host's firewall
 *    or sysctls (awsvpc does not need them: the task network is a plain bridge);
 *  - its address pools are a 10.x.0.0/16 no host route uses, so its networks overlap nothing.
 * `stop()` removes its containers and networks, stops it (and its containerd) and deletes it all.
 *
 * With `netns` (a network namespace the test made, test/helpers/netns-hosts.ts) the engine, its
 * bridge and its containers live in that namespace: a host of its own. It is entered with
 * `nsenter --net` only: `ip netns exec` also remounts /sys, and the engine then finds no cgroups
 * ("Devices cgroup isn't mounted").
 */
export interface SecondDockerdOptions {
  /** A network namespace name (`ip netns add`): the engine runs in it. */
  netns?: string;
}
export interface SecondDockerd {
  /** For DOCKER_HOST and `docker -H`. */
  host: string;
  /** The `docker` CLI against this engine. */
  docker(...args: string[]): Promise<string>;
  /** The engine's log, for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

async function sh(cmd: string[], stdin?: ReadableStream<Uint8Array> | null): Promise<string> {
  const p = Bun.spawn(cmd, { stdin: stdin ?? "ignore", stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`${cmd.join(" ")} failed (${code}): ${err.trim()}`);
  return out.trim();
}

/** Bases handed out in this process: engines in namespaces do not show in the host's routes. */
const taken = new Set<number>();

/** A 10.x.0.0/16 that no route on this host is in (nor another engine of this process). */
async function freeSubnetBase(): Promise<number> {
  const routes = await sh(["ip", "-4", "route", "show", "table", "all"]);
  for (let x = 213; x < 250; x++) {
    if (routes.includes(`10.${x}.`) || taken.has(x)) continue;
    taken.add(x);
    return x;
  }
  throw new Error("no free 10.x.0.0/16 for the second Docker engine");
}

export async function startSecondDockerd(opts: SecondDockerdOptions = {}): Promise<SecondDockerd & { subnetBase: number }> {
  // Short: containerd's socket lives under the exec root and unix socket paths are ≤ 107 bytes.
  const dir = mkdtempSync("/tmp/fl-dockerd-");
  const socket = join(dir, "docker.sock");
  const host = `unix://${socket}`;
  const x = await freeSubnetBase();
  const bridge = `fl${randomBytes(4).toString("hex")}`;
  // `ip -n NS`: the bridge is made in the engine's namespace.
  const ipIn = opts.netns ? ["ip", "-n", opts.netns] : ["ip"];
  await sh([...ipIn, "link", "add", "name", bridge, "type", "bridge"]);
  // With -b the engine takes the bridge's own address for its default network (no --bip then).
  await sh([...ipIn, "addr", "add", `10.${x}.255.1/24`, "dev", bridge]).catch(async (e) => {
    await sh([...ipIn, "link", "del", bridge]);
    throw e;
  });
  const logFile = join(dir, "dockerd.log");
  let proc: Subprocess | undefined;
  const docker = (...args: string[]) => sh(["docker", "-H", host, ...args]);
  const log = () => {
    try {
      return readFileSync(logFile, "utf8").slice(-3000);
    } catch {
      return "";
    }
  };
  const stop = async () => {
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      try {
        const ids = await docker("ps", "-aq");
        if (ids) await docker("rm", "-f", ...ids.split("\n"));
        // User-defined networks are bridges on the host: removed with them, not at dockerd's exit.
        await docker("network", "prune", "-f");
      } finally {
        proc.kill("SIGTERM");
        const exited = await Promise.race([proc.exited.then(() => true), Bun.sleep(60_000).then(() => false)]);
        if (!exited) proc.kill("SIGKILL");
        await proc.exited;
      }
    }
    await sh([...ipIn, "link", "del", bridge]).catch(() => {});
    taken.delete(x);
    // Anything still mounted under the data root (a killed engine) must not be deleted through.
    const mounts = readFileSync("/proc/self/mounts", "utf8").split("\n").map((l) => l.split(" ")[1] ?? "").filter((m) => m.startsWith(dir)).reverse();
    for (const m of mounts) await sh(["umount", "-l", m]).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    proc = Bun.spawn(
      [
        ...(opts.netns ? ["nsenter", `--net=/run/netns/${opts.netns}`] : []),
        "dockerd",
        "--data-root", join(dir, "data"),
        "--exec-root", join(dir, "exec"),
        "--pidfile", join(dir, "dockerd.pid"),
        "--host", host,
        "--bridge", bridge,
        `--default-address-pool=base=10.${x}.0.0/17,size=24`,
        "--iptables=false",
        "--ip-masq=false",
        "--ip-forward=false",
      ],
      { stdin: "ignore", stdout: Bun.file(logFile), stderr: Bun.file(logFile) },
    );
    const answered = await waitFor("the second Docker engine to answer", async () => {
      if (proc!.exitCode !== null) return "exited";
      return (await docker("version", "--format", "{{.Server.Version}}")) || undefined;
    }, { timeoutMs: 120_000, intervalMs: 250 });
    if (answered === "exited") throw new Error(`the second dockerd exited ${proc.exitCode}: ${log()}`);
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    host,
    subnetBase: x,
    docker,
    log,
    stop,
  };
}

/** Copies one image from the host's engine into another (docker save | docker -H … load). */
export async function copyImage(image: string, to: SecondDockerd): Promise<void> {
  const save = Bun.spawn(["docker", "save", image], { stdout: "pipe", stderr: "pipe" });
  await sh(["docker", "-H", to.host, "load", "-q"], save.stdout);
  if ((await save.exited) !== 0) throw new Error(`docker save ${image} failed: ${await new Response(save.stderr).text()}`);
}
