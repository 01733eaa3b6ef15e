import { Hono } from "hono";
import type { OpsContext } from "../../ops/context.ts";
import { createImagePrefetch, describeImagePrefetch, imagePrefetchView, listImagePrefetches } from "../../ops/image-prefetch.ts";
import { jsonBody } from "../errors.ts";

/** /v1/clusters/{cluster}/image-prefetch: pull images on hosts ahead of need, with per-host progress. */
export function imagePrefetchRoutes(ctx: OpsContext) {
  const app = new Hono();
  app.post("/:cluster/image-prefetch", async (c) => c.json({ imagePrefetch: imagePrefetchView(await createImagePrefetch(ctx, c.req.param("cluster"), await jsonBody(c))) }, 201));
  app.get("/:cluster/image-prefetch", async (c) => c.json({ imagePrefetches: (await listImagePrefetches(ctx, c.req.param("cluster"))).map(imagePrefetchView) }));
  app.get("/:cluster/image-prefetch/:id", async (c) => c.json({ imagePrefetch: imagePrefetchView(await describeImagePrefetch(ctx, c.req.param("cluster"), c.req.param("id"))) }));
  return app;
}
