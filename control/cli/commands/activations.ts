import { seg } from "../client.ts";
import { emit, expectArgs, expectIds, intFlag, type Resource } from "../command.ts";
import { details, table } from "../output.ts";

export const activations: Resource = {
  name: "activations",
  summary: "Activations that let new hosts register: create (the code is shown once), list, revoke.",
  commands: {
    create: {
      summary: "Create an activation for the cluster.",
      options: {
        "registration-limit": { type: "string", valueName: "N", description: "how many hosts may register with it (default 1)" },
        "expires-in": { type: "string", valueName: "SECONDS", description: "lifetime in seconds (default 86400)" },
        description: { type: "string", valueName: "TEXT", description: "free text" },
      },
      examples: ["flotilla activations create -c edge --registration-limit 20"],
      async run(ctx, { positionals, values }) {
        expectArgs(positionals, []);
        const req: Record<string, unknown> = {};
        const limit = intFlag("registration-limit", values["registration-limit"], { min: 1 });
        const exp = intFlag("expires-in", values["expires-in"], { min: 1 });
        if (limit !== undefined) req.registrationLimit = limit;
        if (exp !== undefined) req.expiresInSeconds = exp;
        if (values.description !== undefined) req.description = values.description;
        const body = await ctx.client.call("POST", `/v1/clusters/${seg(ctx.settings.cluster)}/activations`, req);
        emit(ctx, body, () =>
          details([
            ["Activation ID", body.activationId],
            ["Activation code", body.activationCode],
            ["Registration limit", body.registrationLimit],
            ["Expires", body.expiresAt],
          ]) + "\n(the code is shown only now: store it)",
        );
      },
    },
    list: {
      summary: "List the cluster's activations with their status (ACTIVE, EXPIRED, EXHAUSTED, REVOKED).",
      async run(ctx, { positionals }) {
        expectArgs(positionals, []);
        const body = await ctx.client.call("GET", `/v1/clusters/${seg(ctx.settings.cluster)}/activations`);
        emit(ctx, body, () =>
          table(body.activations ?? [], [
            ["ACTIVATION ID", (a) => a.activationId],
            ["STATUS", (a) => a.status],
            ["REGISTERED", (a) => `${a.registrationsCount}/${a.registrationLimit}`],
            ["EXPIRES", (a) => a.expiresAt],
            ["CREATED", (a) => a.createdAt],
          ]),
        );
      },
    },
    revoke: {
      summary: "Revoke activations: no more hosts may register with them (registered hosts stay).",
      args: "<activation-id>...",
      async run(ctx, { positionals }) {
        const ids = expectIds(positionals, "activation-id");
        const revoked: any[] = [];
        for (const id of ids) revoked.push((await ctx.client.call("DELETE", `/v1/clusters/${seg(ctx.settings.cluster)}/activations/${seg(id)}`)).activation);
        emit(ctx, { activations: revoked }, () => revoked.map((a) => `activation ${a.activationId} ${a.status}`).join("\n"));
      },
    },
  },
};
