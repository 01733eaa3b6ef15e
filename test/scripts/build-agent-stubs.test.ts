import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AGENT_STUBS, agentStubsPlugin, unsupportedMessage, type AgentStub } from "../../scripts/build/agent-stubs.ts";
import { compileBinary, ENTRY } from "../../scripts/build/compile.ts";
import { startControlWith } from "../control/security/control-with.ts";
import { makeThrowawayPki } from "../control/security/throwaway-ca.ts";
import { docker, removeInstanceContainers } from "../helpers/docker.ts";
import { activation, waitTaskStatus } from "../helpers/fleet.ts";
import { waitFor } from "../helpers/wait.ts";
import { ROOT, run } from "./support.ts";

/**
 * The compiled agent's stubs (scripts/build/agent-stubs.ts): each still replaces a real file, the
 * agent's bundle no longer holds the packages they drop, each throws its readable error, every
 * Docker operation the agent performs works in a bundle built with them (real Docker engine), and
 * the compiled agent runs a task over mqtts:// (test/scripts/agent-binaries.test.ts does mqtt://).
 */
const out = mkdtempSync(join(tmpdir(), "flotilla-stubs-"));
const LABEL = `flotilla.stub-test=${process.pid}`;
afterAll(async () => {
  const ids = (await docker("ps", "-aq", "--filter", `label=${LABEL}`)).split("\n").filter(Boolean);
  if (ids.length) await docker("rm", "-f", ...ids);
  await docker("network", "rm", `flotilla-stub-test-${process.pid}`).catch(() => undefined);
  await docker("volume", "rm", `flotilla-stub-test-${process.pid}`).catch(() => undefined);
  rmSync(out, { recursive: true, force: true });
});

/** Bundles a program (given as source, placed under test/scripts/ so it resolves like ours) with the stubs and runs it. */
async function runBundled(name: string, source: string, hits?: Set<string>): Promise<unknown> {
  const entry = join(ROOT, "test/scripts", `.${name}.virtual.ts`);
  const r = await Bun.build({
    entrypoints: [entry],
    files: { [entry]: source },
    target: "bun",
    outdir: join(out, name),
    plugins: [agentStubsPlugin({ onStub: (s) => hits?.add(s.file) })],
  });
  if (!r.success) throw new Error(r.logs.map(String).join("\n"));
  const p = await run(["bun", r.outputs[0]!.path]);
  if (p.code !== 0) throw new Error(`${name} exited ${p.code}: ${p.stderr}`);
  return JSON.parse(p.stdout.trim().split("\n").at(-1)!);
}

describe("agent build stubs", () => {
  test("every stub replaces an existing file, and the agent bundle no longer holds what they drop", async () => {
    for (const s of AGENT_STUBS) expect(existsSync(join(ROOT, "node_modules", s.file)), s.file).toBe(true);
    const hit = new Set<string>();
    const r = await Bun.build({
      entrypoints: [join(ROOT, "agent/main.ts")],
      target: "bun",
      outdir: join(out, "agent"),
      metafile: true,
      plugins: [agentStubsPlugin({ onStub: (s) => hit.add(s.file) })],
    });
    expect(r.success).toBe(true);
    expect([...hit].sort()).toEqual(AGENT_STUBS.map((s) => s.file).sort());
    const inputs = Object.keys((r as unknown as { metafile: { inputs: Record<string, unknown> } }).metafile.inputs);
    // A stub keeps its file's path among the inputs; everything else from a package means it is bundled.
    const stubbed = new Set(AGENT_STUBS.map((s) => s.file));
    const packages = new Set(
      inputs.filter((i) => !stubbed.has(i.replace(/^.*node_modules\//, ""))).map((i) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(i)?.[1]),
    );
    // tar-stream is the agent's own now (v3, agent/runtime/registry/docker-archive.ts builds `docker
    // load` archives with it); dockerode's tar-fs, and the tar-stream 2 under it, stay dropped.
    for (const dropped of ["ssh2", "@grpc/grpc-js", "@grpc/proto-loader", "protobufjs", "tar-fs", "socks", "lru-cache", "worker-timers"]) {
      expect(packages.has(dropped), dropped).toBe(false);
    }
    // Still there: what the agent uses.
    for (const kept of ["dockerode", "docker-modem", "mqtt", "mqtt-packet", "zod", "tar-stream"]) expect(packages.has(kept), kept).toBe(true);
    expect(inputs.some((i) => i.includes("tar-fs/node_modules/tar-stream/")), "tar-fs's tar-stream 2").toBe(false);
  }, 60_000);

  test("each stub throws its readable error; readable-stream is node:stream", async () => {
    const throwing = AGENT_STUBS.filter((s): s is AgentStub & { feature: string } => s.feature !== undefined);
    const source = `
      const results = {};
      const modules = { ${throwing.map((s) => `${JSON.stringify(s.file)}: require(${JSON.stringify(join(ROOT, "node_modules", s.file))})`).join(", ")} };
      for (const [file, m] of Object.entries(modules)) {
        const fns = typeof m === "function" ? [m] : Object.values(m).filter((v) => typeof v === "function");
        results[file] = fns.map((fn) => {
          let message = "did not throw";
          try { fn({}, {}, (err) => { message = err.message; }); } catch (e) { message = e.message; }
          return message;
        });
      }
      const rs = require(${JSON.stringify(join(ROOT, "node_modules/readable-stream"))});
      results.readableStream = rs.Readable === require("node:stream").Readable && rs.Writable === require("node:stream").Writable;
      console.log(JSON.stringify(results));
    `;
    const results = (await runBundled("stub-errors", source)) as Record<string, string[] | boolean>;
    for (const s of throwing) {
      const messages = results[s.file] as string[];
      expect(messages.length, s.file).toBeGreaterThan(0);
      for (const m of messages) expect(m).toBe(unsupportedMessage(s.feature));
    }
    expect(results.readableStream).toBe(true);
  }, 60_000);

  test("every Docker operation of the agent works through dockerode with the stubs in place", async () => {
    const hits = new Set<string>();
    const source = `
      import { DockerRuntime } from "../../agent/runtime/docker.ts";
      import { builtInPauseImage } from "../../agent/runtime/pause-image/pause-image.ts";
      import { pauseArchOf } from "../../agent/runtime/pause-image/pause-program.ts";
      const rt = new DockerRuntime();
      // Names carry the test runner's pid (not this script's): its afterAll removes what is left.
      const labels = { "flotilla.stub-test": "${process.pid}" };
      const image = "flotilla/busybox:test";
      const r = {};
      const info = await rt.info();
      r.info = typeof info.version === "string" && info.cpus > 0;
      // No registry here: the pull fails and the default behaviour falls back to the cached image.
      r.ensureImage = await rt.ensureImage(image, "default");
      r.imageId = (await rt.imageId(image))?.startsWith("sha256:");
      r.missingImageId = await rt.imageId("flotilla/no-such-image:stub-test");
      await rt.removeImage("flotilla/no-such-image:stub-test");
      // The built-in pause image goes in through the image load API.
      const pause = builtInPauseImage(pauseArchOf(info.architecture));
      await rt.loadImage(pause.archive);
      r.loadImage = (await rt.imageLabels(pause.reference))?.["flotilla.pause-image"] === pause.programDigest;
      r.missingImageLabels = await rt.imageLabels("flotilla/no-such-image:stub-test");
      r.badArchive = await rt.loadImage(new Uint8Array(2048).fill(7)).then(() => "loaded?", (e) => e.kind);
      let hinted = false;
      const unwatch = rt.watch(labels, () => { hinted = true; });
      const net = "flotilla-stub-test-${process.pid}";
      await rt.ensureNetwork(net);
      await rt.ensureNetwork(net);
      const vol = { name: "flotilla-stub-test-${process.pid}", labels };
      await rt.ensureVolume(vol, true);
      const id = await rt.create({
        name: "flotilla-stub-test-${process.pid}", image, labels, networkMode: "bridge", networkName: net, portBindings: [],
        stopTimeoutSeconds: 1, mounts: [{ source: vol.name, target: "/data", readOnly: false }],
        command: ["sh", "-c", "echo out-line; echo err-line >&2; trap 'exit 0' TERM; sleep 300 & wait"],
      });
      await rt.start(id);
      const deadline = Date.now() + 20000;
      let listed = [];
      while (Date.now() < deadline && !(listed.length && hinted)) { listed = (await rt.list(labels)).filter((c) => c.state === "running"); await Bun.sleep(100); }
      r.listed = listed.map((c) => c.id === id);
      r.hinted = hinted;
      const inspected = await rt.inspect(id);
      r.inspect = inspected?.state === "running" && net in (inspected.ipAddresses ?? {});
      r.imagesInUse = (await rt.imagesInUse()).has(image);
      const seen = [];
      const wait = Date.now() + 10000;
      while (Date.now() < wait && seen.length < 2) {
        seen.length = 0;
        for await (const c of rt.logs(id, { tail: 10 }, new AbortController().signal)) seen.push(c.stream + ":" + new TextDecoder().decode(c.data).trim());
        await Bun.sleep(100);
      }
      r.logs = seen.sort();
      const ac = new AbortController();
      const followed = [];
      for await (const c of rt.logs(id, { follow: true, tail: 1 }, ac.signal)) { followed.push(c.stream); ac.abort(); }
      // The last line is whichever stream Docker timestamped last.
      r.follow = followed.length === 1 && ["stdout", "stderr"].includes(followed[0]);
      // Exec goes over a hijacked connection (the upgrade socket), not the stubbed http_duplex.
      const dec = new TextDecoder();
      const piped = await rt.exec(id, { command: ["sh", "-c", "read l; echo got-$l >&2; exit 4"], tty: false, stdin: true });
      piped.write(new TextEncoder().encode("x\\n"));
      piped.closeStdin();
      let pipedOut = "";
      for await (const c of piped.output) pipedOut += c.stream + ":" + dec.decode(c.data);
      r.exec = [pipedOut.trim(), await piped.exitCode()];
      const pty = await rt.exec(id, { command: ["sh"], tty: true, stdin: true, size: { cols: 91, rows: 31 } });
      pty.write(new TextEncoder().encode("stty size; exit 0\\n"));
      let ptyOut = "";
      for await (const c of pty.output) ptyOut += dec.decode(c.data);
      r.ptySize = ptyOut.includes("31 91");
      await rt.stop(id, 1);
      r.stopped = (await rt.inspect(id))?.state;
      await rt.remove(id);
      r.removed = await rt.inspect(id);
      await rt.removeVolume(vol.name);
      unwatch();
      const ssh = new DockerRuntime({ protocol: "ssh", host: "192.0.2.1", port: 22 });
      r.ssh = await ssh.info().then(() => "connected?", (e) => e.message);
      console.log(JSON.stringify(r));
      process.exit(0);
    `;
    const r = (await runBundled("runtime-exercise", source, hits)) as Record<string, unknown>;
    // dockerode's modules were stubbed in this bundle too: the test ran against the agent's build.
    expect(hits.has("docker-modem/lib/ssh.js") && hits.has("dockerode/lib/session.js")).toBe(true);
    expect(r).toEqual({
      info: true,
      ensureImage: false,
      imageId: true,
      missingImageId: null,
      loadImage: true,
      missingImageLabels: null,
      badArchive: "CannotPullContainerError",
      listed: [true],
      hinted: true,
      inspect: true,
      imagesInUse: true,
      logs: ["stderr:err-line", "stdout:out-line"],
      follow: true,
      exec: ["stderr:got-x", 4],
      ptySize: true,
      stopped: "exited",
      removed: null,
      ssh: unsupportedMessage("ssh:// Docker hosts (DOCKER_HOST=ssh://...)"),
    });
  }, 90_000);

  test("the compiled agent registers over mqtts:// with a client certificate and runs a task", async () => {
    const binary = join(out, "flotilla-agent");
    await compileBinary({ entry: ENTRY.agent, outfile: binary, agentSettings: true });
    const pki = makeThrowawayPki("stubs");
    const cert = pki.read(pki.serverCertFile);
    const key = pki.read(pki.serverKeyFile);
    const tc = await startControlWith(
      { broker: { host: "127.0.0.1", port: 0, tls: { cert, key, ca: pki.read(pki.caFile), requireClientCert: true } }, http: { host: "127.0.0.1", port: 0, tls: { cert, key } } },
      { tls: { ca: pki.read(pki.caFile) } },
    );
    let instanceId: string | undefined;
    let output = "";
    const act = await activation(tc, "stubs-tls", 1);
    const agent = Bun.spawn(
      [binary, "--control", tc.control.mqttUrl, "--activation-id", act.activationId, `--activation-code=${act.activationCode}`,
        "--data-dir", mkdtempSync(join(tmpdir(), "flotilla-stubs-agent-")), "--introspection-port", "off", "--image-pull-behavior", "prefer-cached",
        "--ca-file", pki.caFile, "--tls-cert", pki.clientCertFile, "--tls-key", pki.clientKeyFile],
      { stdin: "ignore", stdout: "pipe", stderr: "pipe" },
    );
    for (const s of [agent.stdout, agent.stderr]) void (async () => { for await (const c of s) output += new TextDecoder().decode(c); })();
    try {
      instanceId = await waitFor("the compiled agent to connect over mqtts://", async () => {
        if (agent.exitCode !== null) throw new Error(`agent exited ${agent.exitCode}: ${output}`);
        const list = (await tc.api("GET", "/v1/clusters/stubs-tls/container-instances")).body.containerInstances as any[];
        return list.find((i) => i.agentConnected)?.containerInstanceId as string | undefined;
      }, { timeoutMs: 30_000 });
      expect(tc.control.mqttUrl).toStartWith("mqtts://");
      await tc.api("POST", "/v1/task-definitions", { family: "stubs-tls", containerDefinitions: [{ name: "web", image: "flotilla/busybox:test", memory: 16, essential: true, stopTimeout: 2 }] });
      const res = await tc.api("POST", "/v1/clusters/stubs-tls/tasks", { taskDefinition: "stubs-tls" });
      expect(res.status).toBe(201);
      const task = await waitTaskStatus(tc, "stubs-tls", res.body.tasks[0].taskId, "RUNNING", 60_000);
      expect(task.containerInstanceId).toBe(instanceId);
      expect(output).not.toContain("is not supported by this agent build");
      // mqtt.js gets parsed options (shared/broker-address.ts), so Node's url.parse() never warns.
      expect(output).not.toContain("DeprecationWarning");
    } finally {
      agent.kill("SIGTERM");
      await agent.exited;
      if (instanceId) await removeInstanceContainers(instanceId);
      await tc.stop();
      rmSync(pki.dir, { recursive: true, force: true });
    }
  }, 120_000);
});
