import { Hono, type Context } from "hono";
import type { TaskRow } from "../../db/rows.ts";
import { roleAllows } from "../../api/middleware/authorize/roles.ts";
import { activationView, createActivation, listActivations, revokeActivation } from "../../ops/activations.ts";
import { clusterCounts, listClusters } from "../../ops/clusters.ts";
import type { OpsContext } from "../../ops/context.ts";
import { OpError } from "../../ops/errors.ts";
import { fleetCounts, pageContainerInstances } from "../../ops/instance-pages.ts";
import { listAgentReleases } from "../../ops/agent-releases.ts";
import { instanceArchitecture, updateContainerAgent } from "../../ops/agent-updates.ts";
import { deregisterContainerInstance, instanceHostnames, listContainerInstances, requireInstance, updateInstanceStatus } from "../../ops/instances.ts";
import { createService, listServices, requireService, serviceDetails, endpointsOf, updateService } from "../../ops/services.ts";
import { deregisterTaskDefinition, listTaskDefinitions, registerTaskDefinition, resolveTaskDefinition } from "../../ops/task-definitions.ts";
import { resolveLogTarget } from "../../ops/task-logs.ts";
import { describeTask, listTasks, runTask } from "../../ops/tasks.ts";
import { auditView, listAudit } from "../../ops/audit.ts";
import { createToken, listTokens, revokeToken, tokenView } from "../../ops/tokens.ts";
import { AuditPage, ConfirmRevokePage, TokensPage } from "./admin.tsx";
import { LogRequestError } from "../../link/log-requests.ts";
import { taskDefinitionView, taskView } from "../../views/ecs.ts";
import { serviceView } from "../../views/services.ts";
import { consoleRequest, type AuditConsole, type ConsoleOptions } from "../request.ts";
import { base, clusterPath, ConfirmPage, Page } from "../layout.tsx";
import { ActivationsPage, installLine } from "./activations.tsx";
import { ConfirmStatusPage, HostPage, HostsPage } from "./hosts.tsx";
import { OverviewPage } from "./overview.tsx";
import { ServicePage, ServicesPage, type CoverageRow, type CreateServiceForm } from "./services.tsx";
import { ingressFromText, namesFromText } from "../ingress-form.ts";
import { DiffPage, FamiliesPage, FamilyPage, RegisterPage, RevisionPage } from "./task-definitions.tsx";
import { lineDiff, prettyJson } from "../revision-diff.ts";
import { TaskPage, TasksPage } from "./tasks.tsx";

/** A service page lists this many of its tasks (the tasks page has the rest). */
const SERVICE_TASKS_SHOWN = 100;

const ERROR_STATUS = { invalid: 400, unauthorized: 401, forbidden: 403, "not-found": 404, conflict: 409 } as const;

/** Messages a redirect may ask for by key (never text from the query string). */
const NOTICES: Record<string, string> = {
  DRAINING: "The host is draining.",
  ACTIVE: "The host is active.",
  scaled: "Desired count changed.",
  redeployed: "A new deployment started.",
  updated: "The service was updated: a new deployment started.",
  created: "The service was created.",
  addressed: "The service's ingress and DNS names were changed.",
  deregistered: "The host was deregistered.",
  "agent-update": "The agent update was sent: the status below follows the agent's reports.",
};

const field = (form: Record<string, unknown>, name: string) => (typeof form[name] === "string" ? (form[name] as string) : undefined);
/** A whole number as a number; anything else as given, so the operation's own check names the field. */
const integer = (v: string | undefined) => (v !== undefined && /^\d+$/.test(v.trim()) ? Number(v.trim()) : v);

function brokerOf(url: string | undefined) {
  if (!url) return undefined;
  const u = new URL(url);
  return { protocol: u.protocol, port: Number(u.port || (u.protocol === "mqtts:" ? 8883 : 1883)) };
}

/** The console's pages: each GET reads through the operations, each POST calls one operation. */
export function pageRoutes(ctx: OpsContext, opts: ConsoleOptions & { audit: AuditConsole }) {
  const app = new Hono();

  /**
   * A state-changing page action stands for one REST call: the caller's role is checked by the
   * API's own rule on that call's path, and the outcome is audited as that call.
   */
  async function act(c: Context, method: string, apiPath: string, run: () => Promise<Response>): Promise<Response> {
    const { token, viewer } = consoleRequest(c);
    if (!roleAllows(token.role, method, apiPath)) {
      await opts.audit(c, method, apiPath, 403);
      return c.html(
        <Page title="Not allowed" viewer={viewer}>
          <p class="errors" role="alert">{`Role "${token.role}" may not do this.`}</p>
        </Page>,
        403,
      );
    }
    try {
      const res = await run();
      await opts.audit(c, method, apiPath, res.status);
      return res;
    } catch (e) {
      await opts.audit(c, method, apiPath, e instanceof OpError ? ERROR_STATUS[e.kind] : 500);
      throw e;
    }
  }

  /** Reads only some roles may make (tokens, audit): the API's rule on the equivalent GET. */
  async function mayRead(c: Context, apiPath: string): Promise<Response | undefined> {
    const { token, viewer } = consoleRequest(c);
    if (roleAllows(token.role, "GET", apiPath)) return undefined;
    return c.html(
      <Page title="Not allowed" viewer={viewer}>
        <p class="errors" role="alert">{`Role "${token.role}" may not see this.`}</p>
      </Page>,
      403,
    );
  }

  app.get("/", async (c) => {
    const { viewer } = consoleRequest(c);
    const clusters = await Promise.all(
      (await listClusters(ctx)).map(async (r) => {
        const n = await clusterCounts(ctx, r.name);
        return { name: r.name, status: r.status, hosts: n.registeredContainerInstancesCount, running: n.runningTasksCount, pending: n.pendingTasksCount };
      }),
    );
    const cl = viewer.cluster;
    const fleet = cl ? await fleetCounts(ctx, cl) : undefined;
    const rollouts = [];
    const events: { service: string; at: string; message: string }[] = [];
    if (cl) {
      for (const s of await listServices(ctx, cl)) {
        const view = serviceView(await serviceDetails(ctx, s, 10));
        for (const e of view.events) if (e.createdAt) events.push({ service: s.serviceName, at: e.createdAt, message: e.message });
        for (const d of view.deployments) {
          if (d.rolloutState === "IN_PROGRESS") rollouts.push({ service: s.serviceName, deploymentId: d.id, taskDefinition: d.taskDefinition, desired: d.desiredCount, running: d.runningCount, rolloutState: d.rolloutState });
        }
      }
    }
    events.sort((a, b) => b.at.localeCompare(a.at));
    return c.html(<OverviewPage viewer={viewer} data={{ clusters, fleet, rollouts, events: events.slice(0, 15) }} />);
  });

  // Hosts
  app.get("/clusters/:cluster/hosts", async (c) => {
    const cluster = c.req.param("cluster");
    const { done, ...query } = c.req.query();
    const page = await pageContainerInstances(ctx, cluster, query);
    return c.html(<HostsPage viewer={consoleRequest(c).viewer} cluster={cluster} page={page} notice={done ? NOTICES[done] : undefined} />);
  });
  app.get("/clusters/:cluster/hosts/:id", async (c) => {
    const cluster = c.req.param("cluster");
    const row = await requireInstance(ctx, cluster, c.req.param("id"));
    const tasks = await listTasks(ctx, cluster, { containerInstance: row.id });
    const arch = instanceArchitecture(row);
    const releases = (await listAgentReleases(ctx)).filter((r) => r.architecture === arch).map((r) => r.version);
    const done = c.req.query("done");
    return c.html(<HostPage viewer={consoleRequest(c).viewer} cluster={cluster} row={row} tasks={tasks} releases={releases} notice={done ? NOTICES[done] : undefined} />);
  });
  app.post("/clusters/:cluster/hosts/:id/update-agent", async (c) => {
    const cluster = c.req.param("cluster");
    const id = c.req.param("id");
    return act(c, "POST", `/v1/clusters/${cluster}/container-instances/${id}/update-agent`, async () => {
      const send = opts.agentRequests?.();
      if (!opts.agentReleases || !send) throw new OpError("conflict", "ServerException", "agent updates cannot be sent: the control's agent link is not up");
      const version = field(await c.req.parseBody(), "version");
      const row = await updateContainerAgent(ctx, opts.agentReleases, send, cluster, id, version ? { version } : {}, new URL(c.req.url).origin);
      return c.redirect(`${clusterPath(cluster, `/hosts/${row.id}`)}?done=agent-update`, 303);
    });
  });
  app.post("/clusters/:cluster/hosts/:id/status", async (c) => {
    const cluster = c.req.param("cluster");
    const id = c.req.param("id");
    return act(c, "PATCH", `/v1/clusters/${cluster}/container-instances/${id}`, async () => {
      const form = await c.req.parseBody();
      const status = field(form, "status");
      if (field(form, "confirm") !== "yes") {
        const row = await requireInstance(ctx, cluster, id);
        return c.html(<ConfirmStatusPage viewer={consoleRequest(c).viewer} cluster={cluster} row={row} status={status === "ACTIVE" ? "ACTIVE" : "DRAINING"} />);
      }
      const row = await updateInstanceStatus(ctx, cluster, id, { status });
      return c.redirect(`${clusterPath(cluster, "/hosts")}?done=${row.status}`, 303);
    });
  });

  app.post("/clusters/:cluster/hosts/:id/deregister", async (c) => {
    const cluster = c.req.param("cluster");
    const id = c.req.param("id");
    return act(c, "DELETE", `/v1/clusters/${cluster}/container-instances/${id}`, async () => {
      const form = await c.req.parseBody();
      const row = await requireInstance(ctx, cluster, id);
      if (field(form, "confirm") !== "yes") {
        return c.html(
          <ConfirmPage
            viewer={consoleRequest(c).viewer}
            title="Deregister host?"
            text={`Deregister ${row.hostname} (${row.id})? Its credential is wiped and its agent disconnected; its unfinished tasks are recorded STOPPED. The host must register again with a new activation.`}
            action={clusterPath(cluster, `/hosts/${row.id}/deregister`)}
            yes="Yes, deregister"
            cancel={clusterPath(cluster, `/hosts/${row.id}`)}
          />,
        );
      }
      const { row: gone } = await deregisterContainerInstance(ctx, cluster, id);
      await opts.instanceRevoked?.(gone.id);
      return c.redirect(`${clusterPath(cluster, "/hosts")}?done=deregistered`, 303);
    });
  });

  // Services
  const servicesPage = async (c: Context, extra: { form?: CreateServiceForm; error?: OpError } = {}, status: 200 | 400 | 404 = 200) => {
    const cluster = c.req.param("cluster")!;
    const services = await Promise.all((await listServices(ctx, cluster)).map(async (r) => serviceView(await serviceDetails(ctx, r, 0))));
    const revisions = (await listTaskDefinitions(ctx, { status: "ACTIVE" })).map((r) => `${r.family}:${r.revision}`).reverse();
    const error = extra.error && { message: extra.error.message, fields: extra.error.fields };
    return c.html(<ServicesPage viewer={consoleRequest(c).viewer} cluster={cluster} services={services} revisions={revisions} form={extra.form} error={error} />, status);
  };
  app.get("/clusters/:cluster/services", (c) => servicesPage(c));
  app.post("/clusters/:cluster/services", async (c) => {
    const cluster = c.req.param("cluster");
    return act(c, "POST", `/v1/clusters/${cluster}/services`, async () => {
      const form = await c.req.parseBody();
      const fields: CreateServiceForm = {
        serviceName: field(form, "serviceName")?.trim(),
        taskDefinition: field(form, "taskDefinition")?.trim(),
        desiredCount: field(form, "desiredCount"),
        schedulingStrategy: field(form, "schedulingStrategy"),
        ingress: field(form, "ingress")?.trim(),
        discoveryName: field(form, "discoveryName")?.trim(),
        aliases: field(form, "aliases")?.trim(),
      };
      const daemon = fields.schedulingStrategy === "DAEMON";
      try {
        // A DAEMON service has no desired count of its own (ECS refuses one): the form's is left out.
        const row = await createService(ctx, cluster, {
          serviceName: fields.serviceName,
          taskDefinition: fields.taskDefinition,
          ...(fields.schedulingStrategy ? { schedulingStrategy: fields.schedulingStrategy } : {}),
          ...(daemon ? {} : { desiredCount: integer(fields.desiredCount) }),
          ...(fields.ingress ? { ingress: ingressFromText(fields.ingress) } : {}),
          ...(fields.discoveryName || fields.aliases ? { discovery: { ...(fields.discoveryName ? { name: fields.discoveryName } : {}), aliases: namesFromText(fields.aliases) } } : {}),
        });
        return c.redirect(`${clusterPath(cluster, `/services/${encodeURIComponent(row.serviceName)}`)}?done=created`, 303);
      } catch (e) {
        if (e instanceof OpError && e.kind !== "forbidden") return servicesPage(c, { form: fields, error: e }, e.kind === "not-found" ? 404 : 400);
        throw e;
      }
    });
  });
  const servicePage = async (c: Context, status: 200 | 400 | 404 = 200, error?: OpError) => {
    const cluster = c.req.param("cluster")!;
    const row = await requireService(ctx, cluster, c.req.param("name")!);
    const done = c.req.query("done");
    const details = await serviceDetails(ctx, row);
    const view = serviceView(details);
    const family = view.taskDefinition.split("/").pop()!.split(":")[0]!;
    const revisions = (await listTaskDefinitions(ctx, { status: "ACTIVE" })).filter((r) => r.family === family).map((r) => r.arn).reverse();
    // The service's tasks are read once for the whole page (a service may have thousands), newest first as ListTasks orders them.
    const serviceTasks = [...details.tasks].sort((a, b) => b.createdAt - a.createdAt || (b.id < a.id ? -1 : b.id > a.id ? 1 : 0));
    const endpoints = await endpointsOf(ctx, details.tasks);
    let coverage: CoverageRow[] | undefined;
    const shown = serviceTasks.slice(0, SERVICE_TASKS_SHOWN);
    let hostnames: Map<string, string>;
    if (view.schedulingStrategy === "DAEMON") {
      const here = new Map<string, TaskRow[]>();
      for (const t of serviceTasks) here.set(t.instanceId, [...(here.get(t.instanceId) ?? []), t]);
      const hosts = await listContainerInstances(ctx, cluster);
      coverage = hosts.map((host) => ({ host, tasks: here.get(host.id) ?? [] }));
      hostnames = new Map(hosts.map((i) => [i.id, i.hostname]));
    } else {
      hostnames = await instanceHostnames(ctx, cluster, [...new Set(shown.map((t) => t.instanceId))]);
    }
    const taskRows = shown.map((t) => ({ id: t.id, lastStatus: t.lastStatus, revision: t.taskDefinitionArn.split("/").pop()!, instanceId: t.instanceId, hostname: hostnames.get(t.instanceId) ?? t.instanceId }));
    return c.html(
      <ServicePage
        viewer={consoleRequest(c).viewer}
        cluster={cluster}
        service={view}
        revisions={revisions}
        endpoints={endpoints}
        coverage={coverage}
        tasks={{ rows: taskRows, total: serviceTasks.length }}
        notice={done ? NOTICES[done] : undefined}
        error={error && { message: error.message, fields: error.fields }}
      />,
      status,
    );
  };
  app.get("/clusters/:cluster/services/:name", (c) => servicePage(c));
  const serviceAction = (what: "scale" | "redeploy" | "update" | "addressing") =>
    app.post(`/clusters/:cluster/services/:name/${what}`, async (c) => {
      const cluster = c.req.param("cluster");
      const name = c.req.param("name");
      return act(c, "PATCH", `/v1/clusters/${cluster}/services/${name}`, async () => {
        const form = await c.req.parseBody();
        try {
          const input =
            what === "scale"
              ? { desiredCount: integer(field(form, "desiredCount")) }
              : what === "update"
                ? { taskDefinition: field(form, "taskDefinition") }
                : what === "addressing"
                  ? // The form shows the whole of both: what it sends replaces them (an empty name: the derived one).
                    { ingress: ingressFromText(field(form, "ingress")), discovery: { name: field(form, "discoveryName")?.trim() || null, aliases: namesFromText(field(form, "aliases")) } }
                  : { forceNewDeployment: true };
          await updateService(ctx, cluster, name, input);
        } catch (e) {
          // A bad value or a revision that does not exist: shown on the service page, with its status.
          if (e instanceof OpError && (e.kind === "invalid" || e.kind === "not-found")) return servicePage(c, e.kind === "invalid" ? 400 : 404, e);
          throw e;
        }
        const done = { scale: "scaled", redeploy: "redeployed", update: "updated", addressing: "addressed" }[what];
        return c.redirect(`${clusterPath(cluster, `/services/${encodeURIComponent(name)}`)}?done=${done}`, 303);
      });
    });
  serviceAction("scale");
  serviceAction("redeploy");
  serviceAction("update");
  serviceAction("addressing");

  // Tasks
  app.get("/clusters/:cluster/tasks", async (c) => {
    const cluster = c.req.param("cluster");
    const desiredStatus = c.req.query("desiredStatus") === "STOPPED" ? "STOPPED" : "RUNNING";
    const family = c.req.query("family")?.trim() || undefined;
    const rows = await listTasks(ctx, cluster, { desiredStatus, ...(family ? { family } : {}) });
    return c.html(<TasksPage viewer={consoleRequest(c).viewer} cluster={cluster} tasks={rows.map((r) => taskView(r))} filter={{ desiredStatus, family }} />);
  });
  app.get("/clusters/:cluster/tasks/:id", async (c) => {
    const cluster = c.req.param("cluster");
    const row = await describeTask(ctx, cluster, c.req.param("id"));
    return c.html(<TaskPage viewer={consoleRequest(c).viewer} cluster={cluster} task={taskView(row)} />);
  });
  // The log tail: the same operation as GET /v1/.../logs (follow streams until the container
  // stops or the page stops reading), as plain text; download=1 saves it as a file.
  app.get("/clusters/:cluster/tasks/:id/logs", async (c) => {
    try {
      const { container, tail, follow, download } = c.req.query();
      const { instanceId, params } = await resolveLogTarget(ctx, c.req.param("cluster"), c.req.param("id"), {
        ...(container ? { container } : {}),
        tail: tail || "200",
        ...(follow ? { follow } : {}),
      });
      const requests = opts.logRequests?.();
      if (!requests) return c.text("the agent link is not running", 503);
      // A quiet follow may send nothing for minutes: lift Bun's idle timeout for this request only.
      if (params.follow) (c.env as { timeout?: (req: Request, seconds: number) => void } | undefined)?.timeout?.(c.req.raw, 0);
      const body = await requests.open(instanceId, params);
      const headers: Record<string, string> = { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store", "x-content-type-options": "nosniff" };
      if (download) headers["content-disposition"] = `attachment; filename="${params.taskId}-${params.container.replace(/[^\w.-]/g, "_")}.log"`;
      return new Response(body, { headers });
    } catch (e) {
      if (e instanceof OpError) return c.text(e.message, ERROR_STATUS[e.kind]);
      if (e instanceof LogRequestError) return c.text(e.message, e.status);
      throw e;
    }
  });

  // Task definitions
  app.get("/task-definitions", async (c) => {
    return c.html(<FamiliesPage viewer={consoleRequest(c).viewer} rows={await listTaskDefinitions(ctx, { status: "ACTIVE" })} />);
  });
  app.get("/task-definitions/new", (c) => c.html(<RegisterPage viewer={consoleRequest(c).viewer} />));
  app.post("/task-definitions", (c) =>
    act(c, "POST", "/v1/task-definitions", async () => {
      const { viewer } = consoleRequest(c);
      const text = field(await c.req.parseBody(), "json") ?? "";
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        return c.html(<RegisterPage viewer={viewer} text={text} error={{ message: "The text is not valid JSON.", fields: [{ path: "(body)", message: "must be valid JSON" }] }} />, 400);
      }
      try {
        const row = await registerTaskDefinition(ctx, body);
        return c.redirect(`${base}/task-definitions/${encodeURIComponent(row.family)}/${row.revision}`, 303);
      } catch (e) {
        if (e instanceof OpError && e.kind === "invalid") return c.html(<RegisterPage viewer={viewer} text={text} error={{ message: "The task definition was not registered.", fields: e.fields.length ? e.fields : [{ path: "(body)", message: e.message }] }} />, 400);
        throw e;
      }
    }),
  );
  app.get("/task-definitions/:family", async (c) => {
    const family = c.req.param("family");
    const rows = [...(await listTaskDefinitions(ctx, { status: "ACTIVE" })), ...(await listTaskDefinitions(ctx, { status: "INACTIVE" }))].filter((r) => r.family === family).sort((a, b) => b.revision - a.revision);
    return c.html(<FamilyPage viewer={consoleRequest(c).viewer} family={family} rows={rows} />);
  });
  // Before /:family/:revision, which would take "diff" for a revision.
  app.get("/task-definitions/:family/diff", async (c) => {
    const family = c.req.param("family");
    const from = c.req.query("from") ?? "";
    const to = c.req.query("to") ?? "";
    const bad = [from, to].some((n) => !/^\d+$/.test(n));
    if (bad) throw new OpError("invalid", "InvalidParameterException", "from and to must be revision numbers", [
      ...(!/^\d+$/.test(from) ? [{ path: "from", message: "must be a revision number" }] : []),
      ...(!/^\d+$/.test(to) ? [{ path: "to", message: "must be a revision number" }] : []),
    ]);
    const [a, b] = await Promise.all([resolveTaskDefinition(ctx, `${family}:${from}`), resolveTaskDefinition(ctx, `${family}:${to}`)]);
    const diff = lineDiff(prettyJson(taskDefinitionView(a)), prettyJson(taskDefinitionView(b)));
    return c.html(<DiffPage viewer={consoleRequest(c).viewer} family={a.family} from={a.revision} to={b.revision} diff={diff} />);
  });
  app.get("/task-definitions/:family/:revision", async (c) => {
    const row = await resolveTaskDefinition(ctx, `${c.req.param("family")}:${c.req.param("revision")}`);
    return c.html(<RevisionPage viewer={consoleRequest(c).viewer} view={taskDefinitionView(row)} />);
  });
  app.post("/task-definitions/:family/:revision/run", async (c) => {
    const ref = `${c.req.param("family")}:${c.req.param("revision")}`;
    const form = await c.req.parseBody();
    const cluster = field(form, "cluster") ?? "";
    return act(c, "POST", `/v1/clusters/${cluster}/tasks`, async () => {
      const row = await resolveTaskDefinition(ctx, ref);
      const again = (status: 200 | 400 | 404, error: { message: string; fields: { path: string; message: string }[] }) =>
        c.html(<RevisionPage viewer={consoleRequest(c).viewer} view={taskDefinitionView(row)} error={error} />, status);
      let result;
      try {
        result = await runTask(ctx, cluster, { taskDefinition: row.arn, count: integer(field(form, "count")), startedBy: "console" });
      } catch (e) {
        if (e instanceof OpError && (e.kind === "invalid" || e.kind === "not-found")) return again(e.kind === "invalid" ? 400 : 404, { message: e.message, fields: e.fields });
        throw e;
      }
      // As in ECS, a task that could not be placed is a failure in a 200 answer: each reason shown.
      if (result.tasks.length === 0) {
        return again(200, { message: "No task was started.", fields: result.failures.map((f) => ({ path: f.arn ?? "placement", message: `${f.reason}${f.detail ? ` (${f.detail})` : ""}` })) });
      }
      if (result.tasks.length === 1) return c.redirect(clusterPath(cluster, `/tasks/${result.tasks[0]!.id}`), 303);
      return c.redirect(`${clusterPath(cluster, "/tasks")}?family=${encodeURIComponent(row.family)}`, 303);
    });
  });

  app.post("/task-definitions/:family/:revision/deregister", (c) => {
    const ref = `${c.req.param("family")}:${c.req.param("revision")}`;
    return act(c, "DELETE", `/v1/task-definitions/${ref}`, async () => {
      const form = await c.req.parseBody();
      const row = await resolveTaskDefinition(ctx, ref);
      const page = `${base}/task-definitions/${encodeURIComponent(row.family)}/${row.revision}`;
      if (field(form, "confirm") !== "yes") {
        return c.html(
          <ConfirmPage
            viewer={consoleRequest(c).viewer}
            title="Deregister revision?"
            text={`Deregister ${row.family}:${row.revision}? Running tasks and services keep it; no new task or service can use it.`}
            action={`${page}/deregister`}
            yes="Yes, deregister"
            cancel={page}
          />,
        );
      }
      await deregisterTaskDefinition(ctx, ref);
      return c.redirect(page, 303);
    });
  });

  // Activations
  const activationsPage = async (c: Context, created?: Parameters<typeof ActivationsPage>[0]["created"]) => {
    const cluster = c.req.param("cluster")!;
    const now = ctx.clock.now();
    const list = (await listActivations(ctx, cluster)).map((r) => activationView(r, now)).reverse();
    return c.html(<ActivationsPage viewer={consoleRequest(c).viewer} cluster={cluster} activations={list} created={created} />, created ? 201 : 200);
  };
  app.get("/clusters/:cluster/activations", (c) => activationsPage(c));
  app.post("/clusters/:cluster/activations", async (c) => {
    const cluster = c.req.param("cluster");
    return act(c, "POST", `/v1/clusters/${cluster}/activations`, async () => {
      const form = await c.req.parseBody();
      const hours = integer(field(form, "expiresInHours"));
      const a = await createActivation(ctx, cluster, {
        registrationLimit: integer(field(form, "registrationLimit")),
        ...(typeof hours === "number" ? { expiresInSeconds: hours * 3600 } : hours !== undefined ? { expiresInSeconds: hours } : {}),
      });
      await opts.brokerProvisioning?.activationCreated(a.activationId, a.activationCode);
      const origin = new URL(c.req.url).origin;
      return activationsPage(c, {
        activationId: a.activationId,
        activationCode: a.activationCode,
        expiresAt: new Date(a.expiresAt).toISOString(),
        line: installLine(origin, a.activationId, a.activationCode, cluster, brokerOf(opts.brokerUrl)),
      });
    });
  });

  // Tokens and audit (admin only, as in the API)
  const tokensPage = async (c: Context, extra: Omit<Parameters<typeof TokensPage>[0], "viewer" | "tokens"> = {}, status: 200 | 201 | 400 = 200) =>
    c.html(<TokensPage viewer={consoleRequest(c).viewer} tokens={(await listTokens(ctx)).map(tokenView)} {...extra} />, status);
  app.get("/tokens", async (c) => (await mayRead(c, "/v1/tokens")) ?? tokensPage(c));
  app.post("/tokens", (c) =>
    act(c, "POST", "/v1/tokens", async () => {
      const form = await c.req.parseBody();
      try {
        const t = await createToken(ctx, { name: field(form, "name"), role: field(form, "role") });
        return tokensPage(c, { created: { name: t.name, token: t.token } }, 201);
      } catch (e) {
        if (e instanceof OpError && e.kind === "invalid") return tokensPage(c, { error: { message: e.message, fields: e.fields } }, 400);
        throw e;
      }
    }),
  );
  app.post("/tokens/:id/revoke", (c) => {
    const id = c.req.param("id");
    return act(c, "DELETE", `/v1/tokens/${id}`, async () => {
      const form = await c.req.parseBody();
      const current = (await listTokens(ctx)).find((t) => t.id === id);
      if (!current) return c.html(<Page title="Not found" viewer={consoleRequest(c).viewer}>{`token "${id}" not found`}</Page>, 404);
      if (field(form, "confirm") !== "yes") return c.html(<ConfirmRevokePage viewer={consoleRequest(c).viewer} token={tokenView(current)} />);
      await revokeToken(ctx, id, consoleRequest(c).token.id);
      return c.redirect(`${base}/tokens`, 303);
    });
  });
  app.get("/audit", async (c) => {
    const refused = await mayRead(c, "/v1/audit");
    if (refused) return refused;
    const before = c.req.query("before");
    const rows = await listAudit(ctx, { limit: 100, before: before && /^\d+$/.test(before) ? Number(before) : undefined });
    return c.html(<AuditPage viewer={consoleRequest(c).viewer} entries={rows.map(auditView)} next={rows.length === 100 ? rows[rows.length - 1]!.id : undefined} />);
  });

  app.post("/clusters/:cluster/activations/:id/revoke", async (c) => {
    const cluster = c.req.param("cluster");
    const id = c.req.param("id");
    return act(c, "DELETE", `/v1/clusters/${cluster}/activations/${id}`, async () => {
      const form = await c.req.parseBody();
      if (field(form, "confirm") !== "yes") {
        return c.html(
          <ConfirmPage
            viewer={consoleRequest(c).viewer}
            title="Revoke activation?"
            text={`Revoke activation ${id}? No host can register with it any more; hosts it registered stay.`}
            action={clusterPath(cluster, `/activations/${encodeURIComponent(id)}/revoke`)}
            yes="Yes, revoke"
            cancel={clusterPath(cluster, "/activations")}
          />,
        );
      }
      await revokeActivation(ctx, cluster, id);
      await opts.brokerProvisioning?.activationGone(id);
      return c.redirect(clusterPath(cluster, "/activations"), 303);
    });
  });

  return app;
}
