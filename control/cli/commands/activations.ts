import { seg } from "../client.ts";
import { emit, expectArgs, intFlag, type Resource } from "../command.ts";
import { details } from "../output.ts";

export const activations: Resource = {
  name: "activations",
  summary: "Create activations that let new hosts register (the code is shown once).",
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
  },
};
