import { CONTROL_HELP, ConfigError, parseControlConfig } from "./config.ts";
import { createControl } from "./control.ts";
import { openDatabase } from "./db/open.ts";

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
  const db = await openDatabase(config.db);
  const control = await createControl({
    db,
    broker: { host: config.bind, port: config.mqttPort },
    http: { host: config.bind, port: config.httpPort },
    adminToken: config.adminToken,
  });
  if (control.createdAdminToken) {
    console.log(`admin API token (shown once, store it now): ${control.createdAdminToken}`);
  }
  console.log(`flotilla control listening: api ${control.httpUrl} mqtt ${control.mqttUrl}`);
  const shutdown = async () => {
    await control.stop();
    db.close();
    process.exit(0);
  };
  process.on("SIGINT", shutdown);
  process.on("SIGTERM", shutdown);
}

await main();
