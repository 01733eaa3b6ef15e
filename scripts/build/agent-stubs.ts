/**
 * Build plugin for the compiled agent: replaces modules of dockerode, docker-modem and mqtt that
 * the agent never reaches at runtime with small stubs, so they (and everything they import) stay
 * out of the binary and out of memory. The agent talks to the local Docker socket (or tcp://) and
 * to its broker over mqtt:// or mqtts://; it never builds images, never opens BuildKit sessions,
 * never dials Docker over SSH and never uses MQTT over WebSocket, a SOCKS proxy or MQTT 5.
 *
 * Each stub keeps the module's shape and throws one readable error if it is ever called, naming
 * what this build leaves out, so a missed path fails loudly instead of silently misbehaving.
 * test/scripts/build-agent-stubs.test.ts checks that every stub still matches a file (a dependency
 * upgrade that moves one fails the test), that each throws its error, and runs every DockerRuntime
 * operation through a bundle built with this plugin.
 *
 * The source run (`bun agent/main.ts`) is left as it is: it is the development path, and a
 * runtime plugin would have to be preloaded for every `bun` process in the repo (tests, control).
 */
import type { BunPlugin } from "bun";

export interface AgentStub {
  /** The module file under node_modules/ that is replaced. */
  file: string;
  /** What it would have pulled in. */
  drops: string;
  /** What is not supported without it (the stub's error); absent for a working replacement. */
  feature?: string;
  /** CommonJS source of the replacement. */
  source: string;
}

const NOTE = "is not supported by this agent build (left out of the compiled flotilla-agent to save memory)";

/** The error every stub throws: `<feature> is not supported by this agent build (...)`. */
export function unsupportedMessage(feature: string): string {
  return `${feature} ${NOTE}`;
}

/**
 * A stub whose exports (`module.exports` itself when `exportsAs` is "module", else the named
 * exports) are all one function throwing the feature's error.
 */
function stub(file: string, drops: string, feature: string, exportsAs: "module" | string[]): AgentStub {
  const fn = `function () { throw new Error(${JSON.stringify(unsupportedMessage(feature))}); }`;
  const source = exportsAs === "module" ? `module.exports = ${fn};` : `${exportsAs.map((n) => `exports.${n} = `).join("")}${fn};`;
  return { file, drops, feature, source };
}

const BUILDKIT = 'BuildKit builds (buildImage with version "2")';

export const AGENT_STUBS: AgentStub[] = [
  stub("docker-modem/lib/ssh.js", "ssh2 (+ asn1, bcrypt-pbkdf, tweetnacl)", "ssh:// Docker hosts (DOCKER_HOST=ssh://...)", "module"),
  {
    // dockerode calls withSession(docker, auth, handler) and expects the error through the handler.
    file: "dockerode/lib/session.js",
    drops: "@grpc/grpc-js, @grpc/proto-loader (BuildKit session server)",
    feature: BUILDKIT,
    source: `module.exports = function (docker, auth, handler) { handler(new Error(${JSON.stringify(unsupportedMessage(BUILDKIT))}), null, function () {}); };`,
  },
  stub("dockerode/lib/buildkit.js", "protobufjs (BuildKit progress decoding)", "docker.followProgress (BuildKit progress; use docker.modem.followProgress)", ["followProgress"]),
  stub("tar-fs/index.js", "tar-fs, tar-stream (image build contexts)", "building images from a directory context", ["pack", "extract"]),
  stub("@balena/dockerignore/ignore.js", "@balena/dockerignore (image build contexts)", ".dockerignore handling for image builds", "module"),
  stub("docker-modem/lib/http_duplex.js", "docker-modem's own readable-stream 3 copy", "writable Docker attach/exec streams (openStdin)", "module"),
  stub("mqtt/build/lib/connect/ws.js", "MQTT over WebSocket", "MQTT over WebSocket (ws://, wss://)", ["streamBuilder", "browserStreamBuilder"]),
  stub("mqtt/build/lib/connect/wx.js", "MQTT in WeChat mini-programs", "MQTT over wx://", ["default"]),
  stub("mqtt/build/lib/connect/ali.js", "MQTT in Alipay mini-programs", "MQTT over ali://", ["default"]),
  stub("mqtt/build/lib/connect/socks.js", "socks, ip-address, smart-buffer", "SOCKS proxies for MQTT (socksProxy, MQTTJS_SOCKS_PROXY)", ["default"]),
  // Only constructed when an MQTT 5 broker offers topic aliases; the agent speaks MQTT 3.1.1.
  stub("mqtt/build/lib/topic-alias-send.js", "lru-cache (MQTT 5 outgoing topic aliases)", "MQTT 5 topic aliases", ["default"]),
  // The agent logs to stdout synchronously (shared/log.ts); pino's worker-thread transports are never used.
  stub("pino/lib/transport.js", "thread-stream (pino transports on a worker thread)", "pino transports (pino.transport, the transport option)", "module"),
  stub(
    "worker-timers/build/es5/bundle.js",
    "worker-timers, worker-timers-broker (browser Web Worker timers)",
    "mqtt worker timers (timerVariant: 'worker')",
    ["setInterval", "clearInterval", "setTimeout", "clearTimeout"],
  ),
  {
    // Not a stub: readable-stream 4 is a userland copy of Node's streams with a documented switch
    // (READABLE_STREAM=disable) that re-exports the runtime's own node:stream instead. This is
    // that branch fixed at build time, so mqtt and bl use the node:stream Bun loads anyway.
    file: "readable-stream/lib/ours/index.js",
    drops: "readable-stream 4 (a second copy of Node's streams, for mqtt and bl)",
    source: [
      "const Stream = require('stream');",
      "for (const k of ['_uint8ArrayToBuffer', '_isUint8Array', 'isDisturbed', 'isErrored', 'isReadable', 'Readable', 'Writable', 'Duplex', 'Transform', 'PassThrough', 'addAbortSignal', 'finished', 'destroy', 'pipeline', 'compose', 'Stream']) module.exports[k] = Stream[k];",
      "module.exports.default = module.exports;",
    ].join("\n"),
  },
];

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

/** Matches the absolute path of any stubbed file (and only files under a node_modules/ folder). */
export const STUB_FILTER = new RegExp(`[\\\\/]node_modules[\\\\/](${AGENT_STUBS.map((s) => escape(s.file)).join("|")})$`);

/** The stub for an absolute module path, if it is one of ours. */
export function stubFor(path: string): AgentStub | undefined {
  const normalised = path.replaceAll("\\", "/");
  return AGENT_STUBS.find((s) => normalised.endsWith(`/node_modules/${s.file}`));
}

/** Bun build plugin: load each stubbed file's replacement instead of the file. */
export function agentStubsPlugin(opts: { onStub?: (stub: AgentStub) => void } = {}): BunPlugin {
  return {
    name: "flotilla-agent-stubs",
    setup(build) {
      build.onLoad({ filter: STUB_FILTER }, (args) => {
        const stub = stubFor(args.path)!;
        opts.onStub?.(stub);
        return { contents: `// flotilla agent build: replaces ${stub.file} (drops ${stub.drops})\n${stub.source}\n`, loader: "js" };
      });
    },
  };
}
