import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import mqtt from "mqtt";
import { loadIdentity } from "../../agent/store/identity.ts";
import { rmSync } from "node:fs";
import type { AgentProcess } from "../helpers/agent-process.ts";
import { startAgentProcess } from "../helpers/agent-process.ts";
import { TEST_TOKEN, type TestControl } from "../helpers/control.ts";
import { activation, startRegisteredAgent } from "../helpers/fleet.ts";
import { waitFor } from "../helpers/wait.ts";
import { startControlWith } from "../control/security/control-with.ts";
import { makeThrowawayPki, type ThrowawayPki } from "../control/security/throwaway-ca.ts";

let pki: ThrowawayPki;
let other: ThrowawayPki;
let tc: TestControl;
let agent: AgentProcess | undefined;
const stray: AgentProcess[] = [];

beforeAll(async () => {
  pki = makeThrowawayPki("flotilla");
  other = makeThrowawayPki("other");
  const cert = pki.read(pki.serverCertFile);
  const key = pki.read(pki.serverKeyFile);
  tc = await startControlWith(
    {
      broker: { host: "127.0.0.1", port: 0, tls: { cert, key, ca: pki.read(pki.caFile), requireClientCert: true } },
      http: { host: "127.0.0.1", port: 0, tls: { cert, key } },
    },
    { tls: { ca: pki.read(pki.caFile) } },
  );
}, 30_000);
afterAll(async () => {
  await agent?.stop();
  for (const a of stray) await a.stop();
  await tc?.stop();
  rmSync(pki.dir, { recursive: true, force: true });
  rmSync(other.dir, { recursive: true, force: true });
});

describe("TLS", () => {
  test("the API is served over HTTPS with the given certificate", async () => {
    expect(tc.control.httpUrl).toStartWith("https://");
    expect(tc.control.mqttUrl).toStartWith("mqtts://");
    expect((await tc.api("GET", "/v1/clusters")).status).toBe(200);
    // A client that does not trust the CA refuses the connection.
    const err = await fetch(tc.control.httpUrl + "/healthz").then(() => null, (e) => e);
    expect(err).not.toBeNull();
  });

  test("an agent verifies the broker with --ca-file, presents its client certificate and runs", async () => {
    ({ agent } = await startRegisteredAgent(tc, "tls", ["--ca-file", pki.caFile, "--tls-cert", pki.clientCertFile, "--tls-key", pki.clientKeyFile]));
    expect(agent.output()).not.toContain("link error");
  }, 30_000);

  test("an agent that trusts another CA does not talk to the broker", async () => {
    const act = await activation(tc, "tls", 1);
    const a = startAgentProcess({ control: tc.control.mqttUrl, activation: act, args: ["--ca-file", other.caFile, "--tls-cert", pki.clientCertFile, "--tls-key", pki.clientKeyFile] });
    stray.push(a);
    await waitFor("the agent to report the certificate problem", () => /certificate|self.signed|unable to verify/i.test(a.output()), { timeoutMs: 15_000 });
    const list = (await tc.api("GET", "/v1/clusters/tls/activations")).body.activations as any[];
    expect(list.find((x) => x.activationId === act.activationId).registrationsCount).toBe(0);
  }, 30_000);

  test("plain MQTT and TLS without a client certificate are refused", async () => {
    const plain = await mqtt
      .connectAsync(tc.control.mqttUrl.replace("mqtts:", "mqtt:"), { reconnectPeriod: 0, connectTimeout: 2000, username: "x", password: "y" })
      .then(() => null, (e) => e);
    expect(plain).not.toBeNull();
    // Valid instance credentials without the client certificate: refused at CONNECT.
    const id = loadIdentity(agent!.dataDir)!;
    const noCert = await mqtt
      .connectAsync(tc.control.mqttUrl, { reconnectPeriod: 0, connectTimeout: 2000, ca: pki.read(pki.caFile), clientId: id.instanceId, username: id.username, password: id.password })
      .then(() => null, (e) => e);
    expect(noCert?.code).toBe(5);
    // The broker survived the bad handshakes.
    expect((await tc.api("GET", "/v1/clusters/tls/container-instances")).body.containerInstances.some((i: any) => i.agentConnected)).toBe(true);
  }, 20_000);
});
void TEST_TOKEN;
