import { seg } from "../client.ts";
import { emit, expectArgs, expectIds, intFlag, type Resource } from "../command.ts";
import { UsageError } from "../errors.ts";
import { details, table } from "../output.ts";

export const webhooks: Resource = {
  name: "webhooks",
  summary: "Webhooks (admin only): events POSTed to a URL, signed (X-Flotilla-Signature), retried, logged.",
  commands: {
    create: {
      summary: "Create a webhook; a generated secret is shown once.",
      args: "<url>",
      options: {
        "detail-type": { type: "string", multiple: true, valueName: "TYPE", description: 'only these detail-types ("ECS Task State Change", …); repeatable' },
        "filter-cluster": { type: "string", multiple: true, valueName: "NAME", description: "only these clusters' events; repeatable" },
        secret: { type: "string", valueName: "SECRET", description: "HMAC key (16+ characters); generated when absent" },
      },
      examples: ['flotilla webhooks create https://hooks.example.com/ecs --detail-type "ECS Task State Change" --filter-cluster prod'],
      async run(ctx, { positionals, values }) {
        const [url] = expectArgs(positionals, ["url"]);
        if (values.secret !== undefined && values.secret.length < 16) throw new UsageError("--secret must be at least 16 characters");
        const body = await ctx.client.call("POST", "/v1/webhooks", {
          url,
          detailTypes: values["detail-type"] ?? [],
          clusters: values["filter-cluster"] ?? [],
          ...(values.secret !== undefined ? { secret: values.secret } : {}),
        });
        emit(ctx, body, () =>
          details([
            ["Webhook ID", body.webhook.webhookId],
            ["URL", body.webhook.url],
            ["Status", body.webhook.status],
            ["Secret", body.secret ?? `(given; hint ${body.webhook.secretHint})`],
          ]) + (body.secret ? "\n(the secret is shown only now: store it)" : ""),
        );
      },
    },
    list: {
      summary: "List webhooks (secrets are never shown, only a hint).",
      async run(ctx, { positionals }) {
        expectArgs(positionals, []);
        const body = await ctx.client.call("GET", "/v1/webhooks");
        emit(ctx, body, () =>
          table(body.webhooks ?? [], [
            ["WEBHOOK ID", (w) => w.webhookId],
            ["URL", (w) => w.url],
            ["STATUS", (w) => w.status],
            ["TYPES", (w) => (w.detailTypes.length ? w.detailTypes.join(", ") : "all")],
            ["CLUSTERS", (w) => (w.clusters.length ? w.clusters.join(", ") : "all")],
            ["SECRET", (w) => w.secretHint],
          ]),
        );
      },
    },
    delete: {
      summary: "Delete webhooks (and their delivery logs) by id.",
      args: "<webhook-id>...",
      async run(ctx, { positionals }) {
        const ids = expectIds(positionals, "webhook-id");
        const gone: any[] = [];
        for (const id of ids) gone.push((await ctx.client.call("DELETE", `/v1/webhooks/${seg(id)}`)).webhook);
        emit(ctx, { webhooks: gone }, () => gone.map((w) => `webhook ${w.webhookId} (${w.url}) deleted`).join("\n"));
      },
    },
    deliveries: {
      summary: "A webhook's delivery log, newest first: status, attempts, last error.",
      args: "<webhook-id>",
      options: { limit: { type: "string", valueName: "N", description: "at most N deliveries" } },
      async run(ctx, { positionals, values }) {
        const [id] = expectArgs(positionals, ["webhook-id"]);
        const limit = intFlag("limit", values.limit, { min: 1 });
        const body = await ctx.client.call("GET", `/v1/webhooks/${seg(id!)}/deliveries${limit ? `?limit=${limit}` : ""}`);
        emit(ctx, body, () =>
          table(body.deliveries ?? [], [
            ["DELIVERY", (d) => d.deliveryId],
            ["EVENT", (d) => d.eventId],
            ["STATUS", (d) => d.status],
            ["ATTEMPTS", (d) => d.attempts],
            ["HTTP", (d) => d.responseStatus],
            ["LAST ERROR", (d) => d.lastError],
          ]),
        );
      },
    },
  },
};
