import { join } from "node:path";
import { mkdirSync } from "node:fs";
import { createAgent } from "./agent.ts";
import { AGENT_HELP, ConfigError, parseAgentConfig } from "./config.ts";
import { hostFacts } from "./host/facts.ts";
import { detectNvidiaGpus } from "./host/gpus.ts";
import { MqttAgentLink } from "./link/mqtt-link.ts";
import { RegistrationRefused, registerInstance } from "./link/register.ts";
import { brokerTlsOptions } from "./link/tls-options.ts";
import { onDeregistered } from "./link/deregistered.ts";
import { DockerRuntime } from "./runtime/docker.ts";
import { loadRegistryCredentials, type RegistryAuthLookup } from "./runtime/registry-auth.ts";
import { startIntrospection } from "./introspection/server.ts";
import { AgentMetrics } from "./metrics/agent-metrics.ts";
import { instrumentRuntime } from "./metrics/instrumented-runtime.ts";
import { startTaskMetadata, type TaskMetadataSource } from "./metadata/server.ts";
import { HostMonitor } from "./host/monitor.ts";
import { loadIdentity, saveIdentity, type Identity } from "./store/identity.ts";
import { fileStateStore } from "./store/state-file.ts";
import { createLogger, silentLogger, withComponent, type Logger } from "../shared/log.ts";
import { DiscoveryStore } from "./discovery/discovery-store.ts";
import { startDnsResponder, type DnsResponder } from "./discovery/responder.ts";
import { hostResolvers } from "./discovery/upstream.ts";
import { localTaskServes } from "./discovery/local-view.ts";
import { IngressProxy } from "./ingress/proxy.ts";
import { ingressListeners } from "../shared/ingress.ts";
import { SITE_ATTRIBUTE } from "../shared/discovery.ts";
import type { AgentConfig } from "./config.ts";
import { AGENT_VERSION } from "../shared/arn.ts";
import { loadReleasePublicKeys } from "../shared/release-signature.ts";
import { AgentUpgrader } from "./upgrade/agent-upgrader.ts";
import { ByteRateLimiter } from "./runtime/registry/byte-rate-limiter.ts";
import { BlobCache } from "./runtime/registry/blob-cache.ts";
import { RegistryPuller } from "./runtime/registry/registry-pull.ts";
import { abandonTrial, checkPendingUpgrade, expireTrial } from "./upgrade/rollback-guard.ts";

/**
 * The executable to swap on an upgrade: only a compiled agent (`bun build --compile`, whose
 * entry lives in Bun's embedded /$bunfs) is one file that can replace itself.
 */
const compiledBinary = process.argv[1]?.startsWith("/$bunfs/") ? process.execPath : undefined;

/** Replaces this process with `binary`, same pid and arguments (the supervisor sees no exit). */
function execBinary(binary: string): never {
  process.execve!(binary, [binary, ...process.argv.slice(2)], process.env);
  throw new Error("execve returned");
}

/** The process's logger: the root until the identity is known, then bound to its cluster and instance. */
let log: Logger = silentLogger;

/** One readable line and a non-zero exit: what operators see when something is wrong. */
function fail(message: string, code = 1): never {
  console.error(`flotilla-agent: ${message}`);
  process.exit(code);
}

async function registerWithRetry(
  urls: string[],
  activation: { id: string; code: string },
  facts: Parameters<typeof registerInstance>[2],
  connectOptions: Parameters<typeof registerInstance>[3] = {},
  cluster?: string,
): Promise<Identity> {
  for (let delay = 1000, attempt = 0; ; delay = Math.min(delay * 2, 30_000), attempt++) {
    // Each attempt goes to the next broker node named (a cluster's nodes all reach a control).
    const url = urls[attempt % urls.length]!;
    try {
      return await registerInstance(url, activation, facts, connectOptions, cluster);
    } catch (e) {
      if (e instanceof RegistrationRefused) fail(`registration refused: ${e.message}`);
      log.warn(`cannot reach the control service at ${url} (${(e as Error).message}); retrying in ${delay / 1000}s`);
      await Bun.sleep(delay);
    }
  }
}

/**
 * The task metadata endpoint, on the Docker bridge's gateway unless the operator names an address:
 * bridge, awsvpc and host-mode containers all reach that one address (docs/task-metadata.md).
 * Running tasks matters more than the endpoint, so a failure to start it is said and survived.
 */
async function startMetadataEndpoint(
  config: { taskMetadataPort: number | null; taskMetadataAddress?: string },
  runtime: DockerRuntime,
  src: TaskMetadataSource,
): Promise<ReturnType<typeof startTaskMetadata> | undefined> {
  if (config.taskMetadataPort === null) return undefined;
  try {
    const address = config.taskMetadataAddress ?? (await runtime.bridgeAddress());
    if (!address) {
      log.warn("task metadata endpoint not started: Docker has no default bridge network; name an address with --task-metadata-address");
      return undefined;
    }
    const endpoint = startTaskMetadata(src, address, config.taskMetadataPort);
    log.info(`task metadata endpoint on ${endpoint.url}`);
    return endpoint;
  } catch (e) {
    log.warn(`task metadata endpoint not started: ${(e as Error).message}`);
    return undefined;
  }
}

/**
 * The discovery DNS responder, on the Docker bridge's gateway port 53 unless the operator names an
 * address (docs/discovery.md). Like the metadata endpoint, a failure to start it is said and
 * survived: the containers then keep Docker's default DNS.
 */
async function startDiscoveryDns(
  config: AgentConfig,
  runtime: DockerRuntime,
  context: Parameters<typeof startDnsResponder>[0]["context"],
): Promise<{ responder: DnsResponder; containerDns?: string } | undefined> {
  if (!config.dnsListen) return undefined;
  try {
    const address = config.dnsListen.address ?? (await runtime.bridgeAddress());
    if (!address) {
      log.warn("discovery DNS not started: Docker has no default bridge network; name an address with --dns-listen");
      return undefined;
    }
    // Never the responder itself: a host whose resolv.conf names this address would loop.
    const upstreams = (config.dnsUpstreams ?? hostResolvers()).filter((u) => !(u.address === address && u.port === config.dnsListen!.port));
    const responder = await startDnsResponder({ address, port: config.dnsListen.port, context, upstreams, log });
    log.info(`discovery DNS on ${address}:${responder.port} (upstream ${upstreams.map((u) => `${u.address}:${u.port}`).join(", ") || "none"})`);
    // Docker's Dns takes addresses only: containers can use the responder on port 53 alone.
    if (responder.port !== 53) log.warn("discovery DNS is not on port 53: containers keep Docker's default DNS");
    return { responder, containerDns: responder.port === 53 ? address : undefined };
  } catch (e) {
    log.warn(`discovery DNS not started: ${(e as Error).message}`);
    return undefined;
  }
}

async function main() {
  let config;
  try {
    config = parseAgentConfig(process.argv.slice(2), process.env);
  } catch (e) {
    if (e instanceof ConfigError) fail(`${e.message} (see --help)`, 2);
    throw e;
  }
  if (config.help) {
    console.log(AGENT_HELP);
    return;
  }
  const root = createLogger({ component: "agent", level: config.log.level, format: config.log.format });
  log = root;
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  // First of all: a new binary whose trial ran out (it kept crashing, or never connected) gives
  // way to the old one before it touches anything (docs/agent-upgrades.md).
  const trial = compiledBinary ? checkPendingUpgrade(config.dataDir, AGENT_VERSION, Date.now()) : { action: "none" as const };
  if (trial.action === "rolled-back") {
    log.warn(`agent ${AGENT_VERSION} did not connect within its upgrade deadline; re-executing the previous binary`);
    execBinary(trial.binary);
  }
  let releaseKeys: ReturnType<typeof loadReleasePublicKeys> = [];
  if (config.releasePublicKey) {
    try {
      releaseKeys = loadReleasePublicKeys([config.releasePublicKey]);
    } catch (e) {
      fail(`--release-public-key: ${(e as Error).message}`, 2);
    }
  }
  let registryAuth: RegistryAuthLookup | undefined;
  if (config.registryCredentials) {
    try {
      registryAuth = loadRegistryCredentials(config.registryCredentials);
    } catch (e) {
      fail((e as Error).message, 2);
    }
  }
  // Every Docker call, whoever makes it, is timed and its failures counted (agent/metrics).
  const metrics = new AgentMetrics();
  const docker = new DockerRuntime({}, registryAuth);
  // Pulls under a bandwidth cap go through the agent's own registry client, into a blob cache
  // beside the state (the cap may come later from the control, so the puller is always there).
  const pullBandwidth = new ByteRateLimiter(config.maxPullBytesPerSecond);
  docker.usePuller(
    new RegistryPuller({
      cache: new BlobCache(join(config.dataDir, "blobs"), { limiter: pullBandwidth, log: withComponent(log, "blob-cache") }),
      limiter: pullBandwidth,
      load: (archive) => docker.loadImageStream(archive),
      log: withComponent(log, "registry-pull"),
    }),
  );
  const runtime = instrumentRuntime(docker, metrics);
  let info;
  try {
    info = await runtime.info();
  } catch (e) {
    fail(`cannot reach the Docker engine: ${(e as Error).message}`);
  }
  // Detected once at start, as amazon-ecs-agent does: GPUs do not come and go under a running host.
  const gpus = config.gpuSupport ? await detectNvidiaGpus({ log }) : undefined;
  if (gpus?.length) log.info(`GPU support: registering ${gpus.length} NVIDIA GPU(s): ${gpus.join(", ")}`);
  const facts = hostFacts(info, config.attributes, { advertise: config.advertiseAddress, gpus });
  let tlsOptions;
  try {
    // writeCache off: mqtt-packet would otherwise pre-build 65,536 two-byte Buffers for message ids
    // (~5 MiB of heap) on the first write; the agent sends a few messages a minute.
    tlsOptions = { ...brokerTlsOptions(config.tls), writeCache: false };
  } catch (e) {
    fail((e as Error).message, 2);
  }

  let identity = loadIdentity(config.dataDir);
  if (identity && config.cluster !== undefined && config.cluster !== identity.clusterName) {
    // As amazon-ecs-agent with a changed ECS_CLUSTER: the saved registration is for another cluster.
    fail(`this host is registered in cluster "${identity.clusterName}", not "${config.cluster}" (--cluster); deregister it and remove ${config.dataDir} to move it`, 2);
  }
  if (identity) {
    log = root.child({ cluster: identity.clusterName, instanceId: identity.instanceId });
    log.info(`using saved identity ${identity.instanceId} (cluster ${identity.clusterName})`);
  } else {
    if (!config.activationId || !config.activationCode) {
      fail("not registered yet: --activation-id and --activation-code are required on first start", 2);
    }
    identity = await registerWithRetry(config.controlUrls, { id: config.activationId, code: config.activationCode }, facts, tlsOptions, config.cluster);
    saveIdentity(config.dataDir, identity);
    log = root.child({ cluster: identity.clusterName, instanceId: identity.instanceId });
    log.info(`registered as container instance ${identity.instanceId} in cluster ${identity.clusterName}`);
  }

  const store = fileStateStore(config.dataDir);
  let agent: ReturnType<typeof createAgent> | undefined;
  // Before the agent, so the first container it creates is already given the endpoint's URIs.
  const metadata = await startMetadataEndpoint(config, runtime, {
    context: { clusterName: identity.clusterName, availabilityZone: config.attributes["ecs.availability-zone"] },
    tasks: () => Object.values(agent?.engine.state.tasks ?? {}),
    runtime,
    log,
  });
  const discovery = new DiscoveryStore({ dataDir: config.dataDir, clusterName: identity.clusterName, staleAfterMs: config.dnsStaleAfterSeconds * 1000, log });
  const instanceId = identity.instanceId;
  const dns = await startDiscoveryDns(config, runtime, () => ({
    set: discovery.set,
    instanceId,
    localTaskServes: (taskId) => localTaskServes(agent?.engine.state.tasks[taskId]),
    stale: discovery.stale(),
  }));
  // The ingress proxy follows the discovery set (on disk first, then each newer one from the control).
  const ingress = config.ingressAddress === null ? undefined : new IngressProxy({
          address: config.ingressAddress,
          site: config.attributes[SITE_ATTRIBUTE],
          log,
          localServes: (taskId) => localTaskServes(agent?.engine.state.tasks[taskId]),
          // The control turns it into a service event naming this host.
          onProblem: () => agent?.reportSoon(),
        });
  const followIngress = () => void ingress?.update(ingressListeners(discovery.set, instanceId)).catch((e: Error) => log.warn(`ingress update failed: ${e.message}`));
  discovery.onApplied(followIngress);
  let refused = false;
  const link = new MqttAgentLink({
    url: config.controlUrls,
    identity,
    // Rising across restarts even if the host clock steps back (no RTC on a Raspberry Pi).
    nextEpoch: () => agent!.engine.nextEpoch(),
    log,
    keepaliveSeconds: config.keepaliveSeconds,
    connectOptions: tlsOptions,
    discovery: dns !== undefined || ingress !== undefined,
    onRefused: () => {
      if (refused) return;
      refused = true;
      // The runners end first (after the step under way), so nothing else calls Docker for their
      // tasks; bounded, so a pull that hangs cannot keep a refused agent alive.
      const runnersEnded = Promise.race([agent!.engine.stop(), Bun.sleep(15_000)]);
      void runnersEnded
        .then(() => onDeregistered(runtime, identity.instanceId, config.stopContainersOnDeregister))
        .then(
          (line) => fail(line),
          (e: Error) => fail(`the control service refused this instance's credentials; stopping containers failed: ${e.message}`),
        );
    },
  });
  const upgrader = new AgentUpgrader({
    dataDir: config.dataDir,
    binary: compiledBinary,
    version: AGENT_VERSION,
    keys: releaseKeys,
    deadlineMs: config.upgradeDeadlineSeconds * 1000,
    onStatus: () => agent?.reportSoon(),
    reexec: async (binary) => {
      await stopAll();
      try {
        execBinary(binary);
      } catch (e) {
        // The kernel would not run it (not an executable for this host): the old binary goes back
        // and runs again, and reports the upgrade FAILED once connected.
        const back = abandonTrial(config.dataDir, `the new binary could not be executed: ${(e as Error).message}`);
        log.error(`executing the new agent binary failed (${(e as Error).message}); ${back ? "re-executing the previous one" : "no previous binary to go back to"}`);
        if (!back) process.exit(1);
        execBinary(binary);
      }
    },
    log,
  });
  agent = createAgent({
    upgrader,
    runtime,
    link,
    store,
    instanceId: identity.instanceId,
    clusterName: identity.clusterName,
    facts,
    imagePullBehavior: config.imagePullBehavior,
    maxConcurrentPulls: config.maxConcurrentPulls,
    maxPullBytesPerSecond: config.maxPullBytesPerSecond,
    pullBandwidth,
    cleanupWaitMs: config.cleanupWaitSeconds * 1000,
    firelensRoot: join(config.dataDir, "firelens"),
    imageCleanup: {
      intervalMs: config.imageCleanup.intervalSeconds * 1000,
      minimumAgeMs: config.imageCleanup.minimumAgeSeconds * 1000,
      imagesPerCycle: config.imageCleanup.imagesPerCycle,
    },
    pauseImage: config.pauseImage,
    taskMetadataUrl: metadata?.url,
    discovery,
    ingressProblems: ingress ? () => [...ingress.problems].map(([listenPort, message]) => ({ listenPort, message })) : undefined,
    containerDns: dns?.containerDns,
    resyncIntervalMs: config.resyncIntervalSeconds * 1000,
    statsIntervalMs: config.statsIntervalSeconds * 1000,
    log,
    metrics,
  });
  await agent.start();
  followIngress();
  let introspection: ReturnType<typeof startIntrospection> | undefined;
  if (config.introspectionPort !== null) {
    try {
      introspection = startIntrospection(
        {
          instanceId: identity.instanceId,
          containerInstanceArn: identity.containerInstanceArn,
          clusterName: identity.clusterName,
          connected: () => link.connected,
          state: () => agent!.engine.state,
          logStreams: () => agent!.logs.activeStreams,
          metrics: () => metrics.text(),
        },
        config.introspectionPort,
      );
      log.info(`introspection API on http://127.0.0.1:${introspection.port}`);
    } catch (e) {
      // Running tasks matters more than the local API: say so and carry on.
      log.warn(`introspection API not started on port ${config.introspectionPort}: ${(e as Error).message}`);
    }
  }
  const monitor = new HostMonitor({
    runtime,
    attributes: config.attributes,
    advertiseAddress: config.advertiseAddress,
    gpus,
    initialFacts: facts,
    intervalMs: config.healthIntervalSeconds * 1000,
    thresholds: { minDiskFreeBytes: config.healthMinDiskFreeBytes },
    onHealth: (h) => agent!.updateHealth(h),
    onFacts: (f) => {
      log.info("host facts changed; reporting them");
      agent!.updateFacts(f);
    },
    log,
  });
  monitor.start();
  if (trial.action === "watch") {
    // Running but never connecting (a broken link setting in the new build) rolls back too.
    setTimeout(() => {
      const expired = expireTrial(config.dataDir, AGENT_VERSION);
      if (expired.action !== "rolled-back") return;
      log.warn(`agent ${AGENT_VERSION} did not connect within its upgrade deadline; re-executing the previous binary`);
      void stopAll().then(() => execBinary(expired.binary));
    }, trial.remainingMs);
  }
  const stopAll = async () => {
    await monitor.stop();
    await introspection?.stop();
    await metadata?.stop();
    await dns?.responder.stop();
    await ingress?.stop();
    // Leaving containers running is deliberate: losing the agent never stops workloads.
    await agent!.stop();
  };
  const shutdown = async () => {
    await stopAll();
    process.exit(0);
  };
  process.on("SIGINT", shutdown);
  process.on("SIGTERM", shutdown);
}

await main();
