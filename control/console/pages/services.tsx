import type { serviceView } from "../../views/services.ts";
import { clusterPath, Csrf, FieldErrors, Notice, Page, Status, Time, type Viewer } from "../layout.tsx";

type ServiceView = ReturnType<typeof serviceView>;

export function ServicesPage(props: { viewer: Viewer; cluster: string; services: ServiceView[] }) {
  const { viewer: v, cluster } = props;
  return (
    <Page title={`Services in ${cluster}`} viewer={v} live="tasks services">
      <div data-live-region="services" id="services" class="table-wrap">
        {props.services.length === 0 ? (
          <p>No services.</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th scope="col">Service</th>
                <th scope="col">Status</th>
                <th scope="col">Desired</th>
                <th scope="col">Running</th>
                <th scope="col">Pending</th>
                <th scope="col">Task definition</th>
                <th scope="col">Rollout</th>
              </tr>
            </thead>
            <tbody>
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
            </tbody>
          </table>
        )}
      </div>
    </Page>
  );
}

export function ServicePage(props: {
  viewer: Viewer;
  cluster: string;
  service: ServiceView;
  /** ARNs of the family's active revisions, for the update form. */
  revisions: string[];
  notice?: string;
  error?: { message: string; fields: { path: string; message: string }[] };
}) {
  const { viewer: v, cluster, service: s } = props;
  const action = (what: string) => clusterPath(cluster, `/services/${encodeURIComponent(s.serviceName)}/${what}`);
  return (
    <Page title={`Service ${s.serviceName}`} viewer={v} live="tasks services">
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
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Deployment</th>
                <th scope="col">Status</th>
                <th scope="col">Task definition</th>
                <th scope="col">Progress</th>
                <th scope="col">Rollout</th>
                <th scope="col">Failed tasks</th>
                <th scope="col">Updated</th>
              </tr>
            </thead>
            <tbody>
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
                    </td>
                    <td data-label="Failed tasks">{d.failedTasks}</td>
                    <td data-label="Updated">{d.updatedAt}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
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
