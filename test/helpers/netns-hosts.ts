import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { startSecondDockerd, type SecondDockerd } from "./second-dockerd.ts";

/**
 * Separate hosts on one machine for multi-host tests (issue 17's discovery and ingress proof):
 * each host is a network namespace of its own with its own Docker engine (second-dockerd.ts,
 * its own data root, bridge and 10.x subnet) holding the busybox test image, built there by
 * `docker import` (scripts/build-test-image). The hosts and this machine meet on one L2 segment:
 * a bridge in a namespace of its own (the "switch"), so traffic between hosts never crosses this
 * machine's FORWARD chain (Docker's policy there is DROP and br_netfilter would apply it to a
 * bridge in the root namespace). This machine is on the segment at `.1` (the control service
 * listens there), host i at `.(11 + i)` on its `eth0`. Each host routes the others' container
 * subnets via their address, so a container reaches another host's published ports without NAT
 * (no iptables anywhere; the engines run with --iptables=false and publish through docker-proxy).
 * Addresses are from 198.18.0.0/15 (RFC 2544's range for tests). Needs root.
 */
export interface NetnsHost {
  /** The namespace's name (`ip netns`), for `nsenter --net=/run/netns/NAME`. */
  netns: string;
  /** The host's address on the shared segment (what other hosts and this machine reach). */
  address: string;
  /** Its engine's bridge address: its containers' gateway (where its agent's DNS responder listens). */
  gateway: string;
  dockerd: SecondDockerd;
  /** The command prefix that runs a program in the host's network namespace. */
  enter: string[];
}

export interface NetnsHosts {
  /** This machine's address on the segment. */
  hostAddress: string;
  hosts: NetnsHost[];
  /** Stops the engines, deletes the namespaces (their veths go with them) and this machine's veth. */
  stop(): Promise<void>;
}

const ROOT = join(import.meta.dir, "..", "..");

async function sh(cmd: string[], env?: Record<string, string>): Promise<string> {
  const p = Bun.spawn(cmd, { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: env ? { ...process.env, ...env } : undefined });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`${cmd.join(" ")} failed (${code}): ${err.trim()}`);
  return out.trim();
}

/** Namespaces of this helper carry the creating process's pid: `fl-sw-ID-pPID`, `fl-ID-I-pPID`. */
const OURS = /^fl-(?:sw-)?([0-9a-f]{6})(?:-\d+)?-p(\d+)$/;

/**
 * What a run killed before its teardown (a file's time limit) left: its namespaces, the processes
 * in them (its engines and agents) and this machine's veth, found by the dead pid in the names.
 */
async function removeLeftovers(): Promise<void> {
  const list = (await sh(["ip", "netns", "list"])).split("\n").map((l) => l.split(" ")[0]!).filter(Boolean);
  for (const ns of list) {
    const m = OURS.exec(ns);
    if (!m || isAlive(Number(m[2]))) continue;
    for (const pid of (await sh(["ip", "netns", "pids", ns]).catch(() => "")).split("\n").filter(Boolean)) {
      try {
        process.kill(Number(pid), "SIGKILL");
      } catch {}
    }
    await sh(["ip", "netns", "del", ns]).catch(() => {});
    await sh(["ip", "link", "del", `flh${m[1]}`]).catch(() => {});
  }
  // Their engines' folders (second-dockerd.ts makes them): only one whose engine is dead and that
  // is older than any starting engine, so another file's engine is never touched.
  for (const name of readdirSync("/tmp").filter((n) => n.startsWith("fl-dockerd-"))) {
    const dir = join("/tmp", name);
    const pid = Number(existsSync(join(dir, "dockerd.pid")) ? readFileSync(join(dir, "dockerd.pid"), "utf8") : 0);
    if ((pid && isAlive(pid)) || Date.now() - statSync(dir).mtimeMs < 10 * 60_000) continue;
    const mounts = readFileSync("/proc/self/mounts", "utf8").split("\n").map((l) => l.split(" ")[1] ?? "").filter((m) => m.startsWith(dir + "/")).reverse();
    for (const m of mounts) await sh(["umount", "-l", m]).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** `count` hosts on the segment `${segment}.0/24` (a /24 of 198.18.0.0/15 not on this machine). */
export async function startNetnsHosts(count: number, segment = "198.18.70"): Promise<NetnsHosts> {
  await removeLeftovers();
  const used = await sh(["ip", "-4", "addr", "show"]);
  if (used.includes(` ${segment}.`)) throw new Error(`${segment}.0/24 is already on this machine (a run that died? see ip addr)`);
  const id = randomBytes(3).toString("hex");
  const sw = `fl-sw-${id}-p${process.pid}`;
  const hostVeth = `flh${id}`;
  const namespaces: string[] = [];
  const hosts: NetnsHost[] = [];
  const stop = async () => {
    for (const h of hosts) await h.dockerd.stop().catch(() => {});
    for (const ns of namespaces.reverse()) await sh(["ip", "netns", "del", ns]).catch(() => {});
    await sh(["ip", "link", "del", hostVeth]).catch(() => {});
  };
  try {
    const addNetns = async (name: string) => {
      await sh(["ip", "netns", "add", name]);
      namespaces.push(name);
      await sh(["ip", "-n", name, "link", "set", "lo", "up"]);
    };
    await addNetns(sw);
    await sh(["ip", "-n", sw, "link", "add", "br0", "type", "bridge"]);
    await sh(["ip", "-n", sw, "link", "set", "br0", "up"]);
    // A veth pair from a namespace (or this machine) to a port of the switch's bridge.
    const plug = async (end: string, port: string, into?: string) => {
      await sh(["ip", "link", "add", end, "type", "veth", "peer", "name", port]);
      await sh(["ip", "link", "set", port, "netns", sw]);
      await sh(["ip", "-n", sw, "link", "set", port, "master", "br0", "up"]);
      if (into) await sh(["ip", "link", "set", end, "netns", into]);
    };
    await plug(hostVeth, `p${id}h`);
    await sh(["ip", "addr", "add", `${segment}.1/24`, "dev", hostVeth]);
    await sh(["ip", "link", "set", hostVeth, "up"]);
    for (let i = 0; i < count; i++) {
      const ns = `fl-${id}-${i}-p${process.pid}`;
      await addNetns(ns);
      const end = `fl${id}e${i}`;
      await plug(end, `p${id}${i}`, ns);
      await sh(["ip", "-n", ns, "link", "set", end, "name", "eth0"]);
      const address = `${segment}.${11 + i}`;
      await sh(["ip", "-n", ns, "addr", "add", `${address}/24`, "dev", "eth0"]);
      await sh(["ip", "-n", ns, "link", "set", "eth0", "up"]);
      // Containers reach the other hosts through this one (no NAT: routes, below).
      await sh(["ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv4.ip_forward=1"]);
      const dockerd = await startSecondDockerd({ netns: ns });
      hosts.push({ netns: ns, address, gateway: `10.${dockerd.subnetBase}.255.1`, dockerd, enter: ["nsenter", `--net=/run/netns/${ns}`] });
    }
    for (const h of hosts) {
      for (const o of hosts) {
        if (o === h) continue;
        const base = Number(o.gateway.split(".")[1]);
        await sh(["ip", "-n", h.netns, "route", "add", `10.${base}.0.0/16`, "via", o.address]);
      }
    }
    // The test image, built in each engine as scripts/build-test-image builds it for the host's.
    await Promise.all(hosts.map((h) => sh([join(ROOT, "scripts/build-test-image")], { DOCKER_HOST: h.dockerd.host })));
  } catch (e) {
    await stop();
    throw e;
  }
  return { hostAddress: `${segment}.1`, hosts, stop };
}
