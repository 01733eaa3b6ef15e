import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ApiClient, seg } from "../../control/cli/client.ts";
import { ApiError, UsageError } from "../../control/cli/errors.ts";
import { table } from "../../control/cli/output.ts";
import { resolveSettings } from "../../control/cli/settings.ts";
import { InventoryError, readInventory } from "./inventory.ts";
import { mapBounded } from "./pool.ts";
import { installOverSsh } from "./ssh-install.ts";
import { loadState, saveState } from "./state.ts";

const HELP = `Usage: scripts/fleet-register --inventory FILE -c CLUSTER [options]

Registers a fleet: creates one activation sized to the hosts still to do, installs the agent on each
over SSH in parallel (scripts/install-agent.sh piped to bash; root or passwordless sudo), shows
progress per host and prints a summary. Results are kept in a state file, so running it again only
retries the hosts that failed. Exit code 1 if any host failed, 2 on bad usage.

Inventory (YAML or CSV by extension):
  YAML: a list of hosts, or {defaults: {...}, hosts: [...]}; each host: host, user (root), port (22),
        key (private key path, relative to the inventory), attributes ({name: value}).
  CSV:  header row naming columns from host,user,port,key,attributes; attributes as k=v;k2=v2.

Options:
  -i, --inventory FILE          hosts to register (required)
  -c, --cluster NAME            cluster to join [FLOTILLA_CLUSTER, config cluster]
      --api URL                 control service API for this script [FLOTILLA_API_URL, config api]
      --token TOKEN             API token [FLOTILLA_TOKEN, config token]
      --control-url URL         API URL as the hosts reach it (default: --api)
      --mqtt URL                MQTT URL as the hosts reach it (default: derived by the installer)
      --concurrency N           hosts installed at once (default 8)
      --state FILE              progress file (default: <inventory>.state.json)
      --retry-all               ignore the state file and install on every host
      --timeout S               per-host install deadline in seconds (default 300)
      --connect-timeout S       SSH connect timeout in seconds (default 10)
      --ssh-option OPT          extra ssh -o option (repeatable), e.g. ProxyJump=bastion
      --docker-install-source S distro (default) | none, passed to the installer
      --image-pull-behavior B   passed to the installer
  -o, --output FORMAT           table (default) or json for the summary
  -h, --help                    show this help`;

const ROOT = join(import.meta.dir, "..", "..");

async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        inventory: { type: "string", short: "i" },
        cluster: { type: "string", short: "c" },
        api: { type: "string" },
        token: { type: "string" },
        "control-url": { type: "string" },
        mqtt: { type: "string" },
        concurrency: { type: "string" },
        state: { type: "string" },
        "retry-all": { type: "boolean" },
        timeout: { type: "string" },
        "connect-timeout": { type: "string" },
        "ssh-option": { type: "string", multiple: true },
        "docker-install-source": { type: "string" },
        "image-pull-behavior": { type: "string" },
        output: { type: "string", short: "o" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }));
  } catch (e) {
    throw new UsageError((e as Error).message.split("\n")[0]!.replace(/\. To specify a positional.*$/, ""));
  }
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (!values.inventory) throw new UsageError("--inventory is required");
  const int = (name: string, v: string | undefined, def: number, max: number) => {
    if (v === undefined) return def;
    if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > max) throw new UsageError(`--${name} must be a whole number from 1 to ${max}, got "${v}"`);
    return Number(v);
  };
  const concurrency = int("concurrency", values.concurrency, 8, 256);
  const timeout = int("timeout", values.timeout, 300, 3600);
  const connectTimeout = int("connect-timeout", values["connect-timeout"], 10, 300);
  const settings = resolveSettings({ api: values.api, token: values.token, cluster: values.cluster, output: values.output }, process.env);
  if (!values.cluster && !process.env.FLOTILLA_CLUSTER && settings.cluster === "default") {
    // Joining "default" by accident is worse than asking.
    throw new UsageError("--cluster is required");
  }
  const hosts = readInventory(values.inventory);
  const statePath = values.state ?? `${values.inventory}.state.json`;
  const state = loadState(statePath, settings.cluster);
  const pending = hosts.filter((h) => values["retry-all"] || state.hosts[h.id]?.status !== "registered");
  const done = hosts.length - pending.length;
  const progress = (id: string, msg: string) => process.stderr.write(`[${id}] ${msg}\n`);

  if (pending.length > 0) {
    const client = new ApiClient(settings.api, settings.token);
    await client.call("GET", `/v1/clusters/${seg(settings.cluster)}`);
    const act = await client.call("POST", `/v1/clusters/${seg(settings.cluster)}/activations`, {
      registrationLimit: pending.length,
      expiresInSeconds: Math.max(3600, timeout * 2),
      description: `fleet-register ${values.inventory}`.slice(0, 256),
    });
    process.stderr.write(`activation ${act.activationId} for ${pending.length} host(s)${done ? ` (${done} already registered)` : ""}; ${concurrency} at a time\n`);
    const script = readFileSync(join(ROOT, "scripts/install-agent.sh"), "utf8");
    const extraArgs = [
      ...(values["docker-install-source"] ? ["--docker-install-source", values["docker-install-source"]] : []),
      ...(values["image-pull-behavior"] ? ["--image-pull-behavior", values["image-pull-behavior"]] : []),
    ];
    await mapBounded(pending, concurrency, async (h) => {
      const result = await installOverSsh(h, {
        script,
        controlUrl: values["control-url"] ?? settings.api,
        mqttUrl: values.mqtt,
        activation: act,
        cluster: settings.cluster,
        extraArgs,
        sshOptions: (values["ssh-option"] ?? []).flatMap((o) => ["-o", o]),
        knownHostsFile: `${statePath}.known_hosts`,
        connectTimeoutSeconds: connectTimeout,
        timeoutSeconds: timeout,
        onProgress: (line) => progress(h.id, line),
      });
      state.hosts[h.id] = result.ok
        ? { status: "registered", instanceId: result.instanceId, at: new Date().toISOString() }
        : { status: "failed", error: result.error, at: new Date().toISOString() };
      progress(h.id, result.ok ? `registered as ${result.instanceId}` : `FAILED: ${result.error}`);
      saveState(statePath, state);
    });
  } else {
    process.stderr.write(`all ${hosts.length} host(s) already registered (state in ${statePath})\n`);
  }

  const rows = hosts.map((h) => {
    const s = state.hosts[h.id];
    const earlier = !pending.includes(h);
    return { host: h.id, instanceId: s?.instanceId, status: earlier ? "registered (earlier run)" : (s?.status ?? "failed"), error: s?.error };
  });
  if (settings.output === "json") console.log(JSON.stringify({ cluster: settings.cluster, hosts: rows }, null, 2));
  else console.log(table(rows, [["HOST", (r) => r.host], ["INSTANCE ID", (r) => r.instanceId], ["STATUS", (r) => r.status], ["ERROR", (r) => r.error]]));
  const failed = rows.filter((r) => r.status === "failed").length;
  if (failed) process.stderr.write(`${failed} of ${hosts.length} host(s) failed; run the same command again to retry only those\n`);
  return failed ? 1 : 0;
}

try {
  process.exit(await main(process.argv.slice(2)));
} catch (e) {
  const code = e instanceof UsageError || e instanceof InventoryError ? 2 : 1;
  const msg = e instanceof UsageError ? `${e.message} (see --help)` : (e as Error).message;
  process.stderr.write(`fleet-register: ${e instanceof ApiError ? msg : msg.split("\n")[0]}\n`);
  process.exit(code);
}
