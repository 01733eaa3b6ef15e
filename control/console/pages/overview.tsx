import { clusterPath, Page, Status, type Viewer } from "../layout.tsx";
import { Table } from "../table.tsx";

export interface OverviewData {
  clusters: { name: string; status: string; hosts: number; running: number; pending: number }[];
  fleet?: { hosts: { total: number; connected: number; disconnected: number; impaired: number; draining: number }; tasksByStatus: Record<string, number> };
  rollouts: { service: string; deploymentId: string; taskDefinition: string; desired: number; running: number; rolloutState: string }[];
  /** The newest service events of the cluster, newest first. */
  events: { service: string; at: string; message: string }[];
}

export function OverviewPage(props: { viewer: Viewer; data: OverviewData }) {
  const { viewer: v, data: d } = props;
  const cl = v.cluster;
  return (
    <Page title="Overview" viewer={v} live="instance tasks services">
      <div data-live-region="overview" id="overview">
      <section aria-labelledby="clusters-h">
        <h2 id="clusters-h">Clusters</h2>
        {d.clusters.length === 0 ? (
          <p>No clusters yet. Create one with <code>flotilla clusters create NAME</code>.</p>
        ) : (
          <Table wrap={false} headers={["Cluster", "Status", "Hosts", "Running tasks", "Pending tasks"]}>
            {d.clusters.map((c) => (
              <tr>
                <td>
                  <a href={clusterPath(c.name, "/hosts")}>{c.name}</a>
                </td>
                <td>
                  <Status value={c.status} />
                </td>
                <td>{c.hosts}</td>
                <td>{c.running}</td>
                <td>{c.pending}</td>
              </tr>
            ))}
          </Table>
        )}
      </section>
      {cl && d.fleet && (
        <section aria-labelledby="fleet-h">
          <h2 id="fleet-h">Cluster {cl}</h2>
          <div class="tiles">
            <a class="tile" href={clusterPath(cl, "/hosts?state=connected")}>
              <strong data-count="connected">{d.fleet.hosts.connected}</strong> hosts connected
            </a>
            <a class={`tile ${d.fleet.hosts.disconnected ? "bad" : ""}`} href={clusterPath(cl, "/hosts?state=disconnected")}>
              <strong data-count="disconnected">{d.fleet.hosts.disconnected}</strong> hosts disconnected
            </a>
            <a class={`tile ${d.fleet.hosts.impaired ? "warn" : ""}`} href={clusterPath(cl, "/hosts?state=IMPAIRED")}>
              <strong>{d.fleet.hosts.impaired}</strong> hosts impaired
            </a>
            <a class="tile" href={clusterPath(cl, "/hosts?state=DRAINING")}>
              <strong>{d.fleet.hosts.draining}</strong> hosts draining
            </a>
          </div>
          <h3>Tasks by status</h3>
          <ul class="inline">
            {["PROVISIONING", "PENDING", "RUNNING", "STOPPING", "STOPPED"].map((s) => (
              <li>
                <Status value={s} />: {d.fleet!.tasksByStatus[s] ?? 0}
              </li>
            ))}
          </ul>
          <p class="hint">Stopped: those that stopped in the last hour.</p>
          <h3>Deployments in progress</h3>
          {d.rollouts.length === 0 ? (
            <p>None.</p>
          ) : (
            <Table wrap={false} headers={["Service", "Task definition", "Running / desired", "Rollout"]}>
              {d.rollouts.map((r) => (
                <tr>
                  <td>
                    <a href={clusterPath(cl, `/services/${encodeURIComponent(r.service)}`)}>{r.service}</a>
                  </td>
                  <td>{r.taskDefinition.split("/").pop()}</td>
                  <td>
                    {r.running} / {r.desired}
                  </td>
                  <td>
                    <Status value={r.rolloutState} />
                  </td>
                </tr>
              ))}
            </Table>
          )}
          <h3>Recent service events</h3>
          {d.events.length === 0 ? (
            <p>None.</p>
          ) : (
            <ol class="events">
              {d.events.map((e) => (
                <li>
                  <time datetime={e.at}>{e.at.replace("T", " ").slice(0, 19)}Z</time>{" "}
                  <a href={clusterPath(cl, `/services/${encodeURIComponent(e.service)}`)}>{e.service}</a>: {e.message}
                </li>
              ))}
            </ol>
          )}
        </section>
      )}
      </div>
    </Page>
  );
}
