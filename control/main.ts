import { CONTROL_HELP, ConfigError, parseControlConfig } from "./config.ts";
import { createControl } from "./control.ts";
import { openDatabase } from "./db/open.ts";
import { mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { loadMasterKey } from "./crypto/master-key.ts";
import { createLogger } from "../shared/log.ts";
import { loadReleasePublicKeys } from "../shared/release-signature.ts";

/** The key file and agent releases live next to a file database; with a remote database, in ./data. */
function dataDir(dbUrl: string): string {
  const path = dbUrl.startsWith("file:") ? dbUrl.slice("file:".length) : "";
  const dir = path && path !== ":memory:" ? dirname(path) : "./data";
  mkdirSync(dir, { recursive: true });
  return dir;
}
const defaultKeyFile = (dbUrl: string) => join(dataDir(dbUrl), "master.key");

async function main() {
  let config;
  try {
    config = parseControlConfig(process.argv.slice(2), process.env);
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(`flotilla-control: ${e.message} (see --help)`);
      process.exit(2);
    }
    throw e;
  }
  if (config.help) {
    console.log(CONTROL_HELP);
    return;
  }
  let tls: { cert: string; key: string; ca?: string } | undefined;
  let masterKey: Buffer;
  let releaseKeys: ReturnType<typeof loadReleasePublicKeys> = [];
  try {
    if (config.releasePublicKey) releaseKeys = loadReleasePublicKeys([config.releasePublicKey]);
    tls = config.tls && {
      cert: readFileSync(config.tls.certFile, "utf8"),
      key: readFileSync(config.tls.keyFile, "utf8"),
      ca: config.tls.clientCaFile ? readFileSync(config.tls.clientCaFile, "utf8") : undefined,
    };
    masterKey = loadMasterKey({ env: config.masterKey, keyFile: config.masterKeyFile ?? defaultKeyFile(config.db) });
  } catch (e) {
    console.error(`flotilla-control: ${(e as Error).message}`);
    process.exit(2);
  }
  const log = createLogger({ component: "control", level: config.log.level, format: config.log.format });
  const db = await openDatabase(config.db);
  const control = await createControl({
    db,
    log,
    broker: { host: config.bind, port: config.mqttPort, tls: tls && { cert: tls.cert, key: tls.key, ca: tls.ca, requireClientCert: tls.ca !== undefined }, clusterUrl: config.broker.mode === "embedded" ? config.broker.clusterUrl : undefined },
    externalBroker: config.broker.mode === "external" ? config.broker : undefined,
    http: { host: config.bind, port: config.httpPort, tls: tls && { cert: tls.cert, key: tls.key } },
    adminToken: config.adminToken,
    masterKey,
    ha: config.ha,
    webhooks: { allowHosts: config.webhookAllowHosts },
    eventRetention: config.eventRetention,
    metricsListen: config.metricsListen,
    releases: { dir: config.releaseDir ?? join(dataDir(config.db), "agent-releases"), publicKeys: releaseKeys, publicUrl: config.publicUrl },
  });
  if (control.createdAdminToken) {
    // On the terminal only, never a log line: the one time this secret is shown (docs/security.md).
    process.stdout.write(`admin API token (shown once, store it now): ${control.createdAdminToken}\n`);
  }
  log.info({ httpUrl: control.httpUrl, mqttUrl: control.mqttUrl }, `flotilla control listening: api ${control.httpUrl} mqtt ${control.mqttUrl} console ${control.httpUrl}/console`);
  if (control.metricsUrl) log.info({ metricsUrl: control.metricsUrl }, `flotilla control metrics (no token): ${control.metricsUrl}`);
  const shutdown = async () => {
    await control.stop();
    db.close();
    process.exit(0);
  };
  process.on("SIGINT", shutdown);
  process.on("SIGTERM", shutdown);
}

await main();
