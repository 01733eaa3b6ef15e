import { seg } from "../client.ts";
import { emit, expectArgs, keyValues, type Resource } from "../command.ts";
import { UsageError } from "../errors.ts";
import { lastSegment, table } from "../output.ts";

const target = { type: "string", short: "t", valueName: "INSTANCE-ID", description: "container instance the attributes belong to (required)" } as const;

function requireTarget(v: string | undefined): string {
  if (!v) throw new UsageError("--target is required (the container instance id)");
  return v;
}

export const attributes: Resource = {
  name: "attributes",
  summary: "Custom attributes on container instances (used by memberOf placement constraints).",
  commands: {
    put: {
      summary: "Set attributes on an instance: NAME=VALUE, or NAME alone for a value-less attribute.",
      args: "<name[=value]>...",
      options: { target },
      examples: ["flotilla attributes put -c edge -t 3f2a... site=berlin gpu"],
      async run(ctx, { positionals, values }) {
        const targetId = requireTarget(values.target);
        if (positionals.length === 0) throw new UsageError("missing argument <name[=value]>");
        const attrs = positionals.map((p) => (p.includes("=") ? keyValues("attribute", [p])[0]! : [p, undefined] as const));
        const req = { attributes: attrs.map(([name, value]) => ({ name, ...(value !== undefined ? { value } : {}), targetId })) };
        const body = await ctx.client.call("PUT", `/v1/clusters/${seg(ctx.settings.cluster)}/attributes`, req);
        emit(ctx, body, () => `set ${attrs.length} attribute(s) on ${targetId}`);
      },
    },
    delete: {
      summary: "Remove attributes from an instance.",
      args: "<name>...",
      options: { target },
      async run(ctx, { positionals, values }) {
        const targetId = requireTarget(values.target);
        if (positionals.length === 0) throw new UsageError("missing argument <name>");
        const req = { attributes: positionals.map((name) => ({ name, targetId })) };
        const body = await ctx.client.call("DELETE", `/v1/clusters/${seg(ctx.settings.cluster)}/attributes`, req);
        emit(ctx, body, () => `removed ${positionals.length} attribute(s) from ${targetId}`);
      },
    },
    list: {
      summary: "List attributes in the cluster (as ECS ListAttributes).",
      options: {
        name: { type: "string", valueName: "NAME", description: "only attributes with this name" },
        value: { type: "string", valueName: "VALUE", description: "only with this value (needs --name)" },
      },
      async run(ctx, { positionals, values }) {
        expectArgs(positionals, []);
        const q = new URLSearchParams();
        if (values.name) q.set("attributeName", values.name);
        if (values.value) q.set("attributeValue", values.value);
        const qs = q.size ? `?${q}` : "";
        const body = await ctx.client.call("GET", `/v1/clusters/${seg(ctx.settings.cluster)}/attributes${qs}`);
        emit(ctx, body, () =>
          table(body.attributes ?? [], [
            ["TARGET", (a) => lastSegment(a.targetId)],
            ["NAME", (a) => a.name],
            ["VALUE", (a) => a.value],
          ]),
        );
      },
    },
  },
};
