import { emit, expectArgs, type Resource } from "../command.ts";
import { UsageError } from "../errors.ts";
import { table } from "../output.ts";
import { configPath, readConfig, writeConfig } from "../settings.ts";

const pathOf = (env: Record<string, string | undefined> | undefined) => configPath(env ?? {});

/** Named contexts in the config file, one per control service, kubectl style. */
export const config: Resource = {
  name: "config",
  summary: "Contexts (several control services) in the config file: set, list, switch.",
  commands: {
    "set-context": {
      summary: "Create or update a named context from --api, --token and --cluster (only the given fields change).",
      args: "<name>",
      offline: true,
      examples: ["flotilla config set-context shop --api https://shop.example:8080 --token $T --cluster edge"],
      async run(ctx, { positionals, values }) {
        const [name] = expectArgs(positionals, ["name"]);
        const path = pathOf(ctx.env);
        const file = readConfig(path);
        const cur = file.contexts?.[name!] ?? {};
        const api = values.api as string | undefined;
        if (api !== undefined && !/^https?:\/\/[^/]+/.test(api)) throw new UsageError(`--api must be an http:// or https:// URL, got "${api}"`);
        const next = {
          ...cur,
          ...(api !== undefined ? { api: api.replace(/\/+$/, "") } : {}),
          ...(values.token !== undefined ? { token: values.token } : {}),
          ...(values.cluster !== undefined ? { cluster: values.cluster } : {}),
        };
        writeConfig(path, { ...file, contexts: { ...(file.contexts ?? {}), [name!]: next } });
        emit(ctx, { name, ...next, token: next.token ? "(set)" : undefined }, () => `context ${name} saved in ${path}`);
      },
    },
    "use-context": {
      summary: "Make a context the current one (used when no --profile or FLOTILLA_PROFILE is given).",
      args: "<name>",
      offline: true,
      async run(ctx, { positionals }) {
        const [name] = expectArgs(positionals, ["name"]);
        const path = pathOf(ctx.env);
        const file = readConfig(path);
        if (!file.contexts?.[name!]) {
          const names = Object.keys(file.contexts ?? {});
          throw new UsageError(`no context "${name}" in ${path}${names.length ? ` (one of: ${names.join(", ")})` : "; create it with config set-context"}`);
        }
        writeConfig(path, { ...file, currentContext: name });
        emit(ctx, { currentContext: name }, () => `switched to context ${name}`);
      },
    },
    "get-contexts": {
      summary: "List the contexts; * marks the current one.",
      offline: true,
      async run(ctx, { positionals }) {
        expectArgs(positionals, []);
        const file = readConfig(pathOf(ctx.env));
        const current = ctx.env?.FLOTILLA_PROFILE ?? file.currentContext;
        const rows = Object.entries(file.contexts ?? {}).map(([name, c]) => ({ name, current: name === current, api: c.api, cluster: c.cluster }));
        emit(ctx, { currentContext: current, contexts: rows }, () =>
          table(rows, [
            ["CURRENT", (r) => (r.current ? "*" : "")],
            ["NAME", (r) => r.name],
            ["API", (r) => r.api],
            ["CLUSTER", (r) => r.cluster],
          ]),
        );
      },
    },
    "delete-context": {
      summary: "Remove a context.",
      args: "<name>",
      offline: true,
      async run(ctx, { positionals }) {
        const [name] = expectArgs(positionals, ["name"]);
        const path = pathOf(ctx.env);
        const file = readConfig(path);
        if (!file.contexts?.[name!]) throw new UsageError(`no context "${name}" in ${path}`);
        const { [name!]: _gone, ...contexts } = file.contexts;
        writeConfig(path, { ...file, contexts, ...(file.currentContext === name ? { currentContext: undefined } : {}) });
        emit(ctx, { deleted: name }, () => `context ${name} deleted`);
      },
    },
  },
};
