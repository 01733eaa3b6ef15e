import type { TaskDefinitionRow } from "../../db/rows.ts";
import { base, Csrf, FieldErrors, Page, Status, type Viewer } from "../layout.tsx";
import { prettyJson, type lineDiff } from "../revision-diff.ts";
import { Table } from "../table.tsx";

const td = (rest = "") => `${base}/task-definitions${rest}`;

export function FamiliesPage(props: { viewer: Viewer; rows: TaskDefinitionRow[] }) {
  const families = new Map<string, TaskDefinitionRow[]>();
  for (const r of props.rows) families.set(r.family, [...(families.get(r.family) ?? []), r]);
  return (
    <Page title="Task definitions" viewer={props.viewer}>
      {props.viewer.canWrite && (
        <p>
          <a class="button" href={td("/new")}>
            Register a task definition
          </a>
        </p>
      )}
      <Table headers={["Family", "Active revisions", "Latest"]}>
        {[...families].map(([family, revs]) => (
          <tr>
            <td data-label="Family">
              <a href={td(`/${encodeURIComponent(family)}`)}>{family}</a>
            </td>
            <td data-label="Active revisions">{revs.length}</td>
            <td data-label="Latest">{revs[revs.length - 1]!.revision}</td>
          </tr>
        ))}
      </Table>
    </Page>
  );
}

export function FamilyPage(props: { viewer: Viewer; family: string; rows: TaskDefinitionRow[] }) {
  const revs = props.rows.map((r) => r.revision);
  return (
    <Page title={`Family ${props.family}`} viewer={props.viewer}>
      <ul>
        {props.rows.map((r) => (
          <li>
            <a href={td(`/${encodeURIComponent(r.family)}/${r.revision}`)}>
              {r.family}:{r.revision}
            </a>{" "}
            <Status value={r.status} />
          </li>
        ))}
      </ul>
      {revs.length > 1 && (
        <form method="get" action={td(`/${encodeURIComponent(props.family)}/diff`)} class="card" id="compare">
          <label>
            Compare revision
            <select name="from">
              {revs.map((n, i) => (
                <option value={String(n)} selected={i === 1}>
                  {n}
                </option>
              ))}
            </select>
          </label>
          <label>
            with revision
            <select name="to">
              {revs.map((n, i) => (
                <option value={String(n)} selected={i === 0}>
                  {n}
                </option>
              ))}
            </select>
          </label>
          <button type="submit">Show differences</button>
        </form>
      )}
    </Page>
  );
}

type DiffRows = ReturnType<typeof lineDiff>;

/** Two revisions' JSON, line by line: removed lines marked −, added +, never by colour alone. */
export function DiffPage(props: { viewer: Viewer; family: string; from: number; to: number; diff: DiffRows }) {
  const { family, from, to, diff } = props;
  const link = (n: number) => <a href={td(`/${encodeURIComponent(family)}/${n}`)}>{`${family}:${n}`}</a>;
  return (
    <Page title={`${family}: revision ${from} → ${to}`} viewer={props.viewer}>
      <p id="diff-summary">
        {link(from)} → {link(to)}: {diff.added === 0 && diff.removed === 0 ? "no differences" : `${diff.removed} line${diff.removed === 1 ? "" : "s"} removed, ${diff.added} added`}
      </p>
      <div class="table-wrap">
        <table class="diff" aria-label={`Differences between revision ${from} and ${to}`}>
          <thead>
            <tr>
              <th scope="col">{from}</th>
              <th scope="col">{to}</th>
              <th scope="col">
                <span class="visually-hidden">change</span>
              </th>
              <th scope="col">line</th>
            </tr>
          </thead>
          <tbody>
            {diff.lines.map((l) =>
              l.kind === "skip" ? (
                <tr class="diff-skip">
                  <td colspan={4}>… {l.count} unchanged lines …</td>
                </tr>
              ) : (
                <tr class={`diff-${l.kind}`} data-diff={l.kind}>
                  <td class="ln">{l.from ?? ""}</td>
                  <td class="ln">{l.to ?? ""}</td>
                  <td class="mark" aria-label={l.kind === "same" ? "unchanged" : l.kind}>
                    {l.kind === "added" ? "+" : l.kind === "removed" ? "−" : " "}
                  </td>
                  <td>
                    <code>{l.text}</code>
                  </td>
                </tr>
              ),
            )}
          </tbody>
        </table>
      </div>
    </Page>
  );
}

export function RevisionPage(props: {
  viewer: Viewer;
  view: Record<string, unknown> & { family: string; revision: number; status: string };
  error?: { message: string; fields: { path: string; message: string }[] };
}) {
  const { view, viewer: v } = props;
  const page = td(`/${encodeURIComponent(view.family)}/${view.revision}`);
  return (
    <Page title={`${view.family}:${view.revision}`} viewer={v}>
      <p>
        <Status value={view.status} />
      </p>
      {props.error && <FieldErrors message={props.error.message} fields={props.error.fields} />}
      {v.canWrite && view.status === "ACTIVE" && v.clusters.length > 0 && (
        <form method="post" action={`${page}/run`} class="card" id="run-task">
          <Csrf viewer={v} />
          <label>
            Cluster
            <select name="cluster">
              {v.clusters.map((name) => (
                <option value={name} selected={name === v.cluster}>
                  {name}
                </option>
              ))}
            </select>
          </label>
          <label>
            Tasks
            <input type="number" name="count" min="1" max="10" value="1" required />
          </label>
          <button type="submit">Run task</button>
        </form>
      )}
      {v.canWrite && view.status === "ACTIVE" && (
        <form method="post" action={`${page}/deregister`}>
          <Csrf viewer={v} />
          <button type="submit">Deregister…</button>
        </form>
      )}
      <pre class="json" tabindex={0}>
        {prettyJson(view)}
      </pre>
    </Page>
  );
}


export function RegisterPage(props: { viewer: Viewer; text?: string; error?: { message: string; fields: { path: string; message: string }[] } }) {
  return (
    <Page title="Register a task definition" viewer={props.viewer}>
      <p>Paste a task definition in ECS's JSON format (what <code>aws ecs register-task-definition --cli-input-json</code> takes).</p>
      {props.error && <FieldErrors message={props.error.message} fields={props.error.fields} />}
      <form method="post" action={td()} class="card">
        <Csrf viewer={props.viewer} />
        <label>
          Task definition JSON
          <textarea name="json" rows={20} spellcheck={false} required>
            {props.text ?? ""}
          </textarea>
        </label>
        <button type="submit">Register</button>
      </form>
    </Page>
  );
}
