import { emit, expectArgs, intFlag, type Resource } from "../command.ts";
import { table } from "../output.ts";

export const audit: Resource = {
  name: "audit",
  summary: "The audit log of API calls (admin only), newest first.",
  commands: {
    list: {
      summary: "List audit entries, newest first.",
      options: {
        limit: { type: "string", valueName: "N", description: "at most N entries" },
        before: { type: "string", valueName: "ID", description: "only entries older than this entry id (paging)" },
      },
      async run(ctx, { positionals, values }) {
        expectArgs(positionals, []);
        const q = new URLSearchParams();
        const limit = intFlag("limit", values.limit, { min: 1 });
        const before = intFlag("before", values.before, { min: 0 });
        if (limit !== undefined) q.set("limit", String(limit));
        if (before !== undefined) q.set("before", String(before));
        const body = await ctx.client.call("GET", `/v1/audit${q.size ? `?${q}` : ""}`);
        emit(ctx, body, () =>
          table(body.entries ?? [], [
            ["ID", (e) => e.id],
            ["AT", (e) => e.at],
            ["WHO", (e) => e.who?.name ?? e.who?.tokenId],
            ["ACTION", (e) => e.action],
            ["STATUS", (e) => e.status],
            ["REQUEST", (e) => `${e.method} ${e.path}`],
          ]),
        );
      },
    },
  },
};
