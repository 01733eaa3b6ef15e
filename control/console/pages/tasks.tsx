import type { taskView } from "../../views/ecs.ts";
import { clusterPath, Page, Status, type Viewer } from "../layout.tsx";
import { Table } from "../table.tsx";

type TaskView = ReturnType<typeof taskView>;

export function TasksPage(props: { viewer: Viewer; cluster: string; tasks: TaskView[]; filter: { desiredStatus: string; family?: string } }) {
  const { viewer: v, cluster, filter } = props;
  return (
    <Page title={`Tasks in ${cluster}`} viewer={v} live="tasks">
      <form method="get" class="filters" action={clusterPath(cluster, "/tasks")}>
        <label>
          Desired status
          <select name="desiredStatus">
            {["RUNNING", "STOPPED"].map((s) => (
              <option value={s} selected={filter.desiredStatus === s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          Family
          <input name="family" value={filter.family ?? ""} />
        </label>
        <button type="submit">Filter</button>
      </form>
      <div data-live-region="tasks" id="tasks" class="table-wrap">
        <p>{props.tasks.length} tasks{props.tasks.length > 200 ? " (first 200 shown)" : ""}</p>
        <Table wrap={false} headers={["Task", "Definition", "Last status", "Health", "Host", "Started by"]}>
          {props.tasks.slice(0, 200).map((t) => (
            <tr>
              <td data-label="Task">
                <a href={clusterPath(cluster, `/tasks/${t.taskId}`)}>{t.taskId}</a>
              </td>
              <td data-label="Definition">{t.taskDefinitionArn.split("/").pop()}</td>
              <td data-label="Last status">
                <Status value={t.lastStatus} />
              </td>
              <td data-label="Health">
                <Status value={t.healthStatus} />
              </td>
              <td data-label="Host">
                <a href={clusterPath(cluster, `/hosts/${t.containerInstanceId}`)}>{t.containerInstanceId}</a>
              </td>
              <td data-label="Started by">{t.startedBy ?? "—"}</td>
            </tr>
          ))}
        </Table>
      </div>
    </Page>
  );
}

interface ContainerShown {
  name: string;
  image: string;
  lastStatus: string;
  exitCode?: number;
  reason?: string;
  healthStatus?: string;
  networkBindings?: { containerPort?: number; hostPort?: number; protocol?: string; bindIP?: string }[];
}

export function TaskPage(props: { viewer: Viewer; cluster: string; task: TaskView }) {
  const { viewer: v, cluster, task: t } = props;
  const containers = t.containers as unknown as ContainerShown[];
  return (
    <Page title={`Task ${t.taskId}`} viewer={v} live="tasks">
      <div data-live-region="task" id="task">
        <dl class="facts">
          <dt>Definition</dt>
          <dd>{t.taskDefinitionArn}</dd>
          <dt>Last status</dt>
          <dd id="task-last-status">
            <Status value={t.lastStatus} />
          </dd>
          <dt>Desired status</dt>
          <dd>{t.desiredStatus}</dd>
          <dt>Health</dt>
          <dd>
            <Status value={t.healthStatus} />
          </dd>
          <dt>Host</dt>
          <dd>
            <a href={clusterPath(cluster, `/hosts/${t.containerInstanceId}`)}>{t.containerInstanceId}</a>
          </dd>
          {t.stoppedReason && (
            <>
              <dt>Stopped reason</dt>
              <dd>
                {t.stoppedReason} ({t.stopCode})
              </dd>
            </>
          )}
        </dl>
        <h2>Containers</h2>
        <Table headers={["Name", "Image", "Status", "Exit code", "Health", "Ports"]}>
          {containers.map((c) => (
            <tr>
              <td data-label="Name">{c.name}</td>
              <td data-label="Image">{c.image}</td>
              <td data-label="Status">
                <Status value={c.lastStatus} />
                {c.reason ? <small> {c.reason}</small> : null}
              </td>
              <td data-label="Exit code">{c.exitCode ?? "—"}</td>
              <td data-label="Health">{c.healthStatus ? <Status value={c.healthStatus} /> : "—"}</td>
              <td data-label="Ports">
                {(c.networkBindings ?? []).map((b) => `${b.bindIP ?? "0.0.0.0"}:${b.hostPort} → ${b.containerPort}/${b.protocol ?? "tcp"}`).join(", ") || "—"}
              </td>
            </tr>
          ))}
        </Table>
        <h2>Events</h2>
        <ol class="events">
          {t.events.map((e) => (
            <li>
              <time datetime={e.at}>{e.at?.replace("T", " ").slice(0, 19)}Z</time> {e.message}
            </li>
          ))}
        </ol>
      </div>
      <section aria-labelledby="logs-h">
        <h2 id="logs-h">Logs</h2>
        <form class="filters" data-log-tail="" action={clusterPath(cluster, `/tasks/${t.taskId}/logs`)} method="get">
          <label>
            Container
            <select name="container">
              {containers.map((c) => (
                <option value={c.name}>{c.name}</option>
              ))}
            </select>
          </label>
          <label>
            Lines
            <input type="number" name="tail" value="200" min="1" max="10000" />
          </label>
          <label class="check">
            <input type="checkbox" name="follow" value="true" /> Follow
          </label>
          <button type="submit">Show log tail</button>
          <button type="button" data-log-pause="" disabled>
            Pause
          </button>
          <button type="submit" name="download" value="1" formtarget="_blank" data-log-download="">
            Download
          </button>
        </form>
        <pre class="log" id="log-output" aria-live="off" tabindex={0}></pre>
      </section>
    </Page>
  );
}
