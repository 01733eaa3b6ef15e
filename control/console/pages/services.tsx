import type { InstanceRow, TaskRow } from "../../db/rows.ts";
import type { ServiceEndpoint } from "../../ops/services.ts";
import type { serviceView } from "../../views/services.ts";
import { clusterPath, Csrf, FieldErrors, Notice, Page, Status, Time, type Viewer } from "../layout.tsx";
import { Table } from "../table.tsx";
import { ingressText } from "../ingress-form.ts";

type ServiceView = ReturnType<typeof serviceView>;

/** What the create form sends back when the operation refused it: shown again with the errors. */
export interface CreateServiceForm {
  serviceName?: string;
  taskDefinition?: string;
  desiredCount?: string;
  schedulingStrategy?: string;
  /** `8080:80, 9443:443`: listen port : container port (docs/ingress.md). */
  ingress?: string;
  discoveryName?: string;
  /** `www, shop`. */
  aliases?: string;
}

export function ServicesPage(props: {
  viewer: Viewer;
  cluster: string;
  services: ServiceView[];
  /** family:revision of every active revision, offered in the create form. */
  revisions: string[];
  form?: CreateServiceForm;
  error?: { message: string; fields: { path: string; message: string }[] };
}) {
  const { viewer: v, cluster } = props;
  const f = props.form ?? {};
  return (
    <Page title={`Services in ${cluster}`} viewer={v} live="tasks services">
      {props.error && <FieldErrors message={props.error.message} fields={props.error.fields} />}
      <div data-live-region="services" id="services" class="table-wrap">
        {props.services.length === 0 ? (
          <p>No services.</p>
        ) : (
          <Table wrap={false} headers={["Service", "Status", "Desired", "Running", "Pending", "Task definition", "Rollout"]}>
            {props.services.map((s) => {
              const primary = s.deployments.find((d) => d.status === "PRIMARY");
              return (
                <tr>
                  <td data-label="Service">
                    <a href={clusterPath(cluster, `/services/${encodeURIComponent(s.serviceName)}`)}>{s.serviceName}</a>
                  </td>
                  <td data-label="Status">
                    <Status value={s.status} />
                  </td>
                  <td data-label="Desired">{s.desiredCount}</td>
                  <td data-label="Running">{s.runningCount}</td>
                  <td data-label="Pending">{s.pendingCount}</td>
                  <td data-label="Task definition">{s.taskDefinition.split("/").pop()}</td>
                  <td data-label="Rollout">{primary ? <Status value={primary.rolloutState} /> : "—"}</td>
                </tr>
              );
            })}
          </Table>
        )}
      </div>
      {v.canWrite && (
        <form method="post" action={clusterPath(cluster, "/services")} class="card" id="create-service">
          <h2>Create a service</h2>
          <Csrf viewer={v} />
          <label>
            Name
            <input name="serviceName" required maxlength={255} pattern="[A-Za-z0-9_-]+" value={f.serviceName ?? ""} />
          </label>
          <label>
            Task definition
            <input name="taskDefinition" required list="revisions" placeholder="family or family:revision" value={f.taskDefinition ?? ""} />
            <datalist id="revisions">
              {props.revisions.map((r) => (
                <option value={r}></option>
              ))}
            </datalist>
          </label>
          <label>
            Scheduling
            <select name="schedulingStrategy">
              <option value="REPLICA" selected={f.schedulingStrategy !== "DAEMON"}>
                REPLICA (a desired count)
              </option>
              <option value="DAEMON" selected={f.schedulingStrategy === "DAEMON"}>
                DAEMON (one on every host)
              </option>
            </select>
          </label>
          <label>
            Desired count (REPLICA)
            <input type="number" name="desiredCount" min="0" max="10000" value={f.desiredCount ?? "1"} />
          </label>
          <label>
            Ingress ports (optional)
            <input name="ingress" placeholder="8080:80 (host port : container port), comma-separated" value={f.ingress ?? ""} />
          </label>
          <label>
            DNS name (optional; default: the service's name)
            <input name="discoveryName" placeholder="web" value={f.discoveryName ?? ""} />
          </label>
          <label>
            DNS aliases (optional)
            <input name="aliases" placeholder="www, shop" value={f.aliases ?? ""} />
          </label>
          <button type="submit">Create service</button>
        </form>
      )}
    </Page>
  );
}

export const ENDPOINTS_SHOWN = 100;

/**
 * Where a service answers: one row per bound port of each running, healthy task (GET …/endpoints).
 * A big service has thousands; the page shows the first ENDPOINTS_SHOWN and points at the API for
 * the rest (rendering them all made the page of a 1,000-task service slow).
 */
function Endpoints(props: { endpoints: ServiceEndpoint[]; cluster: string; service: string }) {
  if (props.endpoints.length === 0) return <p id="endpoints">No endpoints: no running, healthy task with a bound port on a connected host.</p>;
  const shown = props.endpoints.slice(0, ENDPOINTS_SHOWN);
  const api = `/v1/clusters/${encodeURIComponent(props.cluster)}/services/${encodeURIComponent(props.service)}/endpoints`;
  return (
    <>
      <Table id="endpoints" headers={["Address", "Container", "Task"]}>
        {shown.map((e) => {
          const addr = `${e.address.includes(":") ? `[${e.address}]` : e.address}:${e.hostPort}`;
          return (
            <tr data-endpoint={addr}>
              <td data-label="Address">
                <code>{addr}</code> {e.protocol}
              </td>
              <td data-label="Container">
                {e.containerName}:{e.containerPort}
              </td>
              <td data-label="Task">{e.taskArn.split("/").pop()}</td>
            </tr>
          );
        })}
      </Table>
      {props.endpoints.length > shown.length && (
        <p id="endpoints-more">
          {shown.length} of {props.endpoints.length} endpoints shown; all of them: <code>GET {api}</code>.
        </p>
      )}
    </>
  );
}

/** The names the hosts answer for the service and the ports they publish for it (DescribeServices' discovery and ingress). */
function Addressing(props: { service: ServiceView }) {
  const { discovery: names, ingress } = props.service;
  return (
    <div id="addressing">
      {names ? (
        <dl class="facts">
          <dt>DNS name</dt>
          <dd>
            <code data-dns-name>{names.dnsName}</code>
            {names.chosen ? " (chosen)" : ""}
          </dd>
          {names.aliases.length > 0 && (
            <>
              <dt>Aliases</dt>
              <dd>
                {names.aliases.map((a) => (
                  <code data-dns-alias>{a} </code>
                ))}
              </dd>
            </>
          )}
          {names.srvNames.length > 0 && (
            <>
              <dt>SRV names</dt>
              <dd>
                {names.srvNames.map((n) => (
                  <code data-srv-name>{n} </code>
                ))}
              </dd>
            </>
          )}
        </dl>
      ) : (
        <p>No DNS name: the service's (or cluster's) name is no DNS label, and it chose none.</p>
      )}
      {ingress?.length ? (
        <Table id="ingress" headers={["Ingress port (every host)", "Container port", "Protocol"]}>
          {ingress.map((r) => (
            <tr data-ingress-port={String(r.listenPort)}>
              <td data-label="Ingress port">{r.listenPort}</td>
              <td data-label="Container port">{r.containerPort}</td>
              <td data-label="Protocol">{r.protocol}</td>
            </tr>
          ))}
        </Table>
      ) : (
        <p id="ingress">No ingress ports.</p>
      )}
    </div>
  );
}

export interface CoverageRow {
  host: Pick<InstanceRow, "id" | "hostname" | "status" | "agentConnected">;
  /** The service's tasks on this host that are still desired RUNNING. */
  tasks: Pick<TaskRow, "id" | "lastStatus" | "taskDefinitionArn">[];
}

/** A DAEMON service host by host: which hosts run its task, and why one does not when it says. */
function Coverage(props: { cluster: string; rows: CoverageRow[] }) {
  const eligible = props.rows.filter((r) => r.host.status === "ACTIVE" && r.host.agentConnected);
  const covered = eligible.filter((r) => r.tasks.some((t) => t.lastStatus === "RUNNING"));
  return (
    <>
      <p id="coverage-summary">
        Running on {covered.length} of {eligible.length} active, connected host{eligible.length === 1 ? "" : "s"} ({props.rows.length} in the cluster).
      </p>
      <Table id="coverage" headers={["Host", "Host state", "Daemon task"]}>
        {props.rows.map(({ host, tasks }) => (
          <tr data-coverage-host={host.id}>
            <td data-label="Host">
              <a href={clusterPath(props.cluster, `/hosts/${host.id}`)}>{host.hostname}</a>
            </td>
            <td data-label="Host state">
              <Status value={host.status} /> <Status value={host.agentConnected ? "connected" : "disconnected"} />
            </td>
            <td data-label="Daemon task" class="coverage-task">
              {tasks.length === 0 ? (
                <Status value="none" tone={host.status === "ACTIVE" && host.agentConnected ? "warn" : "idle"} />
              ) : (
                tasks.map((t) => (
                  <span>
                    <a href={clusterPath(props.cluster, `/tasks/${t.id}`)}>{t.taskDefinitionArn.split("/").pop()}</a> <Status value={t.lastStatus} />{" "}
                  </span>
                ))
              )}
            </td>
          </tr>
        ))}
      </Table>
    </>
  );
}

export interface ServiceTaskRow {
  id: string;
  lastStatus: string;
  revision: string;
  instanceId: string;
  hostname: string;
}

/** What runs where: each task of the service with its host (a drain shows them moving). */
function ServiceTasks(props: { cluster: string; family: string; tasks: { rows: ServiceTaskRow[]; total: number } }) {
  const { rows, total } = props.tasks;
  if (total === 0) return <p id="service-tasks">No tasks.</p>;
  return (
    <>
      <Table id="service-tasks" headers={["Task", "Status", "Revision", "Host"]}>
        {rows.map((t) => (
          <tr data-task-id={t.id} data-host-id={t.instanceId}>
            <td data-label="Task">
              <a href={clusterPath(props.cluster, `/tasks/${t.id}`)}>{t.id}</a>
            </td>
            <td data-label="Status">
              <Status value={t.lastStatus} />
            </td>
            <td data-label="Revision">{t.revision}</td>
            <td data-label="Host">
              <a href={clusterPath(props.cluster, `/hosts/${t.instanceId}`)}>{t.hostname}</a>
            </td>
          </tr>
        ))}
      </Table>
      {total > rows.length && (
        <p>
          {rows.length} of {total} shown; <a href={`${clusterPath(props.cluster, "/tasks")}?family=${encodeURIComponent(props.family)}`}>all tasks of {props.family}</a>.
        </p>
      )}
    </>
  );
}

export function ServicePage(props: {
  viewer: Viewer;
  cluster: string;
  service: ServiceView;
  /** ARNs of the family's active revisions, for the update form. */
  revisions: string[];
  endpoints: ServiceEndpoint[];
  /** DAEMON services: every host of the cluster with the service's tasks there. */
  coverage?: CoverageRow[];
  /** The service's tasks desired RUNNING (the first ones) and how many there are. */
  tasks: { rows: ServiceTaskRow[]; total: number };
  notice?: string;
  error?: { message: string; fields: { path: string; message: string }[] };
}) {
  const { viewer: v, cluster, service: s } = props;
  const action = (what: string) => clusterPath(cluster, `/services/${encodeURIComponent(s.serviceName)}/${what}`);
  return (
    <Page title={`Service ${s.serviceName}`} viewer={v} live="tasks services instance">
      <Notice text={props.notice} />
      {props.error && <FieldErrors message={props.error.message} fields={props.error.fields} />}
      <div data-live-region="service" id="service">
        <dl class="facts">
          <dt>Status</dt>
          <dd>
            <Status value={s.status} />
          </dd>
          <dt>Scheduling</dt>
          <dd>{s.schedulingStrategy}</dd>
          <dt>Desired / running / pending</dt>
          <dd>
            {s.desiredCount} / {s.runningCount} / {s.pendingCount}
          </dd>
          <dt>Task definition</dt>
          <dd>{s.taskDefinition}</dd>
        </dl>
        <h2>Deployments</h2>
        <Table headers={["Deployment", "Status", "Task definition", "Progress", "Rollout", "Failed tasks", "Updated"]}>
          {s.deployments.map((d) => {
            const pct = d.desiredCount > 0 ? Math.min(100, Math.round((d.runningCount / d.desiredCount) * 100)) : 100;
            return (
              <tr>
                <td data-label="Deployment">{d.id}</td>
                <td data-label="Status">
                  <Status value={d.status} />
                </td>
                <td data-label="Task definition">{d.taskDefinition.split("/").pop()}</td>
                <td data-label="Progress">
                  <progress max={100} value={pct} aria-label={`${d.runningCount} of ${d.desiredCount} running`}></progress> {d.runningCount}/{d.desiredCount} running, {d.pendingCount} pending
                </td>
                <td data-label="Rollout">
                  <Status value={d.rolloutState} />
                  {d.rolloutStateReason ? <small> {d.rolloutStateReason}</small> : null}
                  {d.waitingHosts?.length ? (
                    <small class="waiting-hosts">
                      {" "}
                      Waiting for deployment windows: {d.waitingHosts.map((h) => `${h.containerInstanceArn.split("/").pop()} until ${h.until ?? "no opening ahead"}`).join(", ")}
                    </small>
                  ) : null}
                </td>
                <td data-label="Failed tasks">{d.failedTasks}</td>
                <td data-label="Updated">{d.updatedAt}</td>
              </tr>
            );
          })}
        </Table>
        {props.coverage && (
          <>
            <h2>Hosts</h2>
            <Coverage cluster={cluster} rows={props.coverage} />
          </>
        )}
        <h2>Tasks</h2>
        <ServiceTasks cluster={cluster} family={s.taskDefinition.split("/").pop()!.split(":")[0]!} tasks={props.tasks} />
        <h2>Ingress and DNS names</h2>
        <Addressing service={s} />
        <h2>Endpoints</h2>
        <Endpoints endpoints={props.endpoints} cluster={props.cluster} service={props.service.serviceName} />
        <h2>Events</h2>
        <ol class="events">
          {s.events.slice(0, 50).map((e) => (
            <li>
              <Time ms={e.createdAt ? Date.parse(e.createdAt) : null} /> {e.message}
            </li>
          ))}
        </ol>
      </div>
      {v.canWrite && s.status === "ACTIVE" && (
        <section class="forms" aria-label="Change the service">
          {s.schedulingStrategy === "REPLICA" && (
            <form method="post" action={action("scale")} class="card">
              <Csrf viewer={v} />
              <label>
                Desired count
                <input type="number" name="desiredCount" min="0" max="10000" value={String(s.desiredCount)} required />
              </label>
              <button type="submit">Scale</button>
            </form>
          )}
          <form method="post" action={action("update")} class="card">
            <Csrf viewer={v} />
            <label>
              Task definition
              <select name="taskDefinition">
                {props.revisions.map((arn) => (
                  <option value={arn} selected={arn === s.taskDefinition}>
                    {arn.split("/").pop()}
                  </option>
                ))}
              </select>
            </label>
            <button type="submit">Update service</button>
          </form>
          <form method="post" action={action("addressing")} class="card" id="addressing-form">
            <Csrf viewer={v} />
            <label>
              Ingress ports
              <input name="ingress" placeholder="8080:80, comma-separated (empty: none)" value={ingressText(s.ingress)} />
            </label>
            <label>
              DNS name (empty: the service's name)
              <input name="discoveryName" value={s.discovery?.chosen ? s.discovery.dnsName.split(".")[0] : ""} />
            </label>
            <label>
              DNS aliases
              <input name="aliases" value={(s.discovery?.aliases ?? []).map((a) => a.split(".")[0]).join(", ")} />
            </label>
            <button type="submit">Change ingress and DNS names</button>
          </form>
          <form method="post" action={action("redeploy")} class="card">
            <Csrf viewer={v} />
            <p>Start a new deployment with the same task definition (tasks are replaced by the rollout rules).</p>
            <button type="submit">Force new deployment</button>
          </form>
        </section>
      )}
    </Page>
  );
}
