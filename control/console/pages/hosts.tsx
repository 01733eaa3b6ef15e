import type { InstanceRow, TaskRow } from "../../db/rows.ts";
import type { InstancePage } from "../../ops/instance-pages.ts";
import { INSTANCE_SORTS, INSTANCE_STATES } from "../../ops/instance-pages.ts";
import { Bar, clusterPath, Csrf, Notice, Page, Status, Time, type Viewer } from "../layout.tsx";

function connection(r: Pick<InstanceRow, "agentConnected">) {
  return <Status value={r.agentConnected ? "connected" : "disconnected"} />;
}

const UPDATE_TONES: Record<string, "ok" | "warn" | "bad"> = { UPDATED: "ok", FAILED: "bad", PENDING: "warn", STAGING: "warn", STAGED: "warn", UPDATING: "warn" };

/** ECS's agentUpdateStatus as a badge, with the version it is about; nothing when never updated. */
function agentUpdate(r: Pick<InstanceRow, "agentUpdateStatus" | "agentUpdateVersion">) {
  if (!r.agentUpdateStatus) return null;
  return (
    <span class="agent-update">
      <Status value={r.agentUpdateStatus} tone={UPDATE_TONES[r.agentUpdateStatus] ?? "idle"} /> {r.agentUpdateVersion ? `to ${r.agentUpdateVersion}` : ""}
    </span>
  );
}

function health(r: Pick<InstanceRow, "healthStatus">) {
  return <Status value={r.healthStatus ?? "INSUFFICIENT_DATA"} tone={r.healthStatus === "OK" ? "ok" : r.healthStatus === "IMPAIRED" ? "bad" : "idle"} />;
}

/** The query string of this page with some parameters replaced (sort links, page links). */
function withQuery(cluster: string, q: InstancePage["query"], over: Record<string, string | number | undefined>) {
  const params = new URLSearchParams();
  const merged: Record<string, string | number | undefined> = { state: q.state, attribute: q.attribute, sort: q.sort, order: q.order, page: q.page, ...over };
  for (const [k, v] of Object.entries(merged)) if (v !== undefined && v !== "") params.set(k, String(v));
  return clusterPath(cluster, `/hosts?${params}`);
}

const SORT_LABELS: Record<(typeof INSTANCE_SORTS)[number], string> = {
  hostname: "Host",
  registeredAt: "Registered",
  lastSeenAt: "Last seen",
  cpu: "CPU reserved",
  memory: "Memory reserved",
};

export function HostsPage(props: { viewer: Viewer; cluster: string; page: InstancePage; notice?: string }) {
  const { viewer: v, cluster, page } = props;
  const q = page.query;
  const sortHeader = (key: (typeof INSTANCE_SORTS)[number]) => {
    const active = q.sort === key;
    const next = active && q.order === "asc" ? "desc" : "asc";
    return (
      <th scope="col" aria-sort={active ? (q.order === "asc" ? "ascending" : "descending") : undefined}>
        <a href={withQuery(cluster, q, { sort: key, order: next, page: 1 })}>
          {SORT_LABELS[key]}
          {active ? (q.order === "asc" ? " ▲" : " ▼") : ""}
        </a>
      </th>
    );
  };
  return (
    <Page title={`Hosts in ${cluster}`} viewer={v} live="instance tasks">
      <Notice text={props.notice} />
      <form method="get" class="filters" action={clusterPath(cluster, "/hosts")}>
        <label>
          Status
          <select name="state">
            <option value="">any</option>
            {INSTANCE_STATES.map((s) => (
              <option value={s} selected={q.state === s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          Attribute
          <input name="attribute" value={q.attribute ?? ""} placeholder="name or name=value" />
        </label>
        <input type="hidden" name="sort" value={q.sort} />
        <input type="hidden" name="order" value={q.order} />
        <button type="submit">Filter</button>
      </form>
      <p data-live-region="hosts-summary" id="hosts-summary">
        {page.total} hosts; page {q.page} of {page.pages}
      </p>
      <div class="table-wrap" data-live-region="hosts-table" id="hosts-table">
        <table class="hosts">
          <thead>
            <tr>
              {sortHeader("hostname")}
              <th scope="col">Agent</th>
              <th scope="col">Status</th>
              <th scope="col">Health</th>
              {sortHeader("cpu")}
              {sortHeader("memory")}
              <th scope="col">Tasks</th>
              {sortHeader("lastSeenAt")}
              <th scope="col">Agent version</th>
              {v.canWrite && <th scope="col">Action</th>}
            </tr>
          </thead>
          <tbody>
            {page.rows.map((r) => (
              <tr data-instance-id={r.id}>
                <td data-label="Host">
                  <a href={clusterPath(cluster, `/hosts/${r.id}`)}>{r.hostname}</a>
                  <br />
                  <small>{r.id}</small>
                </td>
                <td data-label="Agent" class="agent-state">
                  {connection(r)}
                </td>
                <td data-label="Status">
                  <Status value={r.status} />
                </td>
                <td data-label="Health">{health(r)}</td>
                <td data-label="CPU">
                  <Bar used={r.usedCpu} total={r.registeredCpu} unit="CPU units" />
                </td>
                <td data-label="Memory">
                  <Bar used={r.usedMemory} total={r.registeredMemory} unit="MiB" />
                </td>
                <td data-label="Tasks">
                  {r.runningTasksCount} running, {r.pendingTasksCount} pending
                </td>
                <td data-label="Last seen">
                  <Time ms={r.lastSeenAt} />
                </td>
                <td data-label="Agent version">
                  {r.versionInfo.agentVersion ?? "—"} {agentUpdate(r)}
                </td>
                {v.canWrite && (
                  <td data-label="Action">
                    <StatusForm viewer={v} cluster={cluster} row={r} />
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <nav class="pager" aria-label="Pages">
        {q.page > 1 && <a href={withQuery(cluster, q, { page: q.page - 1 })}>← Previous</a>}
        <span>
          Page {q.page} of {page.pages}
        </span>
        {q.page < page.pages && <a href={withQuery(cluster, q, { page: q.page + 1 })}>Next →</a>}
      </nav>
    </Page>
  );
}

/** Drain or activate: the post asks for a confirmation page first (confirm=yes does it). */
function StatusForm(props: { viewer: Viewer; cluster: string; row: Pick<InstanceRow, "id" | "status"> }) {
  const target = props.row.status === "DRAINING" ? "ACTIVE" : "DRAINING";
  return (
    <form method="post" action={clusterPath(props.cluster, `/hosts/${props.row.id}/status`)}>
      <Csrf viewer={props.viewer} />
      <input type="hidden" name="status" value={target} />
      <button type="submit">{target === "DRAINING" ? "Drain…" : "Activate…"}</button>
    </form>
  );
}

export function ConfirmStatusPage(props: { viewer: Viewer; cluster: string; row: InstanceRow; status: string }) {
  const { row, status } = props;
  return (
    <Page title={status === "DRAINING" ? "Drain host?" : "Activate host?"} viewer={props.viewer}>
      <p>
        {status === "DRAINING"
          ? `Drain ${row.hostname} (${row.id})? It gets no new tasks, and services move their tasks to other hosts.`
          : `Activate ${row.hostname} (${row.id})? It takes new tasks again.`}
      </p>
      <form method="post" action={clusterPath(props.cluster, `/hosts/${row.id}/status`)}>
        <Csrf viewer={props.viewer} />
        <input type="hidden" name="status" value={status} />
        <input type="hidden" name="confirm" value="yes" />
        <button type="submit">{status === "DRAINING" ? "Yes, drain" : "Yes, activate"}</button>{" "}
        <a href={clusterPath(props.cluster, "/hosts")}>Cancel</a>
      </form>
    </Page>
  );
}

/**
 * UpdateContainerAgent from the host page (POST …/update-agent, the REST route's operation): the
 * newest release for the host's architecture, or one picked from those uploaded.
 */
function UpdateAgentForm(props: { viewer: Viewer; cluster: string; row: InstanceRow; releases: string[] }) {
  return (
    <form method="post" action={clusterPath(props.cluster, `/hosts/${props.row.id}/update-agent`)} class="update-agent">
      <Csrf viewer={props.viewer} />
      <label>
        Agent release
        <select name="version">
          <option value="">newest</option>
          {props.releases.map((v) => (
            <option value={v}>{v}</option>
          ))}
        </select>
      </label>{" "}
      <button type="submit">Update agent</button>
    </form>
  );
}

export function HostPage(props: { viewer: Viewer; cluster: string; row: InstanceRow; tasks: TaskRow[]; releases: string[]; notice?: string }) {
  const { viewer: v, cluster, row } = props;
  const details = (row.healthDetails ?? []) as { type: string; status: string; reason?: string }[];
  return (
    <Page title={`Host ${row.hostname}`} viewer={v} live="instance tasks">
      <Notice text={props.notice} />
      <div data-live-region="host" id="host">
        <dl class="facts">
          <dt>Instance</dt>
          <dd>{row.id}</dd>
          <dt>Agent</dt>
          <dd class="agent-state">{connection(row)}</dd>
          <dt>Status</dt>
          <dd>
            <Status value={row.status} />
          </dd>
          <dt>Health</dt>
          <dd>{health(row)}</dd>
          <dt>CPU</dt>
          <dd>
            <Bar used={row.usedCpu} total={row.registeredCpu} unit="CPU units" />
          </dd>
          <dt>Memory</dt>
          <dd>
            <Bar used={row.usedMemory} total={row.registeredMemory} unit="MiB" />
          </dd>
          <dt>Last seen</dt>
          <dd>
            <Time ms={row.lastSeenAt} />
          </dd>
          <dt>Registered</dt>
          <dd>
            <Time ms={row.registeredAt} />
          </dd>
          <dt>Agent version</dt>
          <dd class="agent-version">{row.versionInfo.agentVersion ?? "—"}</dd>
          <dt>Agent update</dt>
          <dd class="agent-update-status">
            {agentUpdate(row) ?? "—"}
            {row.agentUpdateStatus === "FAILED" && row.agentUpdateReason ? <span class="reason"> — {row.agentUpdateReason}</span> : null}
          </dd>
          <dt>Versions</dt>
          <dd>
            {Object.entries(row.versionInfo)
              .map(([k, val]) => `${k} ${val}`)
              .join(", ")}
          </dd>
          <dt>Addresses</dt>
          <dd>{(row.addresses ?? []).join(", ") || "—"}</dd>
        </dl>
        {details.length > 0 && (
          <>
            <h2>Health checks</h2>
            <ul>
              {details.map((d) => (
                <li>
                  {d.type}: <Status value={d.status} tone={d.status === "OK" ? "ok" : "bad"} />
                  {d.reason ? ` — ${d.reason}` : ""}
                </li>
              ))}
            </ul>
          </>
        )}
        <h2>Attributes</h2>
        <table>
          <tbody>
            {Object.entries(row.attributes).map(([k, val]) => (
              <tr>
                <th scope="row">{k}</th>
                <td>{val}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <h2>Tasks</h2>
        <ul>
          {props.tasks.map((t) => (
            <li>
              <a href={clusterPath(cluster, `/tasks/${t.id}`)}>{t.id}</a> {t.family}:{t.revision} <Status value={t.lastStatus} />
            </li>
          ))}
        </ul>
      </div>
      {v.canWrite && row.status !== "INACTIVE" && (
        <section class="forms" aria-label="Change the host">
          <StatusForm viewer={v} cluster={cluster} row={row} />
          <UpdateAgentForm viewer={v} cluster={cluster} row={row} releases={props.releases} />
          <form method="post" action={clusterPath(cluster, `/hosts/${row.id}/deregister`)}>
            <Csrf viewer={v} />
            <button type="submit">Deregister…</button>
          </form>
        </section>
      )}
    </Page>
  );
}
